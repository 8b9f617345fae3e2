//! A small typed data frame read from CSV, and the checked (outcome, treatment, covariates) view
//! the estimators take. Every violation names its column and row.

use ndarray::{Array1, Array2};
use std::fmt;

/// Why data could not become a causal sample.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    #[error("{0}")]
    Csv(String),
    #[error("column `{0}` is not in the data (columns: {1})")]
    NoColumn(String, String),
    #[error("column `{column}`, row {row}: `{value}` is not a number")]
    NotNumber { column: String, row: usize, value: String },
    #[error("column `{column}`, row {row} is missing (empty or NA): drop or impute the row, or read the column with `numeric_or_missing`")]
    Missing { column: String, row: usize },
    #[error("column `{column}`, row {row}: {value} is not finite; remove or impute the row first")]
    NotFinite { column: String, row: usize, value: f64 },
    #[error("treatment column `{column}`, row {row}: {value} is not 0 or 1 (treatment must be binary)")]
    NotBinary { column: String, row: usize, value: f64 },
    #[error("the {0} arm is empty: every row has treatment {1}; an effect needs both arms")]
    EmptyArm(&'static str, u8),
    #[error("the data have no rows")]
    Empty,
}

/// A CSV reader's error as a sentence naming the line ("line 3 has 1 field, the header has 2").
fn csv_in_words(e: csv::Error) -> DataError {
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    let line = |p: Option<&csv::Position>| p.map_or_else(String::new, |p| format!("line {}", p.line()));
    DataError::Csv(match e.kind() {
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => format!(
            "{} has {len} field{}, the header has {expected_len}: every row needs one value per column (quote values that contain commas)",
            line(pos.as_ref()),
            plural(*len)
        ),
        csv::ErrorKind::Utf8 { pos, err } => {
            format!("{} is not UTF-8 text (field {}): save the file as UTF-8 CSV", line(pos.as_ref()), err.field() + 1)
        }
        csv::ErrorKind::Io(io) => format!("cannot read the CSV: {io}"),
        _ => format!("not a readable CSV: {e}"),
    })
}

/// Named columns of text cells, parsed to numbers on request. In a notebook it shows as the head
/// of a table.
///
/// ```
/// use reprise_stats::frame::Frame;
/// let f = Frame::from_csv(b"x,y\n1,2.5\n3,NA\n").unwrap();
/// assert_eq!(f.numeric("x").unwrap().to_vec(), vec![1.0, 3.0]);
/// assert_eq!(f.numeric_or_missing("y").unwrap(), vec![Some(2.5), None]);
/// assert!(f.numeric("y").unwrap_err().to_string().contains("column `y`, row 2 is missing"));
/// assert!(f.head_html(5).starts_with("<table>"));
/// ```
#[derive(Debug, Clone)]
pub struct Frame {
    names: Vec<String>,
    cells: Vec<Vec<String>>,
}

impl Frame {
    /// Reads a CSV with a header row.
    pub fn from_csv(bytes: &[u8]) -> Result<Frame, DataError> {
        let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
        let names: Vec<String> = rdr.headers().map_err(csv_in_words)?.iter().map(str::to_string).collect();
        let mut cells = vec![Vec::new(); names.len()];
        for rec in rdr.records() {
            let rec = rec.map_err(csv_in_words)?;
            for (col, v) in cells.iter_mut().zip(rec.iter()) {
                col.push(v.trim().to_string());
            }
        }
        Ok(Frame { names, cells })
    }

