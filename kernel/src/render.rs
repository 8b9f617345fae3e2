//! Text rendering of runs, outputs, tables and comparison reports for the terminal.

use reprise_core::{MediaType, Params};
use reprise_runner::compare::{Detail, Verdict};
use reprise_runner::rerun::{EnvDiff, OutputReport};
use reprise_runner::OutputEntry;
use reprise_store::{Digest, Store};
use std::collections::BTreeMap;

pub fn params(p: &Params) -> String {
    p.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

pub fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = n as f64;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < UNITS.len() {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{x:.1} {}", UNITS[u]) }
}

/// A plain table with aligned columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push('\n');
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

pub const OUTPUT_HEADER: [&str; 5] = ["output", "type", "size", "rule", "digest"];

/// One row per output of a record.
pub fn output_rows(outputs: &BTreeMap<String, OutputEntry>) -> Vec<Vec<String>> {
    outputs
        .iter()
        .map(|(name, o)| vec![name.clone(), o.media_type.clone(), size(o.size), o.rule.to_string(), o.digest[..12].to_string()])
        .collect()
}

/// The record's `summary.json`, parsed, when there is a small one.
pub fn summary(store: &Store, outputs: &BTreeMap<String, OutputEntry>) -> Option<serde_json::Value> {
    let s = outputs.get("summary.json").filter(|s| s.media_type == MediaType::JSON && s.size < 64 * 1024)?;
    let bytes = Digest::parse(&s.digest).and_then(|d| store.read(&d).ok())?;
    serde_json::from_slice(&bytes).ok()
}

/// The outputs of a record, and the summary's contents when there is one.
pub fn outputs(store: &Store, outputs: &BTreeMap<String, OutputEntry>) -> String {
    let mut s = table(&OUTPUT_HEADER, &output_rows(outputs));
    if let Some(v) = summary(store, outputs) {
        s.push_str(&format!("\nsummary.json:\n{}", serde_json::to_string_pretty(&v).unwrap_or_default()));
    }
    s
}

/// Escapes text for HTML.
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An HTML table.
pub fn html_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut h = String::from("<table><thead><tr>");
    for c in header {
        h.push_str(&format!("<th>{}</th>", escape_html(c.trim())));
    }
    h.push_str("</tr></thead><tbody>");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            h.push_str(&format!("<td>{}</td>", escape_html(c.trim())));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    h
}

/// A flat key/value view of a JSON summary (nested keys joined with dots).
pub fn summary_rows(v: &serde_json::Value) -> Vec<Vec<String>> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<Vec<String>>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    walk(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, x, out);
                }
            }
            other => out.push(vec![prefix.to_string(), other.to_string()]),
        }
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out
}

/// What `show` prints about a run.
pub fn run_text(run: &reprise_runner::rerun::ResolvedRun, note: Option<&reprise_runner::record::ProvenanceNote>, store: &Store) -> String {
    let s = &run.spec;
    let mut t = String::new();
    t.push_str(&format!("run        {}\n", run.record_digest));
    t.push_str(&format!("spec       {}\n", run.spec_digest));
    t.push_str(&format!("experiment {} v{}\n", s.experiment.name, s.experiment.version));
    t.push_str(&format!("seed       {}\n", s.seed));
    t.push_str(&format!("params     {}\n", params(&s.params)));
    for (k, v) in &s.inputs {
        t.push_str(&format!("input      {k} = {}\n", &v[..12]));
    }
    t.push_str(&format!("commit     {}{}\n", s.code.commit, if s.code.dirty { " (dirty: diff stored)" } else { "" }));
    t.push_str(&format!("toolchain  {}\n", s.toolchain.lines().next().unwrap_or_default()));
    t.push_str(&format!("target     {}  backend {}\n", s.target, s.backend.get("kind").map(String::as_str).unwrap_or("?")));
    if let Some(n) = note {
        t.push_str(&format!("last ran   {} on {} in {} ms with {} threads\n", n.started, n.host, n.wall_ms, n.threads));
    }
    t.push_str(&outputs(store, &run.record.outputs));
    t
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Identical => "identical",
        Verdict::WithinRule => "within rule",
        Verdict::Different => "DIFFERENT",
        Verdict::Missing => "MISSING",
        Verdict::Unexpected => "UNEXPECTED",
    }
}

/// One line (plus detail lines) per output.
pub fn output_reports(reports: &[OutputReport]) -> String {
    let w = reports.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!("  {:<w$}  {:<11}  rule {}", r.name, verdict_word(r.verdict), r.rule));
        match &r.detail {
            Detail::None => {}
            Detail::Array { dtype, recorded_shape, new_shape, elements, differing, first_index, max_abs, max_rel, max_ulps } => {
                if recorded_shape != new_shape || dtype.contains(" vs ") {
                    out.push_str(&format!("\n    shape/dtype changed: {recorded_shape:?} {dtype} → {new_shape:?}"));
                } else {
                    out.push_str(&format!(
                        "\n    {differing} of {elements} elements differ (dtype {dtype}), first at {:?}; max abs {max_abs:.3e}, max rel {max_rel:.3e}, max {max_ulps} ulps",
                        first_index.clone().unwrap_or_default()
                    ));
                }
            }
            Detail::Json { differing_paths, more } => {
                out.push_str(&format!("\n    differing paths: {}", differing_paths.join(", ")));
                if *more > 0 {
                    out.push_str(&format!(" and {more} more"));
                }
            }
            Detail::Bytes { recorded_size, new_size, first_offset } => {
                out.push_str(&format!("\n    {recorded_size} → {new_size} bytes; first difference at byte {}", first_offset.map(|o| o.to_string()).unwrap_or_default()));
            }
            Detail::Unreadable { why } => out.push_str(&format!("\n    {why}")),
        }
        if !r.verdict.passes() && !r.recorded.is_empty() {
            out.push_str(&format!("\n    recorded {} → new {}", &r.recorded[..12], r.new.as_deref().map(|n| &n[..12]).unwrap_or("none")));
        }
        out.push('\n');
    }
    out
}

/// The environments side by side.
pub fn environment(diffs: &[EnvDiff]) -> String {
    if diffs.is_empty() {
        return String::new();
    }
    let mut out = String::from("environment differs from the recorded one:\n");
    for d in diffs {
        let one_line = |s: &str| s.lines().next().unwrap_or_default().to_string();
        out.push_str(&format!("  {:<12}  recorded: {}\n  {:<12}  current:  {}\n", d.field, one_line(&d.recorded), "", one_line(&d.current)));
    }
    out
}

/// One line per sweep (with its aggregate) and session a bundle or remote carries.
pub fn roots(roots: &reprise_runner::roots::Roots) -> String {
    let mut out = String::new();
    for s in &roots.sweeps {
        out += &format!("{}  sweep{}\n", s.manifest, s.aggregate.as_deref().map(|a| format!(" (aggregate {})", &a[..12.min(a.len())])).unwrap_or_default());
    }
    for s in &roots.sessions {
        out += &format!("{s}  session\n");
    }
    out
}

/// ", 2 sweep(s), 1 session(s)" after a run count, or nothing when there are neither.
pub fn roots_tally(roots: &reprise_runner::roots::Roots) -> String {
    match (roots.sweeps.len(), roots.sessions.len()) {
        (0, 0) => String::new(),
        (w, s) => format!(", {w} sweep(s), {s} session(s)"),
    }
}
