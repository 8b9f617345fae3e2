//! Variables without written types where rust-analyzer cannot type them (no `rust-src`, so it
//! knows nothing of `std`): the compiler is asked instead, in one compile that fails on purpose.
//!
//! The cell's statements go into a function that is compiled and never run, with a probe
//! `let _: &[(); K] = &v;` for each untyped `let` it keeps (at the end of the cell, and right after
//! the `let` for a variable the cell moves away). rustc's mismatch note names each variable's type;
//! with `-Ztrim-diagnostic-paths=false` (given to the cell crate alone through a workspace wrapper,
//! so no dependency is rebuilt) it names it by a path a later cell can write
//! (`std::collections::BTreeMap<std::string::String, f64>`, not `BTreeMap<String, f64>`). The cell
//! then runs with those types written in.

use ra_ap_syntax::ast::HasName;
use ra_ap_syntax::{AstNode, Edition, SourceFile, SyntaxKind, ast};
use std::path::Path;

/// The environment variable that makes the `reprise` binary act as the probe's rustc wrapper.
pub const WRAPPER_ENV: &str = "REPRISE_RUSTC_TYPE_PROBE";
/// The function the probe wraps the cell in (a path prefix rustc may put on the cell's own types).
const PROBE_FN: &str = "__reprise_type_probe";
/// Marks the lines the probe adds, so that their own errors are told from the cell's.
const MARK: &str = "/*reprise-type-probe*/";

/// A top-level `let` of a cell that binds one name and writes no complete type.
#[derive(Debug, Clone, PartialEq)]
pub struct Untyped {
    pub name: String,
    /// Byte range in the cell replaced by the annotation: empty after the name, or a type with `_`.
    at: (usize, usize),
    /// Byte just after the statement.
    end: usize,
}

/// The untyped `let`s whose variables the cell keeps (the last `let` of each name); none when the
/// Rust part does not parse (evcxr reports that).
pub fn untyped_lets(code: &str) -> Vec<Untyped> {
    const WRAP: &str = "fn f(){";
    let start = super::plain_display::rust_start(code);
    let parsed = SourceFile::parse(&format!("{WRAP}{}\n}}", &code[start..]), Edition::Edition2024);
    if !parsed.errors().is_empty() {
        return Vec::new();
    }
    let Some(body) = parsed.tree().syntax().children().find_map(ast::Fn::cast).and_then(|f| f.body()).and_then(|b| b.stmt_list()) else {
        return Vec::new();
    };
    let at = |offset: ra_ap_syntax::TextSize| start + usize::from(offset) - WRAP.len();
    let mut found: Vec<Untyped> = Vec::new();
    for stmt in body.statements() {
        let ast::Stmt::LetStmt(l) = stmt else { continue };
        let Some(ast::Pat::IdentPat(p)) = l.pat() else { continue };
        let (Some(name), None, None) = (p.name(), p.ref_token(), p.pat()) else { continue };
        let name = name.text().to_string();
        found.retain(|u| u.name != name);
        let range = match l.ty() {
            None => {
                let e = at(p.syntax().text_range().end());
                (e, e)
            }
            Some(t) if t.syntax().descendants().any(|n| n.kind() == SyntaxKind::INFER_TYPE) => {
                let r = t.syntax().text_range();
                (at(r.start()), at(r.end()))
            }
            Some(_) => continue,
        };
        found.push(Untyped { name, at: range, end: at(l.syntax().text_range().end()) });
    }
    found
}

