//! `rdd.scalar`: rdrobust on any CSV with named outcome and running-variable columns (the U.S.
//! Senate data of Cattaneo, Frandsen & Titiunik 2015 by default); estimates, bins and a figure.

use super::bandwidth::Selector;
use super::estimate::{Estimate, Options, Row};
use super::fit::Rdrobust;
use super::locpoly::Vce;
use super::Kernel;
use reprise_stats::frame::Frame;
use reprise_core::{Experiment, ExperimentError, MediaType, Outputs, ParamSpec, RunCtx};
use serde::Serialize;

pub const SENATE_CSV: &[u8] = include_bytes!("../../data/rdd/rdrobust_senate.csv");

#[derive(Serialize)]
struct DataReport {
    source: String,
    rows: usize,
    used: usize,
    dropped_missing: usize,
    y: String,
    x: String,
    take_up: Option<String>,
    cutoff: f64,
    left: usize,
    right: usize,
}

#[derive(Serialize)]
struct Summary {
    data: DataReport,
    estimate: Estimate,
    warnings: Vec<String>,
}

/// The used columns of a CSV, rows with a missing value dropped.
pub struct Columns {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub t: Option<Vec<f64>>,
    /// Covariate columns, in the order asked for.
    pub z: Vec<Vec<f64>>,
    pub dropped: usize,
}

/// The input `data` is at fault, for `why`.
fn bad_data(why: String) -> ExperimentError {
    ExperimentError::BadInput { name: "data".into(), why }
}

/// Reads x, y (take-up, covariates) columns, dropping rows where any of them is empty or `NA`.
pub fn load(bytes: &[u8], y: &str, x: &str, t: Option<&str>, covs: &[&str]) -> Result<Columns, ExperimentError> {
    let f = Frame::from_csv(bytes).map_err(|e| bad_data(e.to_string()))?;
    let col = |c: &str| f.numeric_or_missing(c).map_err(|e| bad_data(e.to_string()));
    let (ys, xs) = (col(y)?, col(x)?);
    let ts = t.map(col).transpose()?;
    let zs = covs.iter().map(|c| col(c)).collect::<Result<Vec<_>, _>>()?;
    let (mut xo, mut yo, mut to) = (Vec::new(), Vec::new(), Vec::new());
    let mut zo = vec![Vec::new(); covs.len()];
    for i in 0..f.rows() {
        let zi: Option<Vec<f64>> = zs.iter().map(|z| z[i]).collect();
        if let (Some(xi), Some(yi), Some(ti), Some(zi)) =
            (xs[i], ys[i], ts.as_ref().map_or(Some(0.0), |t| t[i]), zi)
        {
            xo.push(xi);
            yo.push(yi);
            to.push(ti);
            for (col, v) in zo.iter_mut().zip(zi) {
                col.push(v);
            }
        }
    }
    let dropped = f.rows() - xo.len();
    Ok(Columns {
        x: xo,
        y: yo,
        t: t.map(|_| to),
        z: zo,
        dropped,
    })
}

pub struct Scalar;

impl Scalar {
    fn options(ctx: &RunCtx) -> Result<Options, ExperimentError> {
        let p = &ctx.params;
        let fail = ExperimentError::refused;
        let pos = |name: &str| -> Option<[f64; 2]> {
            let v = p.float(name);
            (v > 0.0).then_some([v, v])
        };
        let q = p.int("q") as usize;
        Ok(Options {
            p: p.int("p") as usize,
            q: (q > 0).then_some(q),
            deriv: p.int("deriv") as usize,
            kernel: Kernel::parse(p.str("kernel")).map_err(fail)?,
            vce: Vce::parse(p.str("vce"), p.int("nnmatch") as usize).map_err(fail)?,
            h: pos("h"),
            b: pos("b"),
            selector: Selector::parse(p.str("bwselect")).map_err(fail)?,
            level: p.float("level"),
            masspoints_adjust: p.str("masspoints") == "adjust",
            bwcheck: match p.int("bwcheck") {
                0 => None,
                k => Some(k as usize),
            },
            bwrestrict: p.bool("bwrestrict"),
        })
    }
}

fn row_cells(r: &Row) -> Vec<String> {
    vec![
        r.method.into(),
        r.estimate.to_string(),
        r.se.to_string(),
        if r.z.is_finite() { r.z.to_string() } else { String::new() },
        if r.p_value.is_finite() { r.p_value.to_string() } else { String::new() },
        r.ci[0].to_string(),
        r.ci[1].to_string(),
    ]
}

