//! rdrobust for people: a builder in rdrobust's vocabulary ([`Rdrobust`]) whose fit
//! ([`RdrobustFit`]) prints as rdrobust prints, shows as a table in a notebook and plots itself.

use super::bandwidth::Selector;
use super::estimate::{Estimate, Options, Row, rdrobust};
use super::locpoly::Vce;
use super::plot::{self, Bin};
use super::{Design, Kernel, RddError};
use ndarray::{Array1, ArrayView1};
use reprise_stats::display::{escape_html, evcxr_bundle, html_table};
use serde::Serialize;

/// A column of numbers an estimator takes: a slice, a `Vec`, or an ndarray vector. NaN marks a
/// missing value (an `NA` cell read with [`Frame::with_missing`](reprise_stats::frame::Frame::with_missing)).
pub trait Column {
    fn values(self) -> Vec<f64>;
}

impl Column for &[f64] {
    fn values(self) -> Vec<f64> {
        self.to_vec()
    }
}
impl<const N: usize> Column for &[f64; N] {
    fn values(self) -> Vec<f64> {
        self.to_vec()
    }
}
impl Column for Vec<f64> {
    fn values(self) -> Vec<f64> {
        self
    }
}
impl Column for &Vec<f64> {
    fn values(self) -> Vec<f64> {
        self.clone()
    }
}
impl Column for Array1<f64> {
    fn values(self) -> Vec<f64> {
        self.to_vec()
    }
}
impl Column for &Array1<f64> {
    fn values(self) -> Vec<f64> {
        self.to_vec()
    }
}
impl Column for ArrayView1<'_, f64> {
    fn values(self) -> Vec<f64> {
        self.to_vec()
    }
}

/// A sharp, fuzzy or covariate-adjusted RD estimate as rdrobust 2.1.1 makes it, with its defaults
/// (p = 1, triangular kernel, mserd bandwidths, nn variance with 3 neighbours, 95% intervals).
/// Rows with a missing (NaN) value in a used column are dropped, as rdrobust drops `NA`s.
///
/// ```
/// use reprise_rdd::{BwSelect, Kernel, Rdrobust};
/// let senate = reprise_rdd::senate();
/// let (vote, margin) = (senate.with_missing("vote").unwrap(), senate.with_missing("margin").unwrap());
/// let fit = Rdrobust::new(&vote, &margin).fit().unwrap();
/// assert!((fit.tau() - 7.4141).abs() < 1e-3);          // rdrobust: 7.414
/// assert!((fit.h()[0] - 17.754).abs() < 1e-3);          // rdrobust: h = 17.754
/// let epa = Rdrobust::new(&vote, &margin).kernel(Kernel::Epanechnikov).bwselect(BwSelect::Cerrd).fit().unwrap();
/// assert!(epa.h()[0] < fit.h()[0]);                    // CER-optimal bandwidths are narrower
/// let err = Rdrobust::new(&vote, &margin).level(150.0).fit().unwrap_err();
/// assert!(err.to_string().contains("level"));
/// ```
#[derive(Debug, Clone)]
pub struct Rdrobust {
    y: Vec<f64>,
    x: Vec<f64>,
    fuzzy: Option<Vec<f64>>,
    covs: Vec<(String, Vec<f64>)>,
    c: f64,
    options: Options,
    names: [String; 2],
}

impl Rdrobust {
    /// The outcome `y` and running variable `x` (one value per unit; cutoff 0).
    pub fn new(y: impl Column, x: impl Column) -> Rdrobust {
        Rdrobust { y: y.values(), x: x.values(), fuzzy: None, covs: Vec::new(), c: 0.0, options: Options::default(), names: ["y".into(), "x".into()] }
    }

    /// Columns `y` and `x` of a table, named in the printed result; `NA` cells are missing.
    ///
    /// ```
    /// let fit = reprise_rdd::Rdrobust::from_frame(&reprise_rdd::senate(), "vote", "margin").unwrap().fit().unwrap();
    /// assert_eq!(fit.n(), [595, 702]);
    /// ```
    pub fn from_frame(f: &reprise_stats::frame::Frame, y: &str, x: &str) -> Result<Rdrobust, reprise_stats::frame::DataError> {
        Ok(Rdrobust::new(f.with_missing(y)?, f.with_missing(x)?).names(y, x))
    }

