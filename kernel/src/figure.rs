//! Plotly figures drawn as static SVG: the fallback beside `application/vnd.plotly.v1+json` for
//! frontends without a Plotly renderer (plain JupyterLab, nbconvert, GitHub, VS Code without it).
//!
//! Covers what the experiments emit: scatter lines and markers, `fill: tonexty` bands, horizontal
//! error bars, grouped bars (either orientation), linear / log / category axes (reversed too),
//! line shapes in data or paper coordinates, and text annotations. Anything else is skipped.

use serde_json::Value;
use std::fmt::Write;

const PALETTE: [&str; 10] = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880", "#ff97ff", "#fecb52"];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Linear,
    Log,
    Category,
}

/// One axis: its kind, data range (log10 units on a log axis) and categories.
struct Axis {
    kind: Kind,
    lo: f64,
    hi: f64,
    cats: Vec<String>,
    reversed: bool,
    title: String,
}

impl Axis {
    fn new(layout: &Value, traces: &[Value], key: &str, letter: &str, extra: &[f64]) -> Axis {
        let spec = &layout[key];
        let values = || traces.iter().flat_map(|t| t[letter].as_array().into_iter().flatten());
        let mut cats: Vec<String> = Vec::new();
        for v in values() {
            if let Some(s) = v.as_str() {
                if !cats.iter().any(|c| c == s) {
                    cats.push(s.to_string());
                }
            }
        }
        let kind = match spec["type"].as_str() {
            Some("log") => Kind::Log,
            Some("category") => Kind::Category,
            _ if !cats.is_empty() => Kind::Category,
            _ => Kind::Linear,
        };
        let tf = |x: f64| if kind == Kind::Log { if x > 0.0 { x.log10() } else { f64::NAN } } else { x };
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut take = |x: f64| {
            let x = tf(x);
            if x.is_finite() {
                lo = lo.min(x);
                hi = hi.max(x);
            }
        };
        for t in traces {
            let arr = |k: &str| t[k].as_array().cloned().unwrap_or_default();
            for v in arr(letter) {
                if let Some(x) = v.as_f64() {
                    take(x);
                }
            }
            // bars start at zero; error bars widen the range
            let bar_axis = if t["orientation"] == "h" { "x" } else { "y" };
            if t["type"] == "bar" && letter == bar_axis {
                take(0.0);
            }
            let e = &t[format!("error_{letter}")];
            if e.is_object() {
                let plus = e["array"].as_array().cloned().unwrap_or_default();
                let minus = e["arrayminus"].as_array().cloned().unwrap_or_else(|| plus.clone());
                for (i, v) in arr(letter).iter().enumerate() {
                    if let Some(x) = v.as_f64() {
                        take(x + plus.get(i).and_then(Value::as_f64).unwrap_or(0.0));
                        take(x - minus.get(i).and_then(Value::as_f64).unwrap_or(0.0));
                    }
                }
            }
        }
        for &x in extra {
            take(x);
        }
        if let Some([a, b]) = spec["range"].as_array().map(|r| [r.first().and_then(Value::as_f64), r.get(1).and_then(Value::as_f64)]) {
            if let (Some(a), Some(b)) = (a, b) {
                (lo, hi) = (a, b);
            }
        } else if lo.is_finite() {
            let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5_f64.max(lo.abs() * 0.1) };
            (lo, hi) = (lo - pad, hi + pad);
        } else {
            (lo, hi) = (0.0, 1.0);
        }
        let title = spec["title"]["text"].as_str().or(spec["title"].as_str()).unwrap_or("").to_string();
        Axis { kind, lo, hi, cats, reversed: spec["autorange"] == "reversed", title }
    }

    /// Position in [0, 1] along the axis, for a data value (a number or a category).
    fn frac(&self, v: &Value) -> Option<f64> {
        let f = match self.kind {
            Kind::Category => {
                let i = self.cats.iter().position(|c| Some(c.as_str()) == v.as_str())? as f64;
                (i + 0.5) / self.cats.len().max(1) as f64
            }
            Kind::Log => (v.as_f64().filter(|x| *x > 0.0)?.log10() - self.lo) / (self.hi - self.lo),
            Kind::Linear => (v.as_f64()? - self.lo) / (self.hi - self.lo),
        };
        f.is_finite().then_some(if self.reversed { 1.0 - f } else { f })
    }

    /// Tick positions (fractions) and labels.
    fn ticks(&self) -> Vec<(f64, String)> {
        match self.kind {
            Kind::Category => self.cats.iter().filter_map(|c| Some((self.frac(&Value::String(c.clone()))?, c.clone()))).collect(),
            Kind::Log => {
                let (a, b) = (self.lo.ceil() as i64, self.hi.floor() as i64);
                let mut t = Vec::new();
                for e in a..=b {
                    for m in if b - a <= 2 { &[1.0, 2.0, 5.0][..] } else { &[1.0][..] } {
                        let x = m * 10f64.powi(e as i32);
                        if let Some(f) = self.frac(&Value::from(x)) {
                            t.push((f, number(x)));
                        }
                    }
                }
                t
            }
            Kind::Linear => {
                let span = self.hi - self.lo;
                let raw = span / 6.0;
                let mag = 10f64.powf(raw.log10().floor());
                let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
                let mut x = (self.lo / step).ceil() * step;
                let mut t = Vec::new();
                while x <= self.hi + 1e-9 * span {
                    if let Some(f) = self.frac(&Value::from(x)) {
                        t.push((f, number(if x.abs() < 1e-12 * span { 0.0 } else { x })));
                    }
                    x += step;
                }
                t
            }
        }
    }
}

