//! Store errors: each names the object or path involved and, where there is one, the way out.

use crate::Digest;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{op} {path}: {source}")]
    Io { op: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{0} is not a Reprise store (no FORMAT file): point --store (or REPRISE_STORE) at an existing store; the first command that writes to a new one (`reprise run`, `sweep`, `bundle import`, `store put`) creates it")]
    NotAStore(PathBuf),
    #[error("store at {path} has layout `{found}`, this build reads `{}`", crate::FORMAT)]
    WrongFormat { path: PathBuf, found: String },
    #[error("object {0} is not in the store")]
    NotFound(Digest),
    #[error("no object in the store starts with `{0}`")]
    PrefixNotFound(String),
    #[error("`{prefix}` is ambiguous: it names {} objects ({}); give more digits", candidates.len(), candidates.iter().map(|d| d.short(16)).collect::<Vec<_>>().join(", "))]
    Ambiguous { prefix: String, candidates: Vec<Digest> },
    #[error("`{0}` is not a digest prefix: give at least 6 hex digits (0-9, a-f)")]
    BadPrefix(String),
    #[error("object {expected} is corrupt: its bytes hash to {actual}; run `reprise verify`, then re-import it from a bundle or rerun what made it")]
    Corrupt { expected: Digest, actual: Digest },
    #[error("{from} sent bytes hashing to {actual} for object {expected}; they were not kept")]
    Untrusted { from: String, expected: Digest, actual: Digest },
    #[error("ref `{0}` is not a valid name (use segments of letters, digits, '.', '_' and '-' separated by '/')")]
    BadRefName(String),
    #[error("ref `{name}` is locked by another writer ({lock}); if no other reprise process is running, delete that file")]
    RefLocked { name: String, lock: PathBuf },
    #[error("ref `{name}` changed under us: expected {expected}, found {found}")]
    RefConflict { name: String, expected: String, found: String },
    #[error("gc deleted nothing: object {object} cannot be read for the objects it refers to ({why}); a newer Reprise may know it — upgrade, or remove what refers to it on purpose")]
    GcRefused { object: Digest, why: String },
    #[error("ref `{name}` holds `{content}`, not a digest")]
    BadRef { name: String, content: String },
}

impl StoreError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { op, path, source }
    }

    /// True for errors caused by what the user asked for (a missing or ambiguous name), as
    /// opposed to a broken store or machine.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            StoreError::NotAStore(_)
                | StoreError::NotFound(_)
                | StoreError::PrefixNotFound(_)
                | StoreError::Ambiguous { .. }
                | StoreError::BadPrefix(_)
                | StoreError::BadRefName(_)
                | StoreError::GcRefused { .. }
        )
    }
}