impl Experiment for Scalar {
    fn name(&self) -> &'static str {
        "rdd.scalar"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Sharp or fuzzy local-polynomial RDD as rdrobust 2.1.1 (robust bias-corrected CI, rdbwselect bandwidths) on a CSV; the Senate data by default"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::choice("y", "vote", &[], "outcome column"),
            ParamSpec::choice("x", "margin", &[], "running-variable column"),
            ParamSpec::float(
                "c",
                0.0,
                -1e15,
                1e15,
                "cutoff: units with x ≥ c are treated (or eligible, fuzzy)",
            ),
            ParamSpec::choice(
                "fuzzy",
                "",
                &[],
                "take-up column for a fuzzy design (empty: sharp)",
            ),
            ParamSpec::choice(
                "covs",
                "",
                &[],
                "covariate columns, comma-separated, for the covariate-adjusted estimate of Calonico, Cattaneo, Farrell & Titiunik (2019) (empty: none)",
            ),
            ParamSpec::int("p", 1, 0, 8, "order of the local polynomial"),
            ParamSpec::int(
                "q",
                0,
                0,
                9,
                "order of the bias-correction polynomial (0: p + 1)",
            ),
            ParamSpec::int(
                "deriv",
                0,
                0,
                8,
                "derivative of the regression function to estimate (0: the jump itself)",
            ),
            ParamSpec::choice(
                "kernel",
                "triangular",
                &Kernel::NAMES,
                "kernel weighting units by distance to the cutoff",
            ),
            ParamSpec::choice(
                "vce",
                "nn",
                &["nn", "hc0", "hc1", "hc2", "hc3"],
                "variance: nearest-neighbour residuals or HC0–HC3",
            ),
            ParamSpec::int(
                "nnmatch",
                3,
                1,
                100,
                "minimum neighbours of the nn variance",
            ),
            ParamSpec::float(
                "h",
                0.0,
                0.0,
                1e15,
                "main bandwidth on both sides (0: select with bwselect)",
            ),
            ParamSpec::float(
                "b",
                0.0,
                0.0,
                1e15,
                "bias bandwidth (0: selected, or h when h is given)",
            ),
            ParamSpec::choice(
                "bwselect",
                "mserd",
                &Selector::NAMES,
                "bandwidth selector (rdbwselect)",
            ),
            ParamSpec::float(
                "level",
                95.0,
                1.0,
                99.99,
                "confidence level of the intervals, in percent",
            ),
            ParamSpec::choice(
                "masspoints",
                "adjust",
                &["adjust", "off"],
                "adjust: the pilot bandwidth counts distinct x values, not units (matters when x repeats)",
            ),
            ParamSpec::int(
                "bwcheck",
                0,
                0,
                1_000_000,
                "widen the pilot bandwidth to reach this many distinct x values on each side (0: no floor)",
            ),
            ParamSpec::bool("bwrestrict", true, "cap bandwidths at the range of x"),
            ParamSpec::int("bins", 20, 1, 1000, "bins per side in the binned scatter"),
        ]
    }
    fn optional_inputs(&self) -> Vec<&'static str> {
        vec!["data"]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let p = &ctx.params;
        let o = Scalar::options(ctx)?;
        let (bytes, source) = match ctx.inputs.get("data") {
            Some(b) => (b.as_slice(), "input `data`".to_string()),
            None => (
                SENATE_CSV,
                "U.S. Senate elections (rdrobust_senate.csv, Cattaneo, Frandsen & Titiunik 2015)"
                    .to_string(),
            ),
        };
        let take_up = Some(p.str("fuzzy")).filter(|s| !s.is_empty());
        if take_up == Some(p.str("y")) {
            return Err(ExperimentError::refused(format!(
                "parameter fuzzy names the outcome column `{}`: the take-up (treatment received) must be another column; leave fuzzy empty for a sharp design",
                p.str("y")
            )));
        }
        let covs: Vec<&str> = p.str("covs").split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if let Some(dup) = covs.iter().enumerate().find(|(i, c)| covs[..*i].contains(c)) {
            return Err(ExperimentError::refused(format!("parameter covs: `{}` is named twice", dup.1)));
        }
        let f = Frame::from_csv(bytes).map_err(|e| bad_data(e.to_string()))?;
        let col = |c: &str| f.with_missing(c).map_err(|e| bad_data(e.to_string()));
        let mut model = Rdrobust::new(col(p.str("y"))?, col(p.str("x"))?).names(p.str("y"), p.str("x")).cutoff(p.float("c")).options(o);
        if let Some(t) = take_up {
            model = model.fuzzy(col(t)?);
        }
        for c in &covs {
            model = model.covariate(c, col(c)?);
        }
        ctx.progress.start("rdrobust: bandwidths and estimate", 1);
        let fit = model.fit()?;
        ctx.progress.finish();
        let (design, dropped) = (fit.design(), fit.dropped);
        let est = &fit.estimate;
        let bins = fit.bins(p.int("bins") as usize);
        let mut out = Outputs::new();
        let mut rows: Vec<Vec<String>> = [&est.conventional, &est.bias_corrected, &est.robust]
            .iter()
            .map(|r| row_cells(r))
            .collect();
        if let Some(fs) = &est.first_stage {
            rows.extend(fs.iter().map(|r| {
                let mut c = row_cells(r);
                c[0] = format!("first stage {}", r.method);
                c
            }));
        }
        out.csv(
            "estimates.csv",
            &[
                "method", "estimate", "se", "z", "p_value", "ci_low", "ci_high",
            ],
            &rows,
        );
        let bin_rows: Vec<Vec<String>> = bins
            .iter()
            .map(|b| {
                vec![
                    b.side.into(),
                    b.lo.to_string(),
                    b.hi.to_string(),
                    b.n.to_string(),
                    b.x_mean.to_string(),
                    b.y_mean.to_string(),
                ]
            })
            .collect();
        out.csv(
            "bins.csv",
            &["side", "lo", "hi", "n", "x_mean", "y_mean"],
            &bin_rows,
        );
        // Built with the `plotly` crate, as a cell's `fit.rdplot()`; stored as canonical JSON.
        let fig: serde_json::Value = serde_json::from_str(&fit.rdplot_bins(p.int("bins") as usize).to_json())
            .map_err(|e| ExperimentError::Failed(format!("the plotly figure did not serialise: {e}")))?;
        out.bytes("rdplot.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&fig)?);
        let data = DataReport {
            source,
            rows: f.rows(),
            used: f.rows() - dropped,
            dropped_missing: dropped,
            y: p.str("y").into(),
            x: p.str("x").into(),
            take_up: take_up.map(str::to_string),
            cutoff: design.c,
            left: design.left.len(),
            right: design.right.len(),
        };
        out.json(
            "summary.json",
            &Summary {
                data,
                estimate: est.clone(),
                warnings: fit.warnings.clone(),
            },
        )?;
        Ok(out)
    }
}
