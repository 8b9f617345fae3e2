//! The kernels of local-polynomial RDD (triangular, Epanechnikov, uniform) with the constants of
//! the rule-of-thumb pilot bandwidth that rdbwselect starts from.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernel {
    Triangular,
    Epanechnikov,
    Uniform,
}

impl Kernel {
    pub const NAMES: [&'static str; 3] = ["triangular", "epanechnikov", "uniform"];

    pub fn parse(s: &str) -> Result<Kernel, String> {
        match s {
            "triangular" | "tri" => Ok(Kernel::Triangular),
            "epanechnikov" | "epa" => Ok(Kernel::Epanechnikov),
            "uniform" | "uni" => Ok(Kernel::Uniform),
            _ => Err(format!(
                "unknown kernel `{s}`; use one of {}",
                Kernel::NAMES.join(", ")
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Triangular => "triangular",
            Kernel::Epanechnikov => "epanechnikov",
            Kernel::Uniform => "uniform",
        }
    }

    /// K(u), zero outside [−1, 1].
    pub fn k(self, u: f64) -> f64 {
        let a = u.abs();
        if a > 1.0 {
            return 0.0;
        }
        match self {
            Kernel::Triangular => 1.0 - a,
            Kernel::Epanechnikov => 0.75 * (1.0 - a * a),
            Kernel::Uniform => 0.5,
        }
    }

    /// The weight K((x − c)/h)/h of a unit at distance `d` from the cutoff.
    pub fn weight(self, d: f64, h: f64) -> f64 {
        self.k(d / h) / h
    }

    /// C_K of the pilot bandwidth C_K · min(sd, IQR/1.349) · N^(−1/5).
    pub fn pilot_constant(self) -> f64 {
        match self {
            Kernel::Triangular => 2.576,
            Kernel::Epanechnikov => 2.34,
            Kernel::Uniform => 1.843,
        }
    }
}