    pub fn rows(&self) -> usize {
        self.cells.first().map_or(0, Vec::len)
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Column `name` as text cells.
    pub fn text(&self, name: &str) -> Result<&[String], DataError> {
        self.column(name)
    }

    fn column(&self, name: &str) -> Result<&[String], DataError> {
        let j = self.names.iter().position(|n| n == name).ok_or_else(|| DataError::NoColumn(name.into(), self.names.join(", ")))?;
        Ok(&self.cells[j])
    }

    /// Column `name` as finite numbers; rows are numbered from 1 as in a spreadsheet (the first
    /// row after the header is row 1). An empty or `NA` cell is a [`DataError::Missing`].
    pub fn numeric(&self, name: &str) -> Result<Array1<f64>, DataError> {
        self.column(name)?
            .iter()
            .enumerate()
            .map(|(i, s)| match s.as_str() {
                "" | "NA" => Err(DataError::Missing { column: name.into(), row: i + 1 }),
                _ => parse_finite(name, i, s),
            })
            .collect()
    }

    /// The first `n` rows as an aligned text table, with the shape below it.
    pub fn head_text(&self, n: usize) -> String {
        let shown = n.min(self.rows());
        let widths: Vec<usize> = self
            .names
            .iter()
            .zip(&self.cells)
            .map(|(h, col)| col[..shown].iter().map(|c| c.chars().count()).chain([h.chars().count()]).max().unwrap_or(0))
            .collect();
        let line = |cells: Vec<&str>| cells.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string() + "\n";
        let mut out = line(self.names.iter().map(String::as_str).collect());
        for r in 0..shown {
            out += &line(self.cells.iter().map(|c| c[r].as_str()).collect());
        }
        out + &self.shape()
    }

    /// The first `n` rows as an HTML table, with the shape below it.
    pub fn head_html(&self, n: usize) -> String {
        let header: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = (0..n.min(self.rows())).map(|r| self.cells.iter().map(|c| c[r].clone()).collect()).collect();
        crate::display::html_table(&header, &rows) + &format!("<p>{}</p>", crate::display::escape_html(&self.shape()))
    }

    fn shape(&self) -> String {
        format!("{} rows × {} columns", self.rows(), self.names.len())
    }

    /// evcxr's display protocol: the head of the table as HTML and as text.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_bundle(&[("text/html", &self.head_html(10)), ("text/plain", &self.head_text(10))]);
    }

    /// Column `name` as numbers with an empty or `NA` cell as NaN, as R reads a numeric column:
    /// what the estimators take, dropping the rows with a missing value as R's packages do.
    ///
    /// ```
    /// let f = reprise_stats::frame::Frame::from_csv(b"y\n1\nNA\n").unwrap();
    /// let y = f.with_missing("y").unwrap();
    /// assert_eq!(y[0], 1.0);
    /// assert!(y[1].is_nan());
    /// ```
    pub fn with_missing(&self, name: &str) -> Result<Array1<f64>, DataError> {
        Ok(self.numeric_or_missing(name)?.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }

    /// Column `name` with empty and `NA` cells as missing; anything else must be a finite number.
    pub fn numeric_or_missing(&self, name: &str) -> Result<Vec<Option<f64>>, DataError> {
        self.column(name)?
            .iter()
            .enumerate()
            .map(|(i, s)| match s.as_str() {
                "" | "NA" => Ok(None),
                _ => parse_finite(name, i, s).map(Some),
            })
            .collect()
    }
}

fn parse_finite(name: &str, i: usize, s: &str) -> Result<f64, DataError> {
    let v: f64 = s.parse().map_err(|_| DataError::NotNumber { column: name.into(), row: i + 1, value: s.into() })?;
    if v.is_finite() { Ok(v) } else { Err(DataError::NotFinite { column: name.into(), row: i + 1, value: v }) }
}

/// A checked sample: outcome `y`, binary treatment `z`, covariates `x` (no intercept column).
#[derive(Debug, Clone)]
pub struct Sample {
    pub y: Array1<f64>,
    pub z: Array1<f64>,
    pub x: Array2<f64>,
    pub names: Vec<String>,
}

impl Sample {
    /// Checks and assembles a sample: outcome and covariates finite, treatment 0/1, both arms present.
    pub fn new(y: Array1<f64>, z: Array1<f64>, x: Array2<f64>, names: Vec<String>) -> Result<Sample, DataError> {
        let n = y.len();
        if n == 0 {
            return Err(DataError::Empty);
        }
        assert!(z.len() == n && x.nrows() == n && x.ncols() == names.len(), "sample parts disagree in shape");
        for (i, v) in y.iter().enumerate() {
            if !v.is_finite() {
                return Err(DataError::NotFinite { column: "outcome".into(), row: i + 1, value: *v });
            }
        }
        for (i, v) in z.iter().enumerate() {
            if *v != 0.0 && *v != 1.0 {
                return Err(DataError::NotBinary { column: "treatment".into(), row: i + 1, value: *v });
            }
        }
        for (j, name) in names.iter().enumerate() {
            if let Some(i) = x.column(j).iter().position(|v| !v.is_finite()) {
                return Err(DataError::NotFinite { column: name.clone(), row: i + 1, value: x[[i, j]] });
            }
        }
        let n1 = z.sum() as usize;
        if n1 == 0 {
            return Err(DataError::EmptyArm("treated", 0));
        }
        if n1 == n {
            return Err(DataError::EmptyArm("control", 1));
        }
        Ok(Sample { y, z, x, names })
    }

