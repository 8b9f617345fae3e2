//! One side of the cutoff, sorted by distance to it: every bandwidth window is a prefix, tie
//! groups are contiguous, and nearest-neighbour residuals search outwards from a unit's group.

use super::RddError;

/// The units on one side of the cutoff, nearest first (ties keep their input order).
#[derive(Debug, Clone)]
pub struct Side {
    pub label: &'static str,
    /// The running variable.
    pub x: Vec<f64>,
    /// x − c (negative on the left).
    pub r: Vec<f64>,
    /// |x − c|, ascending.
    pub d: Vec<f64>,
    pub y: Vec<f64>,
    /// Treatment take-up (fuzzy designs).
    pub t: Option<Vec<f64>>,
    /// Covariate columns (empty without covariates).
    pub z: Vec<Vec<f64>>,
    /// `[grp_lo[i], grp_hi[i])` are the units tied with unit i in x.
    grp_lo: Vec<usize>,
    grp_hi: Vec<usize>,
}

impl Side {
    /// `z` holds each unit's covariate row (or is empty).
    pub fn new(label: &'static str, c: f64, units: Vec<(f64, f64, Option<f64>)>, z: Vec<Vec<f64>>) -> Side {
        let dist: Vec<f64> = units.iter().map(|u| (u.0 - c).abs()).collect();
        let mut order: Vec<usize> = (0..units.len()).collect();
        order.sort_unstable_by(|&a, &b| dist[a].total_cmp(&dist[b]).then(a.cmp(&b)));
        let dz = z.first().map_or(0, Vec::len);
        let z = (0..dz).map(|j| order.iter().map(|&i| z[i][j]).collect()).collect();
        let units: Vec<(f64, f64, Option<f64>)> = order.iter().map(|&i| units[i]).collect();
        let n = units.len();
        let x: Vec<f64> = units.iter().map(|u| u.0).collect();
        let r: Vec<f64> = x.iter().map(|v| v - c).collect();
        let d: Vec<f64> = r.iter().map(|v| v.abs()).collect();
        let y = units.iter().map(|u| u.1).collect();
        let t = units
            .first()
            .and_then(|u| u.2)
            .map(|_| units.iter().map(|u| u.2.unwrap_or(f64::NAN)).collect());
        let (mut grp_lo, mut grp_hi) = (vec![0; n], vec![0; n]);
        let mut a = 0;
        while a < n {
            let mut b = a + 1;
            while b < n && x[b] == x[a] {
                b += 1;
            }
            for i in a..b {
                grp_lo[i] = a;
                grp_hi[i] = b;
            }
            a = b;
        }
        Side {
            label,
            x,
            r,
            d,
            y,
            t,
            z,
            grp_lo,
            grp_hi,
        }
    }

    pub fn len(&self) -> usize {
        self.x.len()
    }

    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Number of distinct x values among the first `n` units.
    pub fn distinct(&self, n: usize) -> usize {
        let mut k = 0;
        let mut i = 0;
        while i < n {
            k += 1;
            i = self.grp_hi[i];
        }
        k
    }

    /// The first `n` values of each column a fit combines: y, take-up (fuzzy), covariates.
    pub fn columns(&self, n: usize) -> Vec<&[f64]> {
        std::iter::once(&self.y[..n])
            .chain(self.t.as_deref().map(|t| &t[..n]))
            .chain(self.z.iter().map(|z| &z[..n]))
            .collect()
    }

    /// How many of those columns are outcomes (y, and take-up in fuzzy designs) rather than covariates.
    pub fn outcomes(&self) -> usize {
        1 + usize::from(self.t.is_some())
    }

    /// Units with |x − c| ≤ h.
    pub fn within(&self, h: f64) -> usize {
        self.d.partition_point(|&d| d <= h)
    }

    /// Units with a positive weight under `kernel` at bandwidth h.
    pub fn weighted(&self, kernel: super::Kernel, h: f64) -> usize {
        self.d.partition_point(|&d| kernel.weight(d, h) > 0.0)
    }

    /// Distance of the `k`-th nearest distinct x value (the farthest one if there are fewer).
    pub fn kth_distinct_distance(&self, k: usize) -> f64 {
        let mut i = 0;
        let mut seen = 0;
        let mut last = 0.0;
        while i < self.len() && seen < k {
            last = self.d[i];
            seen += 1;
            i = self.grp_hi[i];
        }
        last
    }

    /// Nearest-neighbour residuals of `v` within the first `n` units: unit i is compared with the
    /// mean of its J ≥ `matches` nearest neighbours in x (whole tie groups, both sides of a
    /// distance tie), scaled by sqrt(J/(J+1)).
    pub fn nn_residuals(&self, n: usize, v: &[f64], matches: usize) -> Vec<f64> {
        let want = matches.min(n.saturating_sub(1));
        let mut out = Vec::with_capacity(n);
        let mut i = 0;
        while i < n {
            let (a, b) = (self.grp_lo[i], self.grp_hi[i].min(n));
            let (mut lo, mut hi) = (a, b);
            while hi - lo - 1 < want {
                let dl = if lo > 0 {
                    (self.x[i] - self.x[lo - 1]).abs()
                } else {
                    f64::INFINITY
                };
                let dr = if hi < n {
                    (self.x[hi] - self.x[i]).abs()
                } else {
                    f64::INFINITY
                };
                if dl <= dr && lo > 0 {
                    lo = self.grp_lo[lo - 1];
                }
                if dr <= dl && hi < n {
                    hi = self.grp_hi[hi].min(n);
                }
            }
            let total: f64 = v[lo..hi].iter().sum();
            let j = (hi - lo - 1) as f64;
            out.extend(
                v[a..b]
                    .iter()
                    .map(|vk| (j / (j + 1.0)).sqrt() * (vk - (total - vk) / j)),
            );
            i = b;
        }
        out
    }
}

