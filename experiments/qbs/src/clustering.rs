//! `qbs.clustering`: a Dirichlet-process mixture (CRP, α = 0.3) of 2-d Gaussians on a small data
//! set — SMC and resample-move SMC on the program with explicit cluster means, against the exact
//! posterior over partitions from enumerating the collapsed (conjugate) program.

use super::enumerate::{Dist, enumerate};
use super::{Prob, categorical, normal, normal_log_pdf};
use std::rc::Rc;

/// Nine hand-written points in three loose groups (two of them close), for a posterior that is
/// unsure between two and three clusters.
pub const DATA: [[f64; 2]; 9] = [[-2.0, -1.5], [-1.6, -1.9], [-2.3, -1.1], [2.1, 1.8], [1.7, 2.4], [2.5, 2.2], [0.3, 2.9], [-0.2, 3.3], [0.1, 2.6]];

/// The mixture: concentration, prior sd of each mean coordinate, noise sd.
#[derive(Debug, Clone, Copy)]
pub struct Mixture {
    pub alpha: f64,
    pub prior_sd: f64,
    pub noise: f64,
}

impl Mixture {
    /// CRP probabilities of the next point's table: existing tables ∝ their counts, a new one ∝ α.
    fn crp(&self, counts: &[usize]) -> Vec<f64> {
        let total = counts.iter().sum::<usize>() as f64 + self.alpha;
        counts.iter().map(|&c| c as f64 / total).chain([self.alpha / total]).collect()
    }

    /// The generative program: tables by CRP, each new table's mean ~ N(0, prior_sd² I), each point
    /// scored by N(y; mean, noise² I). Returns the partition as labels in order of first appearance.
    pub fn program(self, data: Rc<Vec<[f64; 2]>>) -> Prob<Vec<usize>> {
        Prob::new(move |h| {
            let (mut counts, mut means, mut z): (Vec<usize>, Vec<[f64; 2]>, Vec<usize>) = (vec![], vec![], vec![]);
            for y in data.iter() {
                let k = categorical(self.crp(&counts)).run(h);
                if k == counts.len() {
                    counts.push(0);
                    means.push([normal(0.0, self.prior_sd).run(h), normal(0.0, self.prior_sd).run(h)]);
                }
                counts[k] += 1;
                z.push(k);
                h.score(normal_log_pdf(y[0], means[k][0], self.noise) + normal_log_pdf(y[1], means[k][1], self.noise));
            }
            z
        })
    }

    /// The same model with the means integrated out: each point scored by its conjugate posterior
    /// predictive given its table's earlier points. Discrete, so it enumerates: the exact posterior.
    pub fn collapsed(self, data: Rc<Vec<[f64; 2]>>) -> Prob<Vec<usize>> {
        Prob::new(move |h| {
            let (mut counts, mut sums, mut z): (Vec<usize>, Vec<[f64; 2]>, Vec<usize>) = (vec![], vec![], vec![]);
            for y in data.iter() {
                let k = categorical(self.crp(&counts)).run(h);
                if k == counts.len() {
                    counts.push(0);
                    sums.push([0.0, 0.0]);
                }
                h.score((0..2).map(|d| self.predictive(y[d], counts[k], sums[k][d])).sum());
                counts[k] += 1;
                sums[k][0] += y[0];
                sums[k][1] += y[1];
                z.push(k);
            }
            z
        })
    }

    /// log N(y; posterior mean, noise² + posterior variance) of one coordinate after m points with
    /// sum s in the table.
    pub fn predictive(&self, y: f64, m: usize, s: f64) -> f64 {
        let precision = 1.0 / self.prior_sd.powi(2) + m as f64 / self.noise.powi(2);
        let mean = s / self.noise.powi(2) / precision;
        normal_log_pdf(y, mean, (self.noise.powi(2) + 1.0 / precision).sqrt())
    }

    /// The exact posterior over partitions (labels in order of first appearance) and the evidence.
    pub fn exact(self, data: Rc<Vec<[f64; 2]>>) -> Dist<Vec<usize>> {
        enumerate(&self.collapsed(data)).expect("the collapsed program is discrete")
    }
}

/// Number of clusters of a partition.
pub fn clusters(z: &[usize]) -> usize {
    z.iter().max().map_or(0, |m| m + 1)
}
