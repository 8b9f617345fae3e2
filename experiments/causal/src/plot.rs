//! Plotly figures (`{data, layout}`, stored as `MediaType::PLOTLY`) for the causal experiments:
//! a forest plot of estimates against a benchmark, and the sensitivity curve over Γ.

use super::estimators::Estimate;
use super::sensitivity::Curve;
use serde_json::{json, Value};


/// Estimates as points with 95% intervals, one row each, and a vertical line at `benchmark`.
pub fn forest(title: &str, estimates: &[(String, &Estimate)], benchmark: Option<(f64, &str)>) -> Value {
    let labels: Vec<String> = estimates.iter().map(|(sample, e)| format!("{} {} · {sample}", e.estimator, e.estimand)).collect();
    let x: Vec<f64> = estimates.iter().map(|(_, e)| e.estimate).collect();
    let plus: Vec<f64> = estimates.iter().map(|(_, e)| e.ci95[1] - e.estimate).collect();
    let minus: Vec<f64> = estimates.iter().map(|(_, e)| e.estimate - e.ci95[0]).collect();
    let mut shapes = Vec::new();
    let mut annotations = Vec::new();
    if let Some((b, label)) = benchmark {
        shapes.push(json!({"type": "line", "x0": b, "x1": b, "yref": "paper", "y0": 0, "y1": 1, "line": {"dash": "dash", "color": "#888"}}));
        annotations.push(json!({"x": b, "yref": "paper", "y": 1.02, "text": label, "showarrow": false}));
    }
    json!({
        "data": [{
            "type": "scatter", "mode": "markers", "x": x, "y": labels,
            "error_x": {"type": "data", "symmetric": false, "array": plus, "arrayminus": minus},
            "name": "estimate ± 95% CI"
        }],
        "layout": {
            "title": {"text": title}, "xaxis": {"title": {"text": "effect on 1978 earnings (dollars)"}, "zeroline": true},
            "yaxis": {"automargin": true, "autorange": "reversed"}, "height": 120 + 22 * estimates.len(),
            "shapes": shapes, "annotations": annotations, "showlegend": false
        }
    })
}

/// ATE bounds and their confidence interval against Γ (log axis), with Γ* marked.
pub fn sensitivity(title: &str, c: &Curve) -> Value {
    let g: Vec<f64> = c.bounds.iter().map(|b| b.gamma).collect();
    let col = |f: fn(&super::sensitivity::Bounds) -> f64| -> Vec<f64> { c.bounds.iter().map(f).collect() };
    let mut shapes = vec![json!({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0, "line": {"color": "#888"}})];
    if let Some(gs) = c.gamma_star {
        shapes.push(json!({"type": "line", "x0": gs, "x1": gs, "yref": "paper", "y0": 0, "y1": 1, "line": {"dash": "dot", "color": "#c33"}}));
    }
    json!({
        "data": [
            {"type": "scatter", "mode": "lines", "x": g, "y": col(|b| b.ci95[1]), "line": {"width": 0}, "showlegend": false, "hoverinfo": "skip"},
            {"type": "scatter", "mode": "lines", "x": g, "y": col(|b| b.ci95[0]), "fill": "tonexty", "fillcolor": "rgba(60,110,200,0.15)", "line": {"width": 0}, "name": "95% CI of the identified set"},
            {"type": "scatter", "mode": "lines+markers", "x": g, "y": col(|b| b.upper), "name": "upper bound", "line": {"color": "#2a5db0"}},
            {"type": "scatter", "mode": "lines+markers", "x": g, "y": col(|b| b.lower), "name": "lower bound", "line": {"color": "#b0542a"}}
        ],
        "layout": {
            "title": {"text": title}, "xaxis": {"title": {"text": "Γ (odds of treatment changed by at most this factor)"}, "type": "log"},
            "yaxis": {"title": {"text": "ATE bounds"}}, "shapes": shapes
        }
    })
}