    /// Names of the outcome and running variable in tables and figures.
    pub fn names(mut self, y: &str, x: &str) -> Rdrobust {
        self.names = [y.into(), x.into()];
        self
    }

    /// Every choice at once, as the `rdd.scalar` experiment reads them from its parameters.
    pub fn options(mut self, o: Options) -> Rdrobust {
        self.options = o;
        self
    }

    /// The cutoff c: units with x ≥ c are treated (eligible, when fuzzy).
    pub fn cutoff(mut self, c: f64) -> Rdrobust {
        self.c = c;
        self
    }

    /// Order of the local polynomial (rdrobust's `p`, default 1).
    pub fn p(mut self, p: usize) -> Rdrobust {
        self.options.p = p;
        self
    }

    /// Order of the bias-correction polynomial (`q`, default p + 1).
    pub fn q(mut self, q: usize) -> Rdrobust {
        self.options.q = Some(q);
        self
    }

    /// The derivative to estimate (`deriv`, default 0: the jump itself).
    pub fn deriv(mut self, deriv: usize) -> Rdrobust {
        self.options.deriv = deriv;
        self
    }

    /// The kernel (`kernel`, default triangular).
    pub fn kernel(mut self, k: Kernel) -> Rdrobust {
        self.options.kernel = k;
        self
    }

    /// The bandwidth selector (`bwselect`, default mserd); ignored when [`h`](Self::h) is given.
    pub fn bwselect(mut self, s: Selector) -> Rdrobust {
        self.options.selector = s;
        self
    }

    /// The main bandwidth on both sides (`h`); the bias bandwidth is then h too unless [`b`](Self::b) is given.
    pub fn h(mut self, h: f64) -> Rdrobust {
        self.options.h = Some([h, h]);
        self
    }

    /// Main bandwidths left and right of the cutoff.
    pub fn h_sides(mut self, left: f64, right: f64) -> Rdrobust {
        self.options.h = Some([left, right]);
        self
    }

    /// The bias bandwidth on both sides (`b`).
    pub fn b(mut self, b: f64) -> Rdrobust {
        self.options.b = Some([b, b]);
        self
    }

    /// The variance estimator (`vce`: nearest neighbours, default, or HC0–HC3).
    pub fn vce(mut self, v: Vce) -> Rdrobust {
        self.options.vce = v;
        self
    }

    /// Confidence level in percent (`level`, default 95).
    pub fn level(mut self, level: f64) -> Rdrobust {
        self.options.level = level;
        self
    }

    /// The take-up (treatment received) of a fuzzy design (`fuzzy`).
    pub fn fuzzy(mut self, t: impl Column) -> Rdrobust {
        self.fuzzy = Some(t.values());
        self
    }

    /// Adds a covariate (`covs`), for the estimate of Calonico, Cattaneo, Farrell & Titiunik (2019).
    pub fn covariate(mut self, name: &str, z: impl Column) -> Rdrobust {
        self.covs.push((name.into(), z.values()));
        self
    }

    /// `masspoints = "adjust"` (true, default) or `"off"`.
    pub fn masspoints(mut self, adjust: bool) -> Rdrobust {
        self.options.masspoints_adjust = adjust;
        self
    }

    /// Widens the pilot bandwidth to reach this many distinct x values on each side (`bwcheck`).
    pub fn bwcheck(mut self, k: usize) -> Rdrobust {
        self.options.bwcheck = Some(k);
        self
    }

    /// Caps bandwidths at the range of x (`bwrestrict`, default true).
    pub fn bwrestrict(mut self, on: bool) -> Rdrobust {
        self.options.bwrestrict = on;
        self
    }