/// The probe cell: the cell's `:dep` lines, then its Rust inside a function that takes the
/// session's variables (`vars`: name, type) and ends with a probe for each of `lets`.
pub fn probe_cell(code: &str, lets: &[Untyped], vars: &[(String, String)], wrapper: &Path) -> String {
    let start = super::plain_display::rust_start(code);
    let mut out = String::new();
    out.push_str(&format!(":build_env RUSTC_WORKSPACE_WRAPPER={}\n:build_env {WRAPPER_ENV}=1\n", wrapper.display()));
    for line in code[..start].lines() {
        if line.trim_start().starts_with(":dep") {
            out.push_str(line);
            out.push('\n');
        }
    }
    let params: Vec<String> = vars.iter().map(|(n, t)| format!("mut {n}: {t}")).collect();
    out.push_str(&format!(
        "#[allow(unused, unused_mut, unreachable_code, unused_variables, dead_code, non_snake_case)]\nasync fn {PROBE_FN}({}) -> ::std::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error>> {{\n",
        params.join(", ")
    ));
    // Probe 2k + 1 right after each `let` (for a variable the cell moves later), 2k at the end.
    let mut pos = start;
    let mut by_end: Vec<(usize, usize)> = lets.iter().enumerate().map(|(k, u)| (u.end, k)).collect();
    by_end.sort();
    for (end, k) in by_end {
        out.push_str(&code[pos..end]);
        out.push_str(&format!("\nlet _: &[(); {}] = &{}; {MARK}\n", 2 * k + 1, lets[k].name));
        pos = end;
    }
    out.push_str(&code[pos..]);
    out.push_str("\n;");
    for (k, u) in lets.iter().enumerate() {
        out.push_str(&format!("let _: &[(); {}] = &{}; {MARK}\n", 2 * k, u.name));
    }
    out.push_str("#[allow(unreachable_code)] Ok(())\n}\n");
    out
}

/// What the probe's errors (rustc's rendered text of each) say.
#[derive(Debug, Default, PartialEq)]
pub struct Answer {
    /// Each `let`'s type as rustc wrote it, where it did.
    pub types: Vec<Option<String>>,
    /// Errors of the cell's own code (indices into the errors given).
    pub cell_errors: Vec<usize>,
}

/// Reads the types of `n` probed variables from the probe's errors.
pub fn read_answer<S: AsRef<str>>(rendered: &[S], n: usize) -> Answer {
    let mut at_end = vec![None; n];
    let mut after_let = vec![None; n];
    let mut cell_errors = Vec::new();
    for (i, r) in rendered.iter().enumerate() {
        let r = r.as_ref();
        match probe_type(r) {
            Some((k, ty)) if k / 2 < n => {
                let slot = if k % 2 == 0 { &mut at_end } else { &mut after_let };
                slot[k / 2] = Some(ty);
            }
            _ if r.contains(MARK) || r.trim().is_empty() || r.trim_start().starts_with("warning") => {}
            _ => cell_errors.push(i),
        }
    }
    // The end of the cell sees the type complete; right after the `let` it may still have holes.
    let types = at_end.into_iter().zip(after_let).map(|(e, a)| e.or(a.filter(|t| !t.contains('_')))).collect();
    Answer { types, cell_errors }
}

/// `(K, type)` from a mismatch against the probe type `&[(); K]`: the note's `found … `&T``
/// (written in full), else the label's `found `&T``.
fn probe_type(rendered: &str) -> Option<(usize, String)> {
    let k_at = rendered.find("&[(); ")? + "&[(); ".len();
    let k: usize = rendered[k_at..].split(']').next()?.trim().parse().ok()?;
    // Each `found` followed by words (`struct`, `reference`) and a type in backticks; the note,
    // which writes the type in full, comes after the label.
    let found = rendered.match_indices("found ").filter_map(|(i, _)| {
        let rest = &rendered[i + "found ".len()..];
        let open = rest.find('`')?;
        if !rest[..open].chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
            return None;
        }
        let body = &rest[open + 1..];
        Some(body[..body.find('`')?].to_string())
    });
    let found = found.last()?;
    let ty = found.strip_prefix('&')?.trim().to_string();
    Some((k, ty))
}

