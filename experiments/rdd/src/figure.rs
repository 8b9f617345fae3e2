//! The rdplot figure built with the `plotly` crate: bin means and the local polynomial fits on
//! each side of the cutoff, the cutoff dashed, the estimate in the title.

use super::estimate::Estimate;
use super::plot::{Bin, curve};
use super::side::Design;
use plotly::common::{DashType, Line, Marker, Mode, Title};
use plotly::layout::{Axis, Layout, Shape, ShapeLine, ShapeType};
use plotly::{Plot, Scatter};

/// Bin means with the local fits of order p on each side, the cutoff marked, the estimate in the title.
pub fn rdplot(title: &str, x_name: &str, y_name: &str, d: &Design, bins: &[Bin], e: &Estimate) -> Plot {
    let mut plot = Plot::new();
    for (side, h, fit, colour) in [(&d.left, e.h[0], &e.left, "#2a5db0"), (&d.right, e.h[1], &e.right, "#b0542a")] {
        let b: Vec<&Bin> = bins.iter().filter(|b| b.side == side.label).collect();
        let means = Scatter::new(b.iter().map(|b| b.x_mean).collect(), b.iter().map(|b| b.y_mean).collect())
            .mode(Mode::Markers)
            .name(format!("bin means ({})", side.label))
            .text_array(b.iter().map(|b| format!("{} units", b.n)).collect())
            .marker(Marker::new().color(colour).opacity(0.6));
        plot.add_trace(means);
        let (xs, ys) = curve(side, d.c, h, &fit.coefficients);
        let line = Scatter::new(xs, ys).mode(Mode::Lines).name(format!("local fit, p = {} ({})", e.p, side.label)).line(Line::new().color(colour).width(3.0));
        plot.add_trace(line);
    }
    let r = &e.robust;
    let subtitle = format!("τ = {:.4} (conventional), robust {}% CI [{:.4}, {:.4}], h = {:.4}", e.conventional.estimate, e.level, r.ci[0], r.ci[1], e.h[0]);
    let cutoff = Shape::new()
        .shape_type(ShapeType::Line)
        .x0(d.c)
        .x1(d.c)
        .y_ref("paper")
        .y0(0)
        .y1(1)
        .line(ShapeLine::new().dash(DashType::Dash).color("#888"));
    plot.set_layout(
        Layout::new()
            .title(Title::with_text(format!("{title}<br><sub>{subtitle}</sub>")))
            .x_axis(Axis::new().title(Title::with_text(x_name)))
            .y_axis(Axis::new().title(Title::with_text(y_name)))
            .shapes(vec![cutoff]),
    );
    plot
}