    /// The estimate. An error names the option or the column and row at fault.
    pub fn fit(&self) -> Result<RdrobustFit, RddError> {
        let n = self.x.len();
        let lengths = [("y", self.y.len())].into_iter().chain(self.fuzzy.as_ref().map(|t| ("treatment", t.len())));
        for (what, len) in lengths {
            if len != n {
                return Err(RddError::Lengths { what, len, x_len: n });
            }
        }
        if let Some((name, z)) = self.covs.iter().find(|(_, z)| z.len() != n) {
            return Err(RddError::Option(format!("covariate `{name}` has {} values but x has {n}; give one value per unit", z.len())));
        }
        if let Some(dup) = self.covs.iter().enumerate().find(|(i, (c, _))| self.covs[..*i].iter().any(|(d, _)| d == c)) {
            return Err(RddError::Option(format!("covariate `{}` is given twice", dup.1.0)));
        }
        // Complete cases, as rdrobust keeps them.
        let keep: Vec<usize> = (0..n)
            .filter(|&i| {
                !self.x[i].is_nan() && !self.y[i].is_nan() && self.fuzzy.as_ref().is_none_or(|t| !t[i].is_nan()) && self.covs.iter().all(|(_, z)| !z[i].is_nan())
            })
            .collect();
        let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let (x, y, t) = (pick(&self.x), pick(&self.y), self.fuzzy.as_deref().map(pick));
        let z: Vec<(String, Vec<f64>)> = self.covs.iter().map(|(name, z)| (name.clone(), pick(z))).collect();
        let named: Vec<(&str, &[f64])> = z.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
        // A take-up constant on each side has no first stage to estimate: the design is sharp, and
        // the fuzzy estimate is the sharp one divided by the exact jump.
        let exact = t.as_deref().and_then(|t| exact_take_up(&x, t, self.c));
        if let Some((lo, hi)) = exact
            && lo == hi
        {
            return Err(RddError::Option(format!("the take-up is {lo} on both sides of the cutoff: there is no first stage, so no fuzzy estimate; check the take-up column and the cutoff")));
        }
        let design = Design::with_covariates(&x, &y, if exact.is_some() { None } else { t.as_deref() }, &named, self.c)?;
        let est = rdrobust(&design, &self.options)?;
        let estimate = match exact {
            Some((lo, hi)) => est.with_exact_first_stage(hi - lo),
            None => est,
        };
        let mut warnings = Vec::new();
        if let Some((lo, hi)) = exact {
            warnings.push(format!(
                "the take-up is {lo} everywhere left of the cutoff and {hi} everywhere right of it{}: the design is sharp in effect, so the estimate is the sharp one divided by the first stage's exact jump {}, whose z and p are undefined",
                if (lo, hi) == (0.0, 1.0) { " (perfect compliance)" } else { "" },
                hi - lo
            ));
        }
        let dropped = n - keep.len();
        if dropped > 0 {
            warnings.push(format!("{dropped} rows with a missing value in the used columns were dropped"));
        }
        if let Some(bw) = &estimate.bandwidths {
            for (side, m) in ["left", "right"].iter().zip(bw.mass_points) {
                if m >= 0.2 {
                    warnings.push(format!("mass points: {:.0}% of units {side} of the cutoff repeat an x value; estimates are for the discrete running variable", 100.0 * m));
                }
            }
        }
        let unique = [design.left.distinct(design.left.len()), design.right.distinct(design.right.len())];
        let fuzzy = self.fuzzy.is_some();
        Ok(RdrobustFit { estimate, dropped, unique, fuzzy, warnings, names: self.names.clone(), design })
    }
}

/// The take-up's values left and right of the cutoff when each side has one value only.
fn exact_take_up(x: &[f64], t: &[f64], c: f64) -> Option<(f64, f64)> {
    let side = |right: bool| {
        let mut vals = x.iter().zip(t).filter(|(xi, _)| (**xi >= c) == right).map(|(_, ti)| *ti);
        let first = vals.next()?;
        vals.all(|v| v == first).then_some(first)
    };
    Some((side(false)?, side(true)?))
}

/// A fitted RD estimate. In a notebook it shows as rdrobust's summary (text), the same as tables
/// (HTML) and its numbers (JSON); [`rdplot`](Self::rdplot) draws it.
pub struct RdrobustFit {
    /// Every number of the fit: the three rows, bandwidths, the local fits, the first stage.
    pub estimate: Estimate,
    /// Rows dropped for a missing value.
    pub dropped: usize,
    /// Distinct x values left and right of the cutoff.
    pub unique: [usize; 2],
    /// Whether a take-up column was given (the design may still be sharp in effect; see `warnings`).
    pub fuzzy: bool,
    /// What a reader of the estimate should know (dropped rows, mass points, exact first stages).
    pub warnings: Vec<String>,
    names: [String; 2],
    design: Design,
}

