//! One compile, not two, for a cell that ends in an expression: evcxr first compiles
//! `(expr).evcxr_display();` and, when the type has no such method, compiles the cell again to
//! print `format!(fmt, &(expr))`. A session trait gives every `Debug` type that method, printing
//! the same text, so the first compile already succeeds.
//!
//! The trait's method takes `&mut self`, so method lookup reaches it only after every by-value and
//! `&self` method: a type's own `evcxr_display` (inherent, or from a trait such as `evcxr_image`'s)
//! still wins. A `&mut` borrow needs a mutable place, so a final expression that is a place (`x`,
//! `s.a`, `v[0]`, `*r`) is borrowed first (`&(x)`: same text, and the type's `&self` methods still
//! come first). A type without `Debug` goes through evcxr's fallback as before. The one
//! difference: a smart pointer that is itself `Debug` (`Box<T>`, `Rc<T>`) shows its `Debug` text
//! even when the `T` inside has an `evcxr_display`; deref it (`*b`) for the rich output.

use ra_ap_syntax::{AstNode, Edition, SourceFile, ast};

/// The trait's name in the session (evcxr replaces an item defined again under the same name).
pub const TRAIT: &str = "ReprisePlainText";

/// The trait without an implementation: evcxr's own fallback prints every value.
const OFF: &str = "#[allow(dead_code)]\ntrait ReprisePlainText {}\n";

/// The trait for `fmt`, evcxr's output format (`:fmt`), spliced into `format!` as evcxr splices it.
fn on(fmt: &str) -> String {
    format!(
        r#"#[allow(dead_code)]
trait ReprisePlainText {{ fn evcxr_display(&mut self); }}
impl<T: ::std::fmt::Debug> ReprisePlainText for T {{
    fn evcxr_display(&mut self) {{
        use ::std::io::Write;
        let text = format!("{fmt}", &*self);
        let mut out = ::std::io::stdout().lock();
        let _ = out.write_all(format!("EVCXR_BEGIN_CONTENT text/plain\n{{text}}\nEVCXR_END_CONTENT\n").as_bytes());
        let _ = out.flush();
    }}
}}
"#
    )
}


/// What the session holds under [`TRAIT`].
#[derive(Debug, Clone, PartialEq)]
pub enum Defined {
    Absent,
    Off,
    On(String),
}

/// evcxr's display settings as this session's cells set them, and the trait defined for them.
#[derive(Debug)]
pub struct PlainDisplay {
    /// `:fmt`'s format; `None` once a cell that set it failed (evcxr may or may not have kept it).
    fmt: Option<String>,
    /// `:types` (then evcxr prints the type too, which only its fallback does).
    types: bool,
    defined: Defined,
    /// A format whose trait failed to compile: not tried again.
    refused: Option<String>,
}

impl Default for PlainDisplay {
    fn default() -> Self {
        PlainDisplay { fmt: Some("{:?}".into()), types: false, defined: Defined::Absent, refused: None }
    }
}

/// A cell's leading lines as evcxr reads them: its commands (`:name args`) and whether it has any
/// command or shell line (`!…`), and the byte where the Rust starts (blank lines and `//` comments
/// in between are skipped; after the first line of Rust nothing is a command).
struct Head<'a> {
    commands: Vec<(&'a str, Option<&'a str>)>,
    shell: bool,
    rust_start: usize,
}

fn head(code: &str) -> Head<'_> {
    let mut h = Head { commands: Vec::new(), shell: false, rust_start: 0 };
    for line in code.split_inclusive('\n') {
        let t = line.trim_end_matches(['\n', '\r']);
        if t.starts_with('!') {
            h.shell = true;
        } else if let Some(cmd) = t.trim_start_matches(' ').strip_prefix(':') {
            h.commands.push(match cmd.split_once(' ') {
                Some((name, args)) => (name, Some(args.trim_start_matches(' ')).filter(|a| !a.is_empty())),
                None => (cmd, None),
            });
        } else if !(t.starts_with("//") || t.trim().is_empty()) {
            break;
        }
        h.rust_start += line.len();
    }
    h
}

/// The byte where a cell's Rust starts, after its leading commands, shell lines and comments.
pub fn rust_start(code: &str) -> usize {
    head(code).rust_start
}

/// The `:fmt` and `:types` commands of a cell, with their arguments.
fn display_commands(code: &str) -> Vec<(&str, Option<&str>)> {
    head(code).commands.into_iter().filter(|(name, _)| *name == "fmt" || *name == "types").collect()
}

