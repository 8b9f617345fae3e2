//! How the binary fails: `error:` / `caused by:` / `hint:` lines on stderr, and an exit status that
//! tells a failed check (1) from a user error (2) and an internal error (3).

use reprise_runner::RunnerError;
use reprise_store::StoreError;
use reprise_store::remote::RemoteError;
use std::fmt;

pub const EXIT_CHECK_FAILED: i32 = 1;
pub const EXIT_USER: i32 = 2;
pub const EXIT_INTERNAL: i32 = 3;

/// An error the user can fix, with an optional next step.
#[derive(Debug)]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for UserError {}

pub fn user(message: impl Into<String>, hint: Option<&str>) -> anyhow::Error {
    UserError { message: message.into(), hint: hint.map(str::to_owned) }.into()
}

/// A check that ran and found differences (rerun, reproduce, verify); the report is already printed.
#[derive(Debug)]
pub struct CheckFailed(pub String);

impl fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for CheckFailed {}

/// Prints the error and returns the exit status.
pub fn report(err: &anyhow::Error) -> i32 {
    let (code, hint) = classify(err);
    let mut said = err.to_string();
    eprintln!("error: {said}");
    for cause in err.chain().skip(1) {
        // Errors that wrap another often print it too: each cause is said once.
        let text = cause.to_string();
        if !said.contains(&text) {
            eprintln!("caused by: {text}");
            said.push_str(&text);
        }
    }
    if let Some(h) = hint {
        eprintln!("hint: {h}");
    }
    code
}

fn classify(err: &anyhow::Error) -> (i32, Option<String>) {
    for e in err.chain() {
        if let Some(u) = e.downcast_ref::<UserError>() {
            return (EXIT_USER, u.hint.clone());
        }
        if e.downcast_ref::<CheckFailed>().is_some() {
            return (EXIT_CHECK_FAILED, None);
        }
        if let Some(r) = e.downcast_ref::<RunnerError>() {
            return (if r.is_user_error() { EXIT_USER } else { EXIT_INTERNAL }, r.hint());
        }
        if let Some(s) = e.downcast_ref::<StoreError>() {
            return (if s.is_user_error() { EXIT_USER } else { EXIT_INTERNAL }, None);
        }
        if let Some(r) = e.downcast_ref::<RemoteError>() {
            return match r {
                RemoteError::Store(s) => (if s.is_user_error() { EXIT_USER } else { EXIT_INTERNAL }, None),
                RemoteError::Transfer { .. } => (
                    EXIT_INTERNAL,
                    Some("the remote did not answer as expected: check its URL, the server and the network, then run the command again (transfers resume)".into()),
                ),
                RemoteError::BadUrl { .. } | RemoteError::BadName(_) | RemoteError::Unknown { .. } | RemoteError::Exists { .. } => {
                    (EXIT_USER, Some("`reprise remote ls` lists the remotes and their URLs; `reprise remote add --help` shows the forms a URL takes".into()))
                }
                _ => (EXIT_USER, None),
            };
        }
    }
    (EXIT_INTERNAL, Some("this looks like a bug in reprise; please report it with the command you ran".into()))
}