/// The numbers of a fit, as its `application/json` display and [`RdrobustFit::to_json`] give them.
#[derive(Serialize)]
struct FitJson<'a> {
    y: &'a str,
    x: &'a str,
    n: [usize; 2],
    n_effective: [usize; 2],
    unique: [usize; 2],
    dropped: usize,
    estimate: &'a Estimate,
    warnings: &'a [String],
}

impl RdrobustFit {
    /// The conventional estimate τ (of the derivative asked for; the jump by default).
    pub fn tau(&self) -> f64 {
        self.estimate.conventional.estimate
    }

    /// The robust bias-corrected confidence interval.
    pub fn robust_ci(&self) -> [f64; 2] {
        self.estimate.robust.ci
    }

    /// Main bandwidths left and right.
    pub fn h(&self) -> [f64; 2] {
        self.estimate.h
    }

    /// Bias bandwidths left and right.
    pub fn b(&self) -> [f64; 2] {
        self.estimate.b
    }

    /// Units left and right of the cutoff.
    pub fn n(&self) -> [usize; 2] {
        [self.design.left.len(), self.design.right.len()]
    }

    /// Units with positive kernel weight at h, left and right (rdrobust's "Eff. Number of Obs.").
    pub fn n_effective(&self) -> [usize; 2] {
        [self.estimate.left.n_h, self.estimate.right.n_h]
    }

    /// The conventional, bias-corrected and robust rows.
    pub fn rows(&self) -> [&Row; 3] {
        [&self.estimate.conventional, &self.estimate.bias_corrected, &self.estimate.robust]
    }

    /// `k` evenly spaced bins per side with their means (rdplot's binned scatter).
    pub fn bins(&self, k: usize) -> Vec<Bin> {
        plot::bins(&self.design, k.max(1))
    }

    /// The design the estimate was fitted on (complete cases only).
    pub fn design(&self) -> &Design {
        &self.design
    }

