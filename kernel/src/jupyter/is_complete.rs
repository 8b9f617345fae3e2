//! `is_complete` for Rust cells: a small lexer that skips strings, chars and comments and checks
//! brackets — incomplete while a delimiter, string or block comment is open, invalid on a stray or
//! mismatched closer, or (brackets balanced) when the code does not parse (`let = 5;`).

#[derive(Debug, PartialEq, Eq)]
pub enum Completeness {
    Complete,
    /// Open; the suggested indent of the next line.
    Incomplete(String),
    Invalid,
}

/// Judges a cell. Magic lines (`:run …`) are complete on their own.
pub fn check(code: &str) -> Completeness {
    let c: Vec<char> = code.chars().collect();
    let mut stack: Vec<char> = Vec::new();
    let mut i = 0;
    let at_line_start = |i: usize| c[..i].iter().rev().take_while(|ch| **ch != '\n').all(|ch| ch.is_whitespace());
    while i < c.len() {
        let ch = c[i];
        match ch {
            ':' if stack.is_empty() && at_line_start(i) && c.get(i + 1).is_some_and(|n| n.is_alphabetic()) => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if c.get(i + 1) == Some(&'/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if c.get(i + 1) == Some(&'*') => {
                let mut depth = 1;
                i += 2;
                while depth > 0 {
                    if i + 1 >= c.len() {
                        return Completeness::Incomplete(String::new());
                    }
                    if c[i] == '/' && c[i + 1] == '*' {
                        depth += 1;
                        i += 2;
                    } else if c[i] == '*' && c[i + 1] == '/' {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            '"' => match skip_string(&c, i + 1) {
                Some(end) => i = end,
                None => return Completeness::Incomplete(String::new()),
            },
            'r' | 'b' | 'c' if is_raw_or_prefixed_string(&c, i) => match skip_prefixed(&c, i) {
                Some(end) => i = end,
                None => return Completeness::Incomplete(String::new()),
            },
            '\'' => i = skip_char_or_lifetime(&c, i),
            '(' | '[' | '{' => stack.push(ch),
            ')' | ']' | '}' => {
                let open = match ch {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return Completeness::Invalid;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if !stack.is_empty() {
        return Completeness::Incomplete("    ".repeat(stack.len()));
    }
    if parses(code) { Completeness::Complete } else { Completeness::Invalid }
}

/// Whether the cell's Rust (magic lines blanked) parses as the body of a function, with the
/// parser evcxr itself links: items, statements and a final expression are all at home there.
/// Builds without the notebook engine (pinned reruns) have no parser and take the brackets' word.
#[cfg(not(feature = "notebook"))]
fn parses(_: &str) -> bool {
    true
}

#[cfg(feature = "notebook")]
fn parses(code: &str) -> bool {
    use ra_ap_syntax::{Edition, SourceFile};
    let rust: String = code.lines().map(|l| if l.trim_start().starts_with(':') { "" } else { l }).collect::<Vec<_>>().join("\n");
    SourceFile::parse(&format!("fn __reprise_cell() {{\n{rust}\n}}"), Edition::Edition2024).errors().is_empty()
}

/// From just after an opening `"`, returns the index of the closing quote.
fn skip_string(c: &[char], mut i: usize) -> Option<usize> {
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            '"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// `r"…"`, `r#"…"#`, `b"…"`, `br#"…"#`, `c"…"`, `cr"…"` (but not an identifier that ends in r/b/c).
fn is_raw_or_prefixed_string(c: &[char], i: usize) -> bool {
    if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') {
        return false;
    }
    let mut j = i + 1;
    if matches!(c[i], 'b' | 'c') && c.get(j) == Some(&'r') {
        j += 1;
    }
    let raw = c[i] == 'r' || (j > i + 1);
    if raw {
        while c.get(j) == Some(&'#') {
            j += 1;
        }
    }
    c.get(j) == Some(&'"')
}

fn skip_prefixed(c: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if matches!(c[i], 'b' | 'c') && c.get(j) == Some(&'r') {
        j += 1;
    }
    let raw = c[i] == 'r' || j > i + 1;
    if !raw {
        return skip_string(c, j + 1);
    }
    let mut hashes = 0;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    j += 1; // the opening quote
    while j < c.len() {
        if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
            return Some(j + hashes);
        }
        j += 1;
    }
    None
}

/// A char literal (`'a'`, `'\n'`, `'\u{1F600}'`) or a lifetime/label (`'a`, `'static`); returns
/// the index of its last character.
fn skip_char_or_lifetime(c: &[char], i: usize) -> usize {
    if c.get(i + 1) == Some(&'\\') {
        let mut j = i + 2;
        while j < c.len() && c[j] != '\'' && c[j] != '\n' {
            j += 1;
        }
        return j;
    }
    if c.get(i + 2) == Some(&'\'') {
        return i + 2;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_delimiters_are_incomplete() {
        assert_eq!(check("fn f() {"), Completeness::Incomplete("    ".into()));
        assert_eq!(check("let v = vec![1, 2,"), Completeness::Incomplete("    ".into()));
        assert_eq!(check("fn f() {\n    if x {"), Completeness::Incomplete("        ".into()));
        assert_eq!(check("let s = \"abc"), Completeness::Incomplete(String::new()));
        assert_eq!(check("/* comment"), Completeness::Incomplete(String::new()));
        assert_eq!(check("let s = r#\"a \" b"), Completeness::Incomplete(String::new()));
    }

    #[cfg(feature = "notebook")]
    #[test]
    fn code_that_cannot_parse_is_invalid() {
        for bad in ["let = 5;", "fn (x) {}", "let x = 1 +;", "struct { a: u8 }"] {
            assert_eq!(check(bad), Completeness::Invalid, "{bad}");
        }
        for good in ["let x = 5;", "x * 2", "use std::fmt;\nfn f() -> u8 { 1 }\nf()", "pub fn g() {}", ":dep rand\nlet y = 1;", "#[derive(Debug)]\nstruct P { a: u8 }", "println!(\"{}\", 1)"] {
            assert_eq!(check(good), Completeness::Complete, "{good}");
        }
    }

    #[test]
    fn stray_closers_are_invalid() {
        assert_eq!(check(")"), Completeness::Invalid);
        assert_eq!(check("let x = (1];"), Completeness::Invalid);
        assert_eq!(check("}"), Completeness::Invalid);
    }

    #[test]
    fn strings_chars_comments_and_lifetimes_do_not_confuse_it() {
        for code in [
            "let x = 1;",
            "fn f() {}",
            r#"let s = "(";"#,
            "let s = r#\"{\"#;",
            "let c = '(';",
            "let c = '\\'';",
            "let c = '\\u{1F600}';",
            "fn f<'a>(x: &'a str) -> &'a str { x }",
            "// ( unclosed in a comment",
            "/* { /* nested */ } */ let x = 1;",
            ":run demo.pi seed=7",
            "let br = b\"[\"; let bb = br##\"]\"##;",
            "'outer: loop { break 'outer; }",
        ] {
            assert_eq!(check(code), Completeness::Complete, "{code}");
        }
    }
}