impl PlainDisplay {
    /// Items to define before running `code`, given whether the session still has [`TRAIT`]
    /// (`:clear` forgets every item), and what they define; `None` when it holds the right ones.
    pub fn before(&self, code: &str, has_trait: bool) -> Option<(String, Defined)> {
        let defined = if has_trait { self.defined.clone() } else { Defined::Absent };
        if !display_commands(code).is_empty() {
            // This cell changes the format: its own final expression goes through evcxr's fallback.
            return matches!(defined, Defined::On(_)).then(|| (OFF.to_string(), Defined::Off));
        }
        match &self.fmt {
            Some(fmt) if !self.types && defined != Defined::On(fmt.clone()) && self.refused.as_ref() != Some(fmt) => {
                Some((on(fmt), Defined::On(fmt.clone())))
            }
            _ => None,
        }
    }

    /// Records that the items of [`before`](Self::before) were defined (`ok`) or refused.
    pub fn defined(&mut self, what: Defined, ok: bool) {
        match (what, ok) {
            (what, true) => self.defined = what,
            (Defined::On(fmt), false) => self.refused = Some(fmt),
            _ => {}
        }
    }

    /// With the trait in place, `code` with its final place expression borrowed (see the
    /// module's doc); `None` when evcxr is given `code` as it is.
    pub fn borrowed(&self, code: &str) -> Option<Borrowed> {
        if !matches!(self.defined, Defined::On(_)) {
            return None;
        }
        let (borrowed, expr) = borrow_final_place(code)?;
        let h = head(code);
        Some(Borrowed { code: borrowed, expr, commands: h.shell || !h.commands.is_empty() })
    }

    /// Follows the cell's `:fmt`/`:types` commands; evcxr keeps them only when the cell succeeds.
    pub fn after(&mut self, code: &str, ok: bool) {
        for (name, args) in display_commands(code) {
            match (name, ok) {
                ("fmt", true) => self.fmt = self.fmt.as_ref().map(|_| args.unwrap_or("{:?}").to_string()),
                ("types", true) => self.types = !self.types,
                _ => self.fmt = None,
            }
        }
    }
}

/// A cell's code with its final place expression borrowed.
pub struct Borrowed {
    pub code: String,
    /// The borrowed expression as written into `code`.
    expr: String,
    /// The cell starts with command lines (which may toggle a setting: never run twice).
    commands: bool,
}

impl Borrowed {
    /// Whether to compile the cell as written after the borrowed one failed with errors
    /// `rendered`: when an error shows the borrow (a user should see their own code, and a type
    /// whose `evcxr_display` takes `self` by value fails only when borrowed) and the cell has no
    /// commands.
    pub fn retry_as_written<S: AsRef<str>>(&self, rendered: impl IntoIterator<Item = S>) -> bool {
        !self.commands && rendered.into_iter().any(|r| r.as_ref().contains(&self.expr))
    }
}

/// `code` with its final expression `e` written `&(e)` when `e` is a place, and that `&(e)`;
/// `None` when it has no final expression, that is not a place, or the code does not parse.
fn borrow_final_place(code: &str) -> Option<(String, String)> {
    const WRAP: &str = "fn f(){";
    let start = head(code).rust_start;
    let parsed = SourceFile::parse(&format!("{WRAP}{}\n}}", &code[start..]), Edition::Edition2024);
    if !parsed.errors().is_empty() {
        return None;
    }
    let body = parsed.tree().syntax().children().find_map(ast::Fn::cast)?.body()?;
    let tail = body.stmt_list()?.tail_expr()?;
    if !is_place(&tail) {
        return None;
    }
    let range = tail.syntax().text_range();
    let (from, to) = (start + usize::from(range.start()) - WRAP.len(), start + usize::from(range.end()) - WRAP.len());
    let expr = format!("&({})", &code[from..to]);
    Some((format!("{}{expr}{}", &code[..from], &code[to..]), expr))
}