    /// The numbers as JSON: counts per side, every row, the bandwidths and the warnings.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(FitJson {
            y: &self.names[0],
            x: &self.names[1],
            n: self.n(),
            n_effective: self.n_effective(),
            unique: self.unique,
            dropped: self.dropped,
            estimate: &self.estimate,
            warnings: &self.warnings,
        })
        .unwrap_or_default()
    }

    fn title(&self) -> String {
        let kind = if !self.estimate.covariates.is_empty() { "Covariate-adjusted sharp" } else { "Sharp" };
        let kind = if self.estimate.first_stage.is_some() { "Fuzzy" } else { kind };
        format!("{kind} RD estimates using local polynomial regression.")
    }

    fn bw_type(&self) -> &'static str {
        self.estimate.bandwidths.as_ref().map_or("Manual", |b| b.selector.name())
    }

    /// The summary laid out as rdrobust prints it.
    pub fn to_text(&self) -> String {
        let e = &self.estimate;
        let mut s = format!("{}\n\n", self.title());
        let kv = |k: &str, v: String| format!("{k:<22}{v:>12}\n");
        let n = self.n();
        s += &kv("Number of Obs.", (n[0] + n[1]).to_string());
        s += &kv("BW type", self.bw_type().into());
        s += &kv("Kernel", capitalise(e.kernel.name()));
        s += &kv("VCE method", e.vce.split(' ').next().unwrap_or_default().to_uppercase());
        s += "\n";
        let lr = |k: &str, l: String, r: String| format!("{k:<22}{l:>12}{r:>12}\n");
        s += &lr(&format!("Cutoff c = {}", fmt(e.c, 3)), "Left of c".into(), "Right of c".into());
        s += &lr("Number of Obs.", n[0].to_string(), n[1].to_string());
        s += &lr("Eff. Number of Obs.", e.left.n_h.to_string(), e.right.n_h.to_string());
        s += &lr("Order est. (p)", e.p.to_string(), e.p.to_string());
        s += &lr("Order bias  (q)", e.q.to_string(), e.q.to_string());
        s += &lr("BW est. (h)", fmt(e.h[0], 3), fmt(e.h[1], 3));
        s += &lr("BW bias (b)", fmt(e.b[0], 3), fmt(e.b[1], 3));
        s += &lr("rho (h/b)", fmt(e.h[0] / e.b[0], 3), fmt(e.h[1] / e.b[1], 3));
        s += &lr("Unique Obs.", self.unique[0].to_string(), self.unique[1].to_string());
        let rule = "=".repeat(77) + "\n";
        s += "\n";
        s += &rule;
        s += &format!("{:>14}{:>10}{:>10}{:>10}{:>10}{:>22}\n", "Method", "Coef.", "Std. Err.", "z", "P>|z|", format!("[ {}% C.I. ]", fmt_level(e.level)));
        s += &rule;
        let row = |label: &str, r: &Row, point: bool| {
            let (coef, se) = if point { (fmt(r.estimate, 3), fmt(r.se, 3)) } else { ("-".into(), "-".into()) };
            let z = if r.z.is_finite() { fmt(r.z, 3) } else { "-".into() };
            let p = if r.p_value.is_finite() { fmt(r.p_value, 3) } else { "-".into() };
            format!("{label:>14}{coef:>10}{se:>10}{z:>10}{p:>10}{:>22}\n", format!("[{} , {}]", fmt(r.ci[0], 3), fmt(r.ci[1], 3)))
        };
        s += &row("Conventional", &e.conventional, true);
        s += &row("Robust", &e.robust, false);
        s += &rule;
        if let Some([fc, fr]) = &e.first_stage {
            s += "First stage (jump in take-up)\n";
            s += &row("Conventional", fc, true);
            s += &row("Robust", fr, false);
            s += &rule;
        }
        for c in &e.covariates {
            s += &format!("covariate {}: γ = {}\n", c.name, fmt(c.coefficient, 4));
        }
        for w in &self.warnings {
            s += &format!("note: {w}\n");
        }
        s.trim_end().to_string()
    }

    /// The summary as HTML tables: the sample by side, then every row with all its numbers.
    pub fn to_html(&self) -> String {
        let (e, n) = (&self.estimate, self.n());
        let mut h = format!("<p><b>{}</b> {} on {}, cutoff {}; {} kernel, bandwidths {}, VCE {}</p>", escape_html(&self.title()), escape_html(&self.names[0]), escape_html(&self.names[1]), e.c, e.kernel.name(), self.bw_type(), escape_html(&e.vce));
        let side = |v: [String; 2], k: &str| vec![k.to_string(), v[0].clone(), v[1].clone()];
        h += &html_table(
            &["", "left of c", "right of c"],
            &[
                side([n[0].to_string(), n[1].to_string()], "N"),
                side([e.left.n_h.to_string(), e.right.n_h.to_string()], "effective N"),
                side([e.p.to_string(), e.p.to_string()], "order p"),
                side([e.q.to_string(), e.q.to_string()], "order q"),
                side([fmt(e.h[0], 4), fmt(e.h[1], 4)], "h"),
                side([fmt(e.b[0], 4), fmt(e.b[1], 4)], "b"),
                side([self.unique[0].to_string(), self.unique[1].to_string()], "unique x"),
            ],
        );
        let mut rows: Vec<Vec<String>> = self.rows().iter().map(|r| html_row(r.method, r)).collect();
        if let Some(fs) = &e.first_stage {
            rows.extend(fs.iter().map(|r| html_row(&format!("first stage {}", r.method), r)));
        }
        let ci = format!("{}% CI", fmt_level(e.level));
        h += &html_table(&["method", "coef.", "std. err.", "z", "P>|z|", &ci], &rows);
        for w in &self.warnings {
            h += &format!("<p>note: {}</p>", escape_html(w));
        }
        h
    }

    /// evcxr's display protocol: rdrobust's text, the HTML tables and the JSON numbers in one display.
    pub fn evcxr_display(&self) {
        let json = self.to_json().to_string();
        evcxr_bundle(&[("text/plain", &self.to_text()), ("text/html", &self.to_html()), ("application/json", &json)]);
    }

    /// rdplot: bin means (20 evenly spaced bins per side) and the two local fits inside their
    /// bandwidths, the cutoff dashed and the estimate in the title, as a `plotly` figure.
    ///
    /// ```
    /// let fit = reprise_rdd::Rdrobust::from_frame(&reprise_rdd::senate(), "vote", "margin").unwrap().fit().unwrap();
    /// let json = fit.rdplot().to_json();
    /// assert!(json.contains("bin means (left)") && json.contains("local fit, p = 1 (right)"));
    /// ```
    pub fn rdplot(&self) -> plotly::Plot {
        self.rdplot_bins(20)
    }

    /// [`rdplot`](Self::rdplot) with `k` bins per side.
    pub fn rdplot_bins(&self, k: usize) -> plotly::Plot {
        let title = format!("RDD of {} at {} = {}", self.names[0], self.names[1], self.estimate.c);
        crate::figure::rdplot(&title, &self.names[1], &self.names[0], &self.design, &self.bins(k), &self.estimate)
    }
}

