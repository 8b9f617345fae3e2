//! String diagrams as SVG: word boxes on top, their typed wires going down, cups as U-curves
//! (deeper for enclosing cups), open wires to the bottom edge; boxes after the words listed below.

use super::pregroup::Diagram;

const STEP: f64 = 64.0;
const TOP: f64 = 16.0;
const BOX_H: f64 = 30.0;
const CUP_H: f64 = 26.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The diagram as a standalone SVG document.
pub fn draw(d: &Diagram) -> String {
    let Ok(w) = d.wiring() else { return String::from("<svg xmlns='http://www.w3.org/2000/svg'/>") };
    let n: usize = d.words.iter().map(|x| x.ty.0.len()).sum();
    let mut x = Vec::with_capacity(n);
    let mut body = String::new();
    let mut left = 12.0;
    let base = TOP + BOX_H;
    for word in &d.words {
        let k = word.ty.0.len().max(1);
        let width = (k as f64 * STEP).max(word.name.chars().count() as f64 * 8.0 + 16.0);
        let gap = width / k as f64;
        for j in 0..word.ty.0.len() {
            x.push(left + gap * (j as f64 + 0.5));
        }
        body += &format!("<rect x='{:.1}' y='{TOP}' width='{:.1}' height='{BOX_H}' rx='4' fill='#e8f0fe' stroke='#3b5ba5'/>", left + 4.0, width - 8.0);
        body += &format!("<text x='{:.1}' y='{:.1}' text-anchor='middle' font-size='14'>{}</text>", left + width / 2.0, TOP + 20.0, esc(&word.name));
        left += width + 12.0;
    }
    let word_cups = w.word_cups(n);
    let rows = word_cups.iter().map(|c| c.2).max().unwrap_or(0) as f64;
    let bottom = base + CUP_H * (rows + 1.0) + 24.0;
    for &(a, b, depth) in &word_cups {
        let y = base + 10.0 + CUP_H * (depth as f64 - 0.5);
        body += &format!("<path d='M{:.1},{base} L{:.1},{y:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{y:.1} L{:.1},{base}' fill='none' stroke='#222' stroke-width='1.6'/>", x[a], x[a], x[a], y + CUP_H * 0.6, x[b], y + CUP_H * 0.6, x[b], x[b]);
    }
    for (i, &xi) in x.iter().enumerate() {
        body += &format!("<text x='{:.1}' y='{:.1}' font-size='11' fill='#555'>{}</text>", xi + 3.0, base + 12.0, esc(&w.types[i].to_string()));
    }
    for &o in w.open.iter().filter(|&&o| o < n) {
        body += &format!("<line x1='{:.1}' y1='{base}' x2='{:.1}' y2='{:.1}' stroke='#222' stroke-width='1.6'/>", x[o], x[o], bottom - 14.0);
        body += &format!("<text x='{:.1}' y='{:.1}' text-anchor='middle' font-size='12'>{}</text>", x[o], bottom - 2.0, esc(&w.types[o].to_string()));
    }
    let mut height = bottom + 6.0;
    for (name, taken, made) in &w.boxes {
        let show = |v: &[usize]| v.iter().map(|&i| w.types[i].to_string()).collect::<Vec<_>>().join(" ");
        body += &format!("<text x='12' y='{:.1}' font-size='12'>then {}: {} → {}</text>", height + 12.0, esc(name), esc(&show(taken)), esc(&show(made)));
        height += 18.0;
    }
    format!("<svg xmlns='http://www.w3.org/2000/svg' width='{:.0}' height='{:.0}' font-family='sans-serif'>{body}</svg>", left.max(120.0), height + 4.0)
}
