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

/// The outputs of a record, and the summary's contents when there is one.
pub fn outputs(store: &Store, outputs: &BTreeMap<String, OutputEntry>) {
    let rows: Vec<Vec<String>> = outputs
        .iter()
        .map(|(name, o)| vec![name.clone(), o.media_type.clone(), size(o.size), o.rule.to_string(), o.digest[..12].to_string()])
        .collect();
    println!("{}", table(&["output", "type", "size", "rule", "digest"], &rows));
    if let Some(s) = outputs.get("summary.json").filter(|s| s.media_type == MediaType::JSON && s.size < 64 * 1024)
        && let Some(bytes) = Digest::parse(&s.digest).and_then(|d| store.read(&d).ok())
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
    {
        println!("summary.json:\n{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
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