fn number(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// Plotly's title markup (`<sub>`, `<b>` …) dropped, keeping the text.
fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for ch in s.chars() {
        match ch {
            '<' => inside = true,
            '>' if inside => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&#39;")
}

fn dash(line: &Value) -> &'static str {
    match line["dash"].as_str() {
        Some("dot") => " stroke-dasharray='2,3'",
        Some("dash") => " stroke-dasharray='6,4'",
        Some("dashdot") => " stroke-dasharray='6,3,2,3'",
        _ => "",
    }
}

/// The figure as a standalone SVG document, or None when it has no traces to draw.
pub fn svg(fig: &Value) -> Option<String> {
    let traces: Vec<Value> = fig["data"].as_array()?.clone();
    if traces.is_empty() {
        return None;
    }
    let layout = &fig["layout"];
    let shapes = layout["shapes"].as_array().cloned().unwrap_or_default();
    let shape_values = |letter: &str| -> Vec<f64> {
        shapes.iter().filter(|s| s[format!("{letter}ref")] != "paper").flat_map(|s| [s[format!("{letter}0")].as_f64(), s[format!("{letter}1")].as_f64()]).flatten().collect()
    };
    let xa = Axis::new(layout, &traces, "xaxis", "x", &shape_values("x"));
    let ya = Axis::new(layout, &traces, "yaxis", "y", &shape_values("y"));
    let short = |s: &str| if s.chars().count() > 27 { format!("{}…", s.chars().take(26).collect::<String>()) } else { s.to_string() };
    let legend: Vec<(usize, String)> = traces.iter().enumerate().filter(|(_, t)| t["showlegend"] != false).filter_map(|(i, t)| Some((i, short(t["name"].as_str()?)))).collect();
    let ylab = if ya.kind == Kind::Category { ya.cats.iter().map(|c| c.chars().count()).max().unwrap_or(4) as f64 * 6.6 + 16.0 } else { 64.0 };
    let title = layout["title"]["text"].as_str().or(layout["title"].as_str()).unwrap_or("");
    let title_lines: Vec<String> = title.split("<br>").map(strip_tags).filter(|x| !x.is_empty()).collect();
    let (l, r, t, b) = (ylab.max(56.0) + 18.0, if legend.is_empty() { 20.0 } else { 190.0 }, 30.0 + 17.0 * title_lines.len() as f64, 58.0);
    let w = (l + r + 540.0).max(760.0);
    let h = layout["height"].as_f64().unwrap_or(440.0).max(220.0) + t - 44.0;
    let (pw, ph) = (w - l - r, h - t - b);
    let px = |f: f64| l + f * pw;
    let py = |f: f64| t + (1.0 - f) * ph;
    let color = |i: usize, tr: &Value| -> String {
        let band = tr["fill"].is_string() && tr["line"]["width"].as_f64() == Some(0.0);
        let given = if band { tr["fillcolor"].as_str() } else { None };
        given.or(tr["line"]["color"].as_str()).or(tr["marker"]["color"].as_str()).map_or_else(|| PALETTE[i % PALETTE.len()].to_string(), str::to_string)
    };
    let mut s = String::new();
    let _ = write!(s, "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='11'><rect width='{w}' height='{h}' fill='white'/>");
    for (f, label) in xa.ticks() {
        let _ = write!(s, "<line x1='{0:.1}' x2='{0:.1}' y1='{t}' y2='{1:.1}' stroke='#eee'/><text x='{0:.1}' y='{2:.1}' text-anchor='middle'>{3}</text>", px(f), t + ph, t + ph + 15.0, esc(&label));
    }
    for (f, label) in ya.ticks() {
        let _ = write!(s, "<line x1='{l}' x2='{0:.1}' y1='{1:.1}' y2='{1:.1}' stroke='#eee'/><text x='{2:.1}' y='{3:.1}' text-anchor='end'>{4}</text>", l + pw, py(f), l - 6.0, py(f) + 4.0, esc(&label));
    }
    let _ = write!(s, "<rect x='{l}' y='{t}' width='{pw}' height='{ph}' fill='none' stroke='#999'/>");
    // bars: grouped within each category slot
    let bars: Vec<usize> = (0..traces.len()).filter(|&i| traces[i]["type"] == "bar").collect();
    // the previous scatter trace's points, for `fill: tonexty`
    let mut prev: Vec<(f64, f64)> = Vec::new();
    for (i, tr) in traces.iter().enumerate() {
        let c = color(i, tr);
        let xs = tr["x"].as_array().cloned().unwrap_or_default();
        let ys = tr["y"].as_array().cloned().unwrap_or_default();
        if tr["type"] == "bar" {
            let k = bars.iter().position(|&j| j == i).unwrap_or(0) as f64;
            let nb = bars.len().max(1) as f64;
            let horizontal = tr["orientation"] == "h";
            let (cat_axis, val_axis, cats, vals) = if horizontal { (&ya, &xa, &ys, &xs) } else { (&xa, &ya, &xs, &ys) };
            let slot = 0.8 / cat_axis.cats.len().max(1) as f64;
            let opacity = tr["opacity"].as_f64().unwrap_or(1.0);
            for (cv, vv) in cats.iter().zip(vals) {
                let (Some(cf), Some(vf), Some(zf)) = (cat_axis.frac(cv), val_axis.frac(vv), val_axis.frac(&Value::from(0.0)).or(Some(0.0))) else { continue };
                let a = cf - 0.4 / cat_axis.cats.len().max(1) as f64 + slot * k / nb;
                let (c0, c1) = (a, a + slot / nb);
                let (v0, v1) = (zf.clamp(0.0, 1.0).min(vf), zf.clamp(0.0, 1.0).max(vf));
                let (x0, x1, y0, y1) = if horizontal { (px(v0), px(v1), py(c1), py(c0)) } else { (px(c0), px(c1), py(v1), py(v0)) };
                let _ = write!(s, "<rect x='{x0:.1}' y='{y0:.1}' width='{:.1}' height='{:.1}' fill='{c}' fill-opacity='{opacity}'/>", (x1 - x0).max(0.5), (y1 - y0).max(0.5));
            }
            continue;
        }
        let pts: Vec<Option<(f64, f64)>> = xs.iter().zip(&ys).map(|(x, y)| Some((px(xa.frac(x)?), py(ya.frac(y)?)))).collect();
        let valid: Vec<(f64, f64)> = pts.iter().flatten().copied().collect();
        if tr["fill"] == "tonexty" && !prev.is_empty() {
            let fill = tr["fillcolor"].as_str().unwrap_or("rgba(99,110,250,0.2)");
            let poly: Vec<String> = valid.iter().chain(prev.iter().rev()).map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = write!(s, "<polygon points='{}' fill='{fill}' stroke='none'/>", poly.join(" "));
        }
        let mode = tr["mode"].as_str().unwrap_or("lines+markers");
        let width = tr["line"]["width"].as_f64().unwrap_or(2.0);
        if mode.contains("lines") && width > 0.0 {
            for run in pts.split(|p| p.is_none()).filter(|r| r.len() > 1) {
                let p: Vec<String> = run.iter().flatten().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = write!(s, "<polyline points='{}' fill='none' stroke='{c}' stroke-width='{width}'{}/>", p.join(" "), dash(&tr["line"]));
            }
        }
        let e = &tr["error_x"];
        if e.is_object() {
            let plus = e["array"].as_array().cloned().unwrap_or_default();
            let minus = e["arrayminus"].as_array().cloned().unwrap_or_else(|| plus.clone());
            for (j, (x, y)) in xs.iter().zip(&ys).enumerate() {
                let (Some(xv), Some(yf)) = (x.as_f64(), ya.frac(y)) else { continue };
                let at = |d: f64| xa.frac(&Value::from(d)).map(px);
                let (Some(a), Some(b2)) = (at(xv - minus.get(j).and_then(Value::as_f64).unwrap_or(0.0)), at(xv + plus.get(j).and_then(Value::as_f64).unwrap_or(0.0))) else { continue };
                let yy = py(yf);
                let _ = write!(s, "<path d='M{a:.1},{yy:.1}H{b2:.1}M{a:.1},{:.1}V{:.1}M{b2:.1},{:.1}V{:.1}' stroke='{c}' fill='none'/>", yy - 4.0, yy + 4.0, yy - 4.0, yy + 4.0);
            }
        }
        if mode.contains("markers") {
            for (x, y) in &valid {
                let _ = write!(s, "<circle cx='{x:.1}' cy='{y:.1}' r='3.5' fill='{c}'/>");
            }
        }
        prev = valid;
    }
    let coord = |sh: &Value, letter: &str, k: &str, axis: &Axis| -> Option<f64> {
        let v = &sh[format!("{letter}{k}")];
        let f = if sh[format!("{letter}ref")] == "paper" { v.as_f64()? } else { axis.frac(v)? };
        Some(if letter == "x" { px(f) } else { py(f) })
    };
    for sh in shapes.iter().filter(|sh| sh["type"] == "line") {
        let (Some(x0), Some(x1), Some(y0), Some(y1)) = (coord(sh, "x", "0", &xa), coord(sh, "x", "1", &xa), coord(sh, "y", "0", &ya), coord(sh, "y", "1", &ya)) else { continue };
        let c = sh["line"]["color"].as_str().unwrap_or("#444");
        let _ = write!(s, "<line x1='{x0:.1}' y1='{y0:.1}' x2='{x1:.1}' y2='{y1:.1}' stroke='{c}' stroke-width='1.5'{}/>", dash(&sh["line"]));
    }
    for an in layout["annotations"].as_array().into_iter().flatten() {
        let (Some(x), Some(y)) = (coord(an, "x", "", &xa).or_else(|| Some(px(0.5))), coord(an, "y", "", &ya)) else { continue };
        let anchor = match an["xanchor"].as_str() {
            Some("right") => "end",
            Some("left") => "start",
            _ => "middle",
        };
        let _ = write!(s, "<text x='{x:.1}' y='{:.1}' text-anchor='{anchor}' fill='#444'>{}</text>", y - 4.0, esc(an["text"].as_str().unwrap_or("")));
    }
    for (k, line) in title_lines.iter().enumerate() {
        let _ = write!(s, "<text x='{:.1}' y='{}' text-anchor='middle' font-size='{}'>{}</text>", w / 2.0, 22 + 17 * k, if k == 0 { 14 } else { 12 }, esc(line));
    }
    let _ = write!(s, "<text x='{:.1}' y='{:.1}' text-anchor='middle' font-size='12'>{}</text>", l + pw / 2.0, h - 14.0, esc(&xa.title));
    let _ = write!(s, "<text transform='translate(14,{:.1}) rotate(-90)' text-anchor='middle' font-size='12'>{}</text>", t + ph / 2.0, esc(&ya.title));
    for (k, (i, name)) in legend.iter().enumerate() {
        let (x, y) = (w - r + 14.0, t + 10.0 + 18.0 * k as f64);
        let _ = write!(s, "<rect x='{x:.1}' y='{:.1}' width='14' height='10' fill='{}'/><text x='{:.1}' y='{:.1}'>{}</text>", y - 9.0, color(*i, &traces[*i]), x + 20.0, y, esc(name));
    }
    s.push_str("</svg>");
    Some(s)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn bars_lines_bands_and_shapes_are_drawn() {
        let fig = json!({
            "data": [
                {"type": "bar", "name": "a", "x": ["p", "q"], "y": [0.2, -0.1]},
                {"type": "bar", "name": "b", "x": ["p", "q"], "y": [0.3, 0.1]}
            ],
            "layout": {"title": {"text": "T & U<br><sub>sub</sub>"}, "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0.25, "y1": 0.25}]}
        });
        let s = super::svg(&fig).unwrap();
        assert_eq!(s.matches("<rect x=").count(), 1 + 4 + 2, "frame, four bars, two legend keys: {s}");
        assert!(s.contains(">T &amp; U<") && s.contains(">sub<") && s.contains(">p<") && s.contains(">q<"));
        assert_eq!(s.matches("<line x1").count() - s.matches("stroke='#eee'").count(), 1, "one shape line");
        let band = json!({"data": [
            {"type": "scatter", "mode": "lines", "x": [1, 10, 100], "y": [1, 2, 3], "line": {"width": 0}, "showlegend": false},
            {"type": "scatter", "mode": "lines", "x": [1, 10, 100], "y": [0, 1, 2], "fill": "tonexty", "line": {"width": 0}},
            {"type": "scatter", "mode": "lines+markers", "x": [1, 10, 100], "y": [0.5, null, 2.5], "line": {"dash": "dot"}}
        ], "layout": {"xaxis": {"type": "log"}}});
        let s = super::svg(&band).unwrap();
        assert_eq!((s.matches("<polygon").count(), s.matches("<polyline").count(), s.matches("<circle").count()), (1, 0, 2), "{s}");
        assert!(s.contains(">10<") && s.contains(">100<"));
        assert!(super::svg(&json!({"data": []})).is_none());
    }
}