/// The type to write for variable `name` from what rustc printed, or why none can be written.
pub fn nameable(name: &str, printed: &str) -> Result<String, String> {
    let ty = strip_probe_paths(printed).replace("{integer}", "i32").replace("{float}", "f64");
    let why = if ty.starts_with("{closure@") {
        Some(format!(
            "`{name}` is a closure, whose type no later cell can name: box it as a trait object, e.g. `let {name}: Box<dyn Fn(f64) -> f64> = Box::new(|x| x * 2.0);`, or wrap the code in braces so that `{name}` is not kept"
        ))
    } else if ty.contains("{closure@") {
        Some(format!(
            "`{name}` holds a closure inside (its type is `{ty}`), which no later cell can name: collect it (`.collect::<Vec<_>>()`), box it (`Box<dyn Iterator<Item = f64>>`), or wrap the code in braces so that `{name}` is not kept"
        ))
    } else if ty.contains("impl ") {
        Some(format!("`{name}` has an opaque type (`{ty}`), which no later cell can name: collect it (`.collect::<Vec<_>>()`), box it (`Box<dyn …>`), or wrap the code in braces so that `{name}` is not kept"))
    } else if ty.contains('{') || ty.contains("[type error]") {
        Some(format!("the compiler gives `{name}` the type `{ty}`, which no later cell can name: write the type you want in the `let` (e.g. a function pointer `fn(f64) -> f64`), or wrap the code in braces so that `{name}` is not kept"))
    } else {
        None
    };
    match why {
        Some(w) => Err(w),
        None => Ok(ty),
    }
}

/// Drops the probe function from the paths of types the cell itself defines (`…::__reprise_type_probe::S` is `S`).
fn strip_probe_paths(ty: &str) -> String {
    let mut out = String::with_capacity(ty.len());
    let mut rest = ty;
    let needle = format!("{PROBE_FN}::");
    while let Some(i) = rest.find(&needle) {
        // The path before it: identifiers and `::` back to the start of this path.
        let head = &rest[..i];
        let keep = head.trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
        out.push_str(keep);
        rest = &rest[i + needle.len()..];
        // The async function's body is a coroutine: its items sit under `{closure#0}::`.
        while let Some(r) = rest.strip_prefix("{closure#").and_then(|r| r.split_once("}::")).map(|(_, r)| r) {
            rest = r;
        }
    }
    out.push_str(rest);
    out
}

/// A cell with the types of its variables written in.
pub struct Typed {
    pub code: String,
    /// Each typed variable and its type.
    vars: Vec<(String, String)>,
}

impl Typed {
    pub fn new(code: &str, lets: &[Untyped], types: Vec<String>) -> Typed {
        Typed { code: annotate(code, lets, &types), vars: lets.iter().map(|u| u.name.clone()).zip(types).collect() }
    }

    /// When the compiler's `message` says it cannot find a crate that a written type starts with
    /// (a type from a dependency's dependency, not re-exported), why the cell failed and what to do.
    pub fn missing_crate(&self, message: &str) -> Option<String> {
        if !message.contains("crate") {
            return None;
        }
        self.vars.iter().find_map(|(name, ty)| {
            let krate = ty.split("::").next().filter(|k| ty.len() > k.len())?;
            message.contains(&format!("`{krate}`")).then(|| {
                format!("the compiler gives `{name}` the type `{ty}`, from the crate `{krate}`, which this session has not added: add it (`:dep {krate}`, the version the crate you use depends on) and run the cell again, or write a type for `{name}` in the `let`")
            })
        })
    }
}

/// The cell with each probed variable's type written into its `let`.
fn annotate(code: &str, lets: &[Untyped], types: &[String]) -> String {
    let mut edits: Vec<(usize, usize, String)> = lets
        .iter()
        .zip(types)
        .map(|(u, t)| if u.at.0 == u.at.1 { (u.at.0, u.at.1, format!(": {t}")) } else { (u.at.0, u.at.1, t.clone()) })
        .collect();
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(code.len() + 64);
    let mut pos = 0;
    for (from, to, text) in edits {
        out.push_str(&code[pos..from]);
        out.push_str(&text);
        pos = to;
    }
    out.push_str(&code[pos..]);
    out
}

