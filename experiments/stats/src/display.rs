//! How result types show themselves in a notebook: evcxr's display protocol (one
//! `EVCXR_BEGIN_CONTENT` block per MIME type), which the Reprise kernel turns into one display.

use std::io::Write;

/// An empty block around a bundle: the Reprise kernel then shows the bundle as one display of its
/// own, never merged with a display printed just before or after it. Other frontends ignore the type.
const BOUNDARY: &str = "application/x-reprise-display-boundary";

/// Prints `parts` (MIME type, content) as one display bundle of evcxr's protocol. Outside a
/// notebook it prints the same blocks to stdout.
///
/// ```
/// reprise_stats::display::evcxr_bundle(&[("text/plain", "τ = 1"), ("text/html", "<b>τ = 1</b>")]);
/// ```
pub fn evcxr_bundle(parts: &[(&str, &str)]) {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "EVCXR_BEGIN_CONTENT {BOUNDARY}\n\nEVCXR_END_CONTENT\n");
    for (mime, content) in parts {
        let _ = write!(out, "EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT\n");
    }
    let _ = write!(out, "EVCXR_BEGIN_CONTENT {BOUNDARY}\n\nEVCXR_END_CONTENT\n");
    let _ = out.flush();
}

/// `s` with the characters HTML gives meaning to escaped.
///
/// ```
/// assert_eq!(reprise_stats::display::escape_html("a<b & c"), "a&lt;b &amp; c");
/// ```
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An HTML table with a header row; cells are escaped.
///
/// ```
/// let t = reprise_stats::display::html_table(&["a", "b"], &[vec!["1".into(), "<2".into()]]);
/// assert_eq!(t, "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>&lt;2</td></tr></tbody></table>");
/// ```
pub fn html_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut h = String::from("<table><thead><tr>");
    for c in header {
        h += &format!("<th>{}</th>", escape_html(c));
    }
    h += "</tr></thead><tbody>";
    for r in rows {
        h += "<tr>";
        for c in r {
            h += &format!("<td>{}</td>", escape_html(c));
        }
        h += "</tr>";
    }
    h + "</tbody></table>"
}