    /// Reads `outcome`, `treatment` and `covariates` from a frame, naming the frame's columns in errors.
    pub fn from_frame(f: &Frame, outcome: &str, treatment: &str, covariates: &[&str]) -> Result<Sample, DataError> {
        let y = f.numeric(outcome)?;
        let z = f.numeric(treatment)?;
        if let Some(i) = z.iter().position(|v| *v != 0.0 && *v != 1.0) {
            return Err(DataError::NotBinary { column: treatment.into(), row: i + 1, value: z[i] });
        }
        let mut x = Array2::zeros((f.rows(), covariates.len()));
        for (j, c) in covariates.iter().enumerate() {
            x.column_mut(j).assign(&f.numeric(c)?);
        }
        Sample::new(y, z, x, covariates.iter().map(|s| s.to_string()).collect())
    }

    pub fn n(&self) -> usize {
        self.y.len()
    }

    pub fn n1(&self) -> usize {
        self.z.iter().filter(|v| **v == 1.0).count()
    }

    /// Rows of arm `arm` (0 or 1), in order.
    pub fn arm_rows(&self, arm: u8) -> Vec<usize> {
        (0..self.n()).filter(|&i| self.z[i] == f64::from(arm)).collect()
    }

    /// Covariate means by arm with the standardised mean difference (pooled sd), one row each.
    pub fn balance(&self) -> Vec<(String, f64, f64, f64)> {
        let rows = |a: u8| self.arm_rows(a);
        let (t, c) = (rows(1), rows(0));
        self.names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let col = self.x.column(j);
                let arm = |r: &[usize]| {
                    let v: Array1<f64> = r.iter().map(|&i| col[i]).collect();
                    crate::linalg::mean_sd(v.view())
                };
                let ((m1, s1), (m0, s0)) = (arm(&t), arm(&c));
                let pooled = ((s1 * s1 + s0 * s0) / 2.0).sqrt();
                (name.clone(), m1, m0, if pooled > 0.0 { (m1 - m0) / pooled } else { 0.0 })
            })
            .collect()
    }

    /// The sample's size and arms as a sentence.
    pub fn describe(&self) -> String {
        format!("sample of {} rows: {} treated, {} control; {} covariates", self.n(), self.n1(), self.n() - self.n1(), self.names.len())
    }

    /// evcxr's display protocol: the size, then covariate means by arm (HTML and text).
    pub fn evcxr_display(&self) {
        let rows: Vec<Vec<String>> = self.balance().into_iter().map(|(n, m1, m0, d)| vec![n, format!("{m1:.4}"), format!("{m0:.4}"), format!("{d:.3}")]).collect();
        let header = ["covariate", "mean, treated", "mean, control", "std. mean diff."];
        let html = format!("<p>{}</p>", crate::display::escape_html(&self.describe())) + &crate::display::html_table(&header, &rows);
        let mut text = self.describe() + "\n";
        text += &format!("{:<16}{:>16}{:>16}{:>18}\n", header[0], header[1], header[2], header[3]);
        for r in &rows {
            text += &format!("{:<16}{:>16}{:>16}{:>18}\n", r[0], r[1], r[2], r[3]);
        }
        crate::display::evcxr_bundle(&[("text/plain", text.trim_end()), ("text/html", &html)]);
    }

    /// Covariates with a leading column of ones.
    pub fn design(&self) -> Array2<f64> {
        with_intercept(&self.x)
    }

    /// Covariates that take one value within an arm (they make that arm's outcome regression singular).
    pub fn constant_within_arm(&self) -> Vec<(String, u8)> {
        let mut out = Vec::new();
        for arm in [1u8, 0] {
            let rows = self.arm_rows(arm);
            for (j, name) in self.names.iter().enumerate() {
                let first = self.x[[rows[0], j]];
                if rows.iter().all(|&i| self.x[[i, j]] == first) {
                    out.push((name.clone(), arm));
                }
            }
        }
        out
    }
}

/// `x` with a leading column of ones.
pub fn with_intercept(x: &Array2<f64>) -> Array2<f64> {
    let mut d = Array2::ones((x.nrows(), x.ncols() + 1));
    d.slice_mut(ndarray::s![.., 1..]).assign(x);
    d
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rows ({} treated, {} control), covariates {}", self.n(), self.n1(), self.n() - self.n1(), self.names.join(", "))
    }
}
