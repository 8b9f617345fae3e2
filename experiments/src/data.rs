//! The data sets Reprise ships, by name, as the experiments read them (the same bytes, compiled
//! in): for a notebook cell, `reprise_experiments::data::load("senate")?` is a [`Frame`].

use reprise_stats::frame::{DataError, Frame};

/// Every data set [`load`] knows, with where it comes from.
pub const SETS: [(&str, &str); 5] = [
    ("senate", "U.S. Senate elections shipped with rdrobust 2.1.1 (experiments/data/rdd/SOURCES.md)"),
    ("nsw", "the Dehejia–Wahba NSW subsample, `causaldata`'s nsw_mixtape (experiments/data/causal/SOURCES.md)"),
    ("cps", "the CPS-1 comparison group, `causaldata`'s cps_mixtape (experiments/data/causal/SOURCES.md)"),
    ("r3d_sharp_20", "the sharp test input of the R3D package (D. Van Dijcke; experiments/data/rdd/SOURCES.md)"),
    ("gs2011", "Grefenstette & Sadrzadeh 2011 verb disambiguation ratings (experiments/data/discocat/SOURCES.md)"),
];

/// The bytes of data set `name` (see [`SETS`]).
pub fn bytes(name: &str) -> Result<&'static [u8], DataError> {
    Ok(match name {
        "senate" => reprise_rdd::scalar::SENATE_CSV,
        "nsw" => reprise_causal::lalonde::NSW_CSV,
        "cps" => reprise_causal::lalonde::CPS_CSV,
        "r3d_sharp_20" => reprise_rdd::r3d::experiment::SHARP_20_CSV,
        "gs2011" => reprise_discocat::datasets::GS2011,
        other => {
            return Err(DataError::Csv(format!(
                "no data set `{other}`; Reprise ships: {}",
                SETS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )));
        }
    })
}

/// Data set `name` as a table of named columns (GS2011's space-separated text included).
///
/// ```
/// let senate = reprise_experiments::data::load("senate").unwrap();
/// assert_eq!(senate.rows(), 1390);
/// let margin = senate.numeric_or_missing("margin").unwrap();
/// assert_eq!(margin.len(), 1390);
/// assert!(reprise_experiments::data::load("nope").unwrap_err().to_string().contains("Reprise ships: senate"));
/// ```
pub fn load(name: &str) -> Result<Frame, DataError> {
    let b = bytes(name)?;
    if name == "gs2011" {
        let text: String = String::from_utf8_lossy(b).lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(",") + "\n").collect();
        return Frame::from_csv(text.as_bytes());
    }
    Frame::from_csv(b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_set_loads_with_its_columns() {
        for (name, _) in super::SETS {
            let f = super::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(f.rows() > 10 && f.names().len() >= 3, "{name}");
        }
        let gs = super::load("gs2011").unwrap();
        assert_eq!(gs.names()[..3], ["participant", "verb", "subject"]);
        assert!(super::load("nsw").unwrap().numeric("re78").is_ok());
    }
}