impl std::fmt::Debug for RdrobustFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = &self.estimate;
        f.debug_struct("RdrobustFit")
            .field("tau", &e.conventional.estimate)
            .field("se", &e.conventional.se)
            .field("robust_ci", &e.robust.ci)
            .field("h", &e.h)
            .field("b", &e.b)
            .field("n", &self.n())
            .field("n_effective", &self.n_effective())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for RdrobustFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

fn html_row(method: &str, r: &Row) -> Vec<String> {
    let opt = |v: f64| if v.is_finite() { fmt(v, 4) } else { "–".into() };
    vec![method.into(), fmt(r.estimate, 4), fmt(r.se, 4), opt(r.z), opt(r.p_value), format!("[{}, {}]", fmt(r.ci[0], 4), fmt(r.ci[1], 4))]
}

fn fmt(v: f64, digits: usize) -> String {
    format!("{v:.digits$}")
}

fn fmt_level(level: f64) -> String {
    if level.fract() == 0.0 { format!("{level:.0}") } else { level.to_string() }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_senate_summary_reads_as_rdrobust_prints_it() {
        let fit = Rdrobust::from_frame(&crate::senate(), "vote", "margin").unwrap().fit().unwrap();
        let text = fit.to_text();
        println!("{text}");
        for want in ["Sharp RD estimates", "Number of Obs.                1297", "BW type                      mserd", "VCE method                      NN", "Eff. Number of Obs.            360         323", "Eff. Number of Obs.", "Conventional     7.414     1.459", "[ 95% C.I. ]", "93 rows with a missing value"] {
            assert!(text.contains(want), "{want} missing from\n{text}");
        }
        let json = fit.to_json();
        assert_eq!(json["n"], serde_json::json!([595, 702]));
        assert_eq!(json["estimate"]["conventional"]["estimate"].as_f64(), Some(fit.tau()));
        assert!(fit.to_html().contains("<table>"));
    }

    #[test]
    fn bad_columns_and_options_are_named() {
        let e = Rdrobust::new(&[1.0, 2.0], &[0.5, -0.5, 1.0]).fit().unwrap_err().to_string();
        assert!(e.contains("y has 2 values but x has 3"), "{e}");
        let e = Rdrobust::new(&[1.0, 2.0, 3.0], &[-1.0, 0.5, f64::INFINITY]).fit().unwrap_err().to_string();
        assert!(e.contains("x, row 3: inf is not finite"), "{e}");
        let e = Rdrobust::new(&[1.0, 2.0], &[1.0, 2.0]).fit().unwrap_err().to_string();
        assert!(e.contains("no units left of (below) the cutoff 0"), "{e}");
        let senate = crate::senate();
        let e = Rdrobust::from_frame(&senate, "vote", "margin").unwrap().h(-2.0).fit().unwrap_err().to_string();
        assert!(e.contains("bandwidth h"), "{e}");
        assert!(Rdrobust::from_frame(&senate, "votes", "margin").unwrap_err().to_string().contains("votes"));
    }
}