fn is_place(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::PathExpr(_) | ast::Expr::FieldExpr(_) | ast::Expr::IndexExpr(_) => true,
        ast::Expr::PrefixExpr(p) => p.op_kind() == Some(ast::UnaryOp::Deref),
        ast::Expr::ParenExpr(p) => p.expr().is_some_and(|e| is_place(&e)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trait_follows_fmt_and_types_and_survives_clear() {
        let mut d = PlainDisplay::default();
        let (src, what) = d.before("1 + 1", false).expect("a fresh session gets the trait");
        assert!(src.contains(r#"format!("{:?}", &*self)"#), "{src}");
        d.defined(what, true);
        assert_eq!(d.before("1 + 1", true), None, "defined once");
        assert!(d.before("1 + 1", false).is_some(), "after :clear the trait is defined again");

        // A cell that sets the format turns the trait off for itself; the next cell gets the new one.
        let cell = ":fmt {:#?}\nvec![1]";
        let (src, what) = d.before(cell, true).unwrap();
        assert_eq!((src.as_str(), &what), (OFF, &Defined::Off));
        d.defined(what, true);
        d.after(cell, true);
        let (src, what) = d.before("1", true).unwrap();
        assert!(src.contains(r#"format!("{:#?}", &*self)"#), "{src}");
        d.defined(what, true);

        // `:types` shows types, which only evcxr's fallback does: off until toggled back.
        let (_, what) = d.before(":types", true).unwrap();
        d.defined(what, true);
        d.after(":types", true);
        assert_eq!(d.before("1", true), None);
        d.after("  :types\n", true);
        assert!(d.before("1", true).unwrap().0.contains("{:#?}"));
        // Commands after Rust code are not commands; shell lines and comments come between.
        assert!(display_commands("let a = 1;\n:fmt {}").is_empty());
        assert_eq!(display_commands("!ls\n// c\n:dep x = \"1\"\n  :fmt  {:#?}\n:types\n1"), [("fmt", Some("{:#?}")), ("types", None)]);
    }

    #[test]
    fn a_final_place_is_borrowed_and_nothing_else_changes() {
        let b = |c: &str| borrow_final_place(c).map(|(code, _)| code);
        assert_eq!(b("x").as_deref(), Some("&(x)"));
        assert_eq!(b("let s = String::new();\ns\n").as_deref(), Some("let s = String::new();\n&(s)\n"));
        assert_eq!(b(":dep itoa = \"1\"\n// note\n\nlet a = 1; a.b[0]").as_deref(), Some(":dep itoa = \"1\"\n// note\n\nlet a = 1; &(a.b[0])"));
        assert_eq!(b("*r").as_deref(), Some("&(*r)"));
        assert_eq!(b("(x)").as_deref(), Some("&((x))"));
        for unchanged in ["1 + 1", "x;", "f(x)", "x.len()", "let x = 1;", "fn f() {}", "-x", "&x", "if c { x } else { y }", "x +", ""] {
            assert_eq!(b(unchanged), None, "{unchanged:?}");
        }
        // Only with the trait in place; compiled as written after errors that show the borrow,
        // unless the cell has commands.
        let mut d = PlainDisplay::default();
        assert!(d.borrowed("x").is_none());
        let (_, what) = d.before("x", false).unwrap();
        d.defined(what, true);
        let x = d.borrowed("let a = 1;\nx").unwrap();
        assert_eq!(x.code, "let a = 1;\n&(x)");
        assert!(x.retry_as_written(["error: ... | &(x)"]));
        assert!(!x.retry_as_written(["error: ... | let a = 1;"]));
        assert!(!d.borrowed(":opt\nx").unwrap().retry_as_written(["&(x)"]));
        assert!(!d.borrowed("!ls\nx").unwrap().retry_as_written(["&(x)"]));
        assert!(d.borrowed("// a comment\n\nx").unwrap().retry_as_written(["&(x)"]), "no commands");
    }

    #[test]
    fn a_failed_cell_that_set_the_format_turns_the_trait_off() {
        let mut d = PlainDisplay::default();
        let (_, what) = d.before("1", false).unwrap();
        d.defined(what, true);
        let cell = ":fmt {:#?}\nnot rust";
        let (_, what) = d.before(cell, true).unwrap();
        d.defined(what, true);
        d.after(cell, false);
        // Whether evcxr kept the format is unknown, so its fallback prints from now on.
        assert_eq!(d.before("1", true), None);
        assert_eq!(d.fmt, None);
    }

    #[test]
    fn a_format_that_does_not_compile_is_not_tried_again() {
        let mut d = PlainDisplay::default();
        d.after(":fmt {:q}", true);
        let (_, what) = d.before("1", false).unwrap();
        d.defined(what, false);
        assert_eq!(d.before("1", false), None);
    }
}