/// Acts as the probe's rustc wrapper when the environment asks for it (`argv[1]` is rustc): the
/// cell crate's diagnostics then name types by paths a cell can write. Never returns then.
pub fn wrapper_hook() {
    if std::env::var_os(WRAPPER_ENV).is_none() {
        return;
    }
    let mut args = std::env::args_os().skip(1);
    let Some(rustc) = args.next() else { return };
    if !Path::new(&rustc).file_stem().is_some_and(|s| s.to_string_lossy().starts_with("rustc")) {
        return;
    }
    let args: Vec<_> = args.collect();
    let mut cmd = std::process::Command::new(&rustc);
    cmd.args(&args);
    if args.iter().any(|a| a == "--crate-name") {
        // An unstable flag of diagnostics alone, for the cell crate alone: nothing is rebuilt.
        cmd.arg("-Ztrim-diagnostic-paths=false").env("RUSTC_BOOTSTRAP", "1");
    }
    let code = match cmd.status() {
        Ok(s) => s.code().unwrap_or(101),
        Err(e) => {
            eprintln!("reprise: running {}: {e}", Path::new(&rustc).display());
            101
        }
    };
    std::process::exit(code);
}

/// evcxr's error when rust-analyzer could not type a variable.
pub fn is_unknown_type_error(message: &str) -> bool {
    message.starts_with("Couldn't automatically determine type of variable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_untyped_let_of_each_name_is_probed() {
        let code = ":dep itoa = \"1\"\n// c\nlet v = vec![1u8, 2];\nlet mut m = std::collections::BTreeMap::<String, f64>::new();\nlet n: u8 = 3;\nlet (a, b) = (1, 2);\nlet w: Vec<_> = v.iter().collect();\nlet v = 2;\n{ let inner = 1; }\nv";
        let lets = untyped_lets(code);
        let names: Vec<&str> = lets.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["m", "w", "v"]);
        let typed = Typed::new(code, &lets, vec!["M".into(), "W".into(), "i32".into()]).code;
        assert!(typed.contains("let mut m: M = std"), "{typed}");
        assert!(typed.contains("let w: W = v.iter()"), "{typed}");
        assert!(typed.contains("let v = vec![1u8, 2];\n"), "an earlier `let v` is left alone: {typed}");
        assert!(typed.contains("let v: i32 = 2;"), "{typed}");
        assert!(typed.starts_with(":dep itoa = \"1\"\n// c\n"), "{typed}");
        assert!(untyped_lets("let x = ;").is_empty(), "does not parse: evcxr says why");
        assert!(untyped_lets("let x: u8 = 1; fn f() { let y = 2; }").is_empty());
    }

    #[test]
    fn the_probe_cell_keeps_deps_and_takes_the_session_variables() {
        let code = ":dep itoa = \"1\"\n:fmt {:#?}\nlet v = vec![1u8];\ndrop(v);\nx + 1";
        let lets = untyped_lets(code);
        let vars = vec![("x".to_string(), "i64".to_string())];
        let p = probe_cell(code, &lets, &vars, Path::new("/bin/reprise"));
        assert!(p.starts_with(":build_env RUSTC_WORKSPACE_WRAPPER=/bin/reprise\n:build_env REPRISE_RUSTC_TYPE_PROBE=1\n:dep itoa = \"1\"\n#[allow("), "{p}");
        assert!(!p.contains(":fmt"), "{p}");
        assert!(p.contains("async fn __reprise_type_probe(mut x: i64) ->"), "{p}");
        assert!(p.contains("let v = vec![1u8];\nlet _: &[(); 1] = &v; /*reprise-type-probe*/\n\ndrop(v);"), "{p}");
        assert!(p.contains("x + 1\n;let _: &[(); 0] = &v;"), "{p}");
    }

    #[test]
    fn types_are_read_from_the_note_in_full_and_the_cells_own_errors_are_kept() {
        let mismatch = |k: usize, short: &str, full: &str| {
            format!("error[E0308]: mismatched types\n --> src/lib.rs:9:17\n  |\n9 | let _: &[(); {k}] = &v; {MARK}\n  |        ---------   ^^ expected `&[(); {k}]`, found `&{short}`\n  = note: expected reference `&[(); {k}]`\n             found reference `&{full}`\n")
        };
        let label_only = "error[E0308]: mismatched types\n  | let _: &[(); 2] = &n; /*reprise-type-probe*/\n  |  ^^ expected `&[(); 2]`, found `&{integer}`\n";
        let moved = format!("error[E0382]: borrow of moved value: `w`\n  | let _: &[(); 4] = &w; {MARK}\n");
        let own = "error[E0425]: cannot find value `nope` in this scope\n  | nope + 1\n";
        let errors = vec![
            mismatch(0, "BTreeMap<String, f64>", "std::collections::BTreeMap<std::string::String, f64>"),
            label_only.to_string(),
            moved,
            mismatch(5, "Vec<u8>", "std::vec::Vec<u8>"),
            mismatch(3, "Vec<_>", "std::vec::Vec<_>"),
            own.to_string(),
        ];
        let a = read_answer(&errors, 3);
        assert_eq!(a.types, [Some("std::collections::BTreeMap<std::string::String, f64>".to_string()), Some("{integer}".into()), Some("std::vec::Vec<u8>".into())]);
        assert_eq!(a.cell_errors, [5]);
        assert_eq!(read_answer(&[mismatch(3, "Vec<_>", "std::vec::Vec<_>")], 2).types, [None, None], "a type with holes is no answer");
    }

    #[test]
    fn a_type_from_a_crate_the_session_lacks_is_named() {
        let code = "let g = mk();";
        let t = Typed::new(code, &untyped_lets(code), vec!["ndarray::ArrayBase<ndarray::OwnedRepr<f64>, ndarray::Dim<[usize; 1]>>".into()]);
        assert_eq!(t.code, "let g: ndarray::ArrayBase<ndarray::OwnedRepr<f64>, ndarray::Dim<[usize; 1]>> = mk();");
        let why = t.missing_crate("cannot find module or crate `ndarray` in this scope").unwrap();
        assert!(why.contains(":dep ndarray") && why.contains("`g`"), "{why}");
        assert_eq!(t.missing_crate("cannot find value `x` in this scope"), None);
        assert_eq!(t.missing_crate("cannot find module or crate `other` in this scope"), None);
    }

    #[test]
    fn closures_and_opaque_types_get_a_reason_and_literals_their_default() {
        assert_eq!(nameable("n", "{integer}").unwrap(), "i32");
        assert_eq!(nameable("v", "std::vec::Vec<{float}>").unwrap(), "std::vec::Vec<f64>");
        assert_eq!(nameable("s", "ctx::__reprise_type_probe::Point").unwrap(), "Point");
        assert_eq!(nameable("s", "std::vec::Vec<__reprise_type_probe::P<u8>>").unwrap(), "std::vec::Vec<P<u8>>");
        assert_eq!(nameable("p", "ctx::__reprise_type_probe::{closure#0}::P").unwrap(), "P");
        let e = nameable("f", "{closure@src/lib.rs:3:9: 3:12}").unwrap_err();
        assert!(e.contains("closure") && e.contains("Box<dyn Fn"), "{e}");
        let e = nameable("it", "std::iter::Map<std::slice::Iter<'_, u8>, {closure@src/lib.rs:3:9: 3:12}>").unwrap_err();
        assert!(e.contains("closure inside") && e.contains(".collect::<Vec<_>>()"), "{e}");
        assert!(nameable("g", "impl Iterator<Item = u8>").unwrap_err().contains("opaque"));
        assert!(nameable("h", "fn() {foo}").unwrap_err().contains("fn(f64) -> f64"));
    }
}
