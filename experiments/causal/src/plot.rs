//! The causal figures, built with the `plotly` crate (experiments store them as canonical JSON,
//! cells show them): a forest plot of estimates against a benchmark, and the sensitivity curve over Γ.

use super::estimators::Estimate;
use super::sensitivity::{Bounds, Curve};
use plotly::common::{DashType, ErrorData, ErrorType, Fill, HoverInfo, Line, Mode, Title};
use plotly::layout::{Annotation, Axis, AxisType, Layout, Shape, ShapeLine, ShapeType};
use plotly::{Plot, Scatter};

fn vertical(x: f64, dash: DashType, colour: &'static str) -> Shape {
    Shape::new().shape_type(ShapeType::Line).x0(x).x1(x).y_ref("paper").y0(0).y1(1).line(ShapeLine::new().dash(dash).color(colour))
}

/// Estimates as points with 95% intervals, one row each (the first at the top), and a vertical
/// line at `benchmark`.
pub fn forest(title: &str, estimates: &[(String, &Estimate)], benchmark: Option<(f64, &str)>) -> Plot {
    let rows: Vec<&(String, &Estimate)> = estimates.iter().rev().collect();
    let labels: Vec<String> = rows.iter().map(|(sample, e)| format!("{} {} · {sample}", e.estimator, e.estimand)).collect();
    let x: Vec<f64> = rows.iter().map(|(_, e)| e.estimate).collect();
    let plus: Vec<f64> = rows.iter().map(|(_, e)| e.ci95[1] - e.estimate).collect();
    let minus: Vec<f64> = rows.iter().map(|(_, e)| e.estimate - e.ci95[0]).collect();
    let mut plot = Plot::new();
    plot.add_trace(Scatter::new(x, labels).mode(Mode::Markers).name("estimate ± 95% CI").error_x(ErrorData::new(ErrorType::Data).symmetric(false).array(plus).array_minus(minus)));
    let mut layout = Layout::new()
        .title(Title::with_text(title))
        .x_axis(Axis::new().title(Title::with_text("effect on 1978 earnings (dollars)")).zero_line(true))
        .y_axis(Axis::new().auto_margin(true))
        .height(120 + 22 * estimates.len())
        .show_legend(false);
    if let Some((b, label)) = benchmark {
        layout = layout.shapes(vec![vertical(b, DashType::Dash, "#888")]).annotations(vec![Annotation::new().x(b).y_ref("paper").y(1.02).text(label).show_arrow(false)]);
    }
    plot.set_layout(layout);
    plot
}

/// ATE bounds and their confidence interval against Γ (log axis), with Γ* marked.
pub fn sensitivity(title: &str, c: &Curve) -> Plot {
    let g: Vec<f64> = c.bounds.iter().map(|b| b.gamma).collect();
    let col = |f: fn(&Bounds) -> f64| -> Vec<f64> { c.bounds.iter().map(f).collect() };
    let mut plot = Plot::new();
    plot.add_trace(Scatter::new(g.clone(), col(|b| b.ci95[1])).mode(Mode::Lines).line(Line::new().width(0.0)).show_legend(false).hover_info(HoverInfo::Skip));
    plot.add_trace(Scatter::new(g.clone(), col(|b| b.ci95[0])).mode(Mode::Lines).fill(Fill::ToNextY).fill_color("rgba(60,110,200,0.15)").line(Line::new().width(0.0)).name("95% CI of the identified set"));
    plot.add_trace(Scatter::new(g.clone(), col(|b| b.upper)).mode(Mode::LinesMarkers).name("upper bound").line(Line::new().color("#2a5db0")));
    plot.add_trace(Scatter::new(g, col(|b| b.lower)).mode(Mode::LinesMarkers).name("lower bound").line(Line::new().color("#b0542a")));
    let mut shapes = vec![Shape::new().shape_type(ShapeType::Line).x_ref("paper").x0(0).x1(1).y0(0).y1(0).line(ShapeLine::new().color("#888"))];
    if let Some(gs) = c.gamma_star {
        shapes.push(vertical(gs, DashType::Dot, "#c33"));
    }
    plot.set_layout(
        Layout::new()
            .title(Title::with_text(title))
            .x_axis(Axis::new().title(Title::with_text("Γ (odds of treatment changed by at most this factor)")).type_(AxisType::Log))
            .y_axis(Axis::new().title(Title::with_text("ATE bounds")))
            .shapes(shapes),
    );
    plot
}