/// Both sides of the cutoff, from raw columns (row numbers in errors count from 1).
#[derive(Debug, Clone)]
pub struct Design {
    pub c: f64,
    pub left: Side,
    pub right: Side,
    /// Every x, in input order (for the pilot bandwidth's spread).
    pub x_all: Vec<f64>,
    /// The covariates' names, in column order.
    pub covariate_names: Vec<String>,
}

impl Design {
    pub fn new(x: &[f64], y: &[f64], t: Option<&[f64]>, c: f64) -> Result<Design, RddError> {
        Design::with_covariates(x, y, t, &[], c)
    }

    /// A design with covariate columns `z` (each one value per unit), named in `z` for errors.
    pub fn with_covariates(x: &[f64], y: &[f64], t: Option<&[f64]>, z: &[(&str, &[f64])], c: f64) -> Result<Design, RddError> {
        if let Some((name, col)) = z.iter().find(|(_, col)| col.len() != x.len()) {
            return Err(RddError::Option(format!("covariate `{name}` has {} values but x has {}; give one value per unit", col.len(), x.len())));
        }
        if x.len() != y.len() {
            return Err(RddError::Lengths {
                what: "y",
                len: y.len(),
                x_len: x.len(),
            });
        }
        if let Some(t) = t.filter(|t| t.len() != x.len()) {
            return Err(RddError::Lengths {
                what: "treatment",
                len: t.len(),
                x_len: x.len(),
            });
        }
        if !c.is_finite() {
            return Err(RddError::NotFinite {
                column: "cutoff",
                row: 0,
                value: c,
            });
        }
        let (mut l, mut r) = (Vec::new(), Vec::new());
        let (mut zl, mut zr) = (Vec::new(), Vec::new());
        for i in 0..x.len() {
            let zi: Vec<f64> = z.iter().map(|(_, col)| col[i]).collect();
            if let Some(((name, _), v)) = z.iter().zip(&zi).find(|(_, v)| !v.is_finite()) {
                return Err(RddError::Option(format!("covariate `{name}`, row {}: {v} is not finite; drop or impute the row first", i + 1)));
            }
            let ti = t.map(|t| t[i]);
            for (column, v) in [("x", x[i]), ("y", y[i]), ("treatment", ti.unwrap_or(0.0))] {
                if !v.is_finite() {
                    return Err(RddError::NotFinite {
                        column,
                        row: i + 1,
                        value: v,
                    });
                }
            }
            if x[i] < c {
                l.push((x[i], y[i], ti));
                zl.push(zi);
            } else {
                r.push((x[i], y[i], ti));
                zr.push(zi);
            }
        }
        for (side, v) in [("left of (below)", &l), ("right of (at or above)", &r)] {
            if v.is_empty() {
                return Err(RddError::EmptySide {
                    side,
                    c,
                    n: x.len(),
                });
            }
        }
        Ok(Design {
            c,
            left: Side::new("left", c, l, zl),
            right: Side::new("right", c, r, zr),
            x_all: x.to_vec(),
            covariate_names: z.iter().map(|(n, _)| n.to_string()).collect(),
        })
    }

    /// The same design with x and c divided by `sx` (rdrobust selects bandwidths on x/sd(x):
    /// the plug-in is not scale-equivariant when q > p + 1).
    pub fn scaled(&self, sx: f64) -> Design {
        let side = |s: &Side| Side {
            x: s.x.iter().map(|v| v / sx).collect(),
            r: s.r.iter().map(|v| v / sx).collect(),
            d: s.d.iter().map(|v| v / sx).collect(),
            ..s.clone()
        };
        Design {
            c: self.c / sx,
            left: side(&self.left),
            right: side(&self.right),
            x_all: self.x_all.iter().map(|v| v / sx).collect(),
            covariate_names: self.covariate_names.clone(),
        }
    }

    /// Number of covariate columns.
    pub fn covariates(&self) -> usize {
        self.left.z.len()
    }

    pub fn n(&self) -> usize {
        self.left.len() + self.right.len()
    }

    pub fn sides(&self) -> [&Side; 2] {
        [&self.left, &self.right]
    }

    pub fn fuzzy(&self) -> bool {
        self.left.t.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nn_residuals_take_whole_tie_groups() {
        // x: 1, 2, 2, 3, 5 on the right of c = 0; unit 0's 3 nearest are {2, 2, 3}.
        let s = Side::new(
            "right",
            0.0,
            vec![
                (1.0, 1.0, None),
                (2.0, 2.0, None),
                (2.0, 4.0, None),
                (3.0, 3.0, None),
                (5.0, 10.0, None),
            ],
            vec![],
        );
        let e = s.nn_residuals(5, &s.y, 3);
        assert!((e[0] - (0.75f64).sqrt() * (1.0 - 3.0)).abs() < 1e-15);
        // Unit 1 (x = 2): its tie (4) plus 1 and 3 at equal distance → J = 3.
        assert!((e[1] - (0.75f64).sqrt() * (2.0 - 8.0 / 3.0)).abs() < 1e-15);
        // Unit 4 (x = 5): nearest 3, then the tie group at 2 (both) → J = 3.
        assert!((e[4] - (0.75f64).sqrt() * (10.0 - 3.0)).abs() < 1e-15);
        assert_eq!(s.distinct(5), 4);
        assert_eq!(s.kth_distinct_distance(2), 2.0);
    }
}
