//! Sweeps: seeds × grid points of one experiment, planned into run specs and stored as a manifest
//! object (its digest is the sweep hash), run by an executor, and aggregated from the stored
//! records in the manifest's order. Executors decide where cells run, never what they produce.

use crate::error::RunnerError;
use crate::provenance;
use crate::record::RunRecord;
use crate::run::Runner;
use crate::spec::RunSpec;
use reprise_core::{Experiment, Params, SweepCell};
use reprise_store::{Digest, RefExpect, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SWEEP_SCHEMA: &str = "reprise.sweep/1";
pub const AGGREGATE_SCHEMA: &str = "reprise.sweep-aggregate/1";

/// One cell: a grid point and a seed, and the spec they make.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub point: BTreeMap<String, String>,
    pub seed: u64,
    pub spec: String,
}

/// The stored manifest of a sweep. Cells run grid point by grid point (keys sorted, values in
/// the order given), seeds in the order given; a cell's seed is its own, never its position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepManifest {
    pub schema: String,
    pub experiment: String,
    /// Params every cell shares, as given (`name=value`).
    pub params: Vec<String>,
    pub grid: BTreeMap<String, Vec<String>>,
    pub seeds: Vec<u64>,
    pub cells: Vec<Cell>,
}

impl SweepManifest {
    pub fn parse(bytes: &[u8]) -> Result<SweepManifest, RunnerError> {
        let m: SweepManifest = serde_json::from_slice(bytes).map_err(|e| RunnerError::Malformed { what: "sweep manifest", why: e.to_string() })?;
        if m.schema != SWEEP_SCHEMA {
            return Err(RunnerError::Malformed { what: "sweep manifest", why: format!("schema `{}`, this build reads `{SWEEP_SCHEMA}`", m.schema) });
        }
        Ok(m)
    }

    pub fn spec_digests(&self) -> Vec<Digest> {
        self.cells.iter().filter_map(|c| Digest::parse(&c.spec)).collect()
    }
}

/// `0..16` (end excluded), `0..=15`, or `1,5,9`: the seeds of a sweep.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, RunnerError> {
    let bad = || RunnerError::User(format!("`--seeds {s}` is not a seed list: write 0..16 (16 seeds), 0..=15, or 1,5,9"));
    let num = |t: &str| t.trim().parse::<u64>().map_err(|_| bad());
    let seeds: Vec<u64> = if let Some((a, b)) = s.split_once("..=") {
        (num(a)?..=num(b)?).collect()
    } else if let Some((a, b)) = s.split_once("..") {
        (num(a)?..num(b)?).collect()
    } else {
        s.split(',').map(num).collect::<Result<_, _>>()?
    };
    if seeds.is_empty() {
        return Err(bad());
    }
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != seeds.len() {
        return Err(RunnerError::User(format!("`--seeds {s}` names a seed twice")));
    }
    Ok(seeds)
}

/// `name=v1,v2,…` (repeatable): the grid's axes.
pub fn parse_grid(axes: &[String]) -> Result<BTreeMap<String, Vec<String>>, RunnerError> {
    let mut grid = BTreeMap::new();
    for a in axes {
        let (k, vs) = a.split_once('=').ok_or_else(|| RunnerError::User(format!("`--grid {a}` is not of the form name=v1,v2")))?;
        let values: Vec<String> = vs.split(',').map(|v| v.trim().to_string()).collect();
        if k.is_empty() || values.iter().any(String::is_empty) {
            return Err(RunnerError::User(format!("`--grid {a}` has an empty name or value")));
        }
        if grid.insert(k.to_string(), values).is_some() {
            return Err(RunnerError::User(format!("`--grid` names `{k}` twice")));
        }
    }
    Ok(grid)
}

/// Every grid point: the cartesian product, keys sorted, each axis in its given order.
fn points(grid: &BTreeMap<String, Vec<String>>) -> Vec<BTreeMap<String, String>> {
    let mut out = vec![BTreeMap::new()];
    for (k, vs) in grid {
        out = out.into_iter().flat_map(|p| vs.iter().map(move |v| {
            let mut q = p.clone();
            q.insert(k.clone(), v.clone());
            q
        })).collect();
    }
    out
}

/// Plans a sweep on the current code: one spec per (grid point, seed), each stored; then the
/// manifest, stored and named by `sweeps/<digest>`. Returns (sweep hash, manifest).
pub fn plan(runner: &Runner, exp: &dyn Experiment, params: &[String], grid: &BTreeMap<String, Vec<String>>, seeds: &[u64]) -> Result<(Digest, SweepManifest), RunnerError> {
    if !exp.inputs().is_empty() {
        return Err(RunnerError::User(format!("{} reads input files; sweeps take experiments without inputs for now", exp.name())));
    }
    for k in grid.keys() {
        if params.iter().any(|p| p.split_once('=').map(|(n, _)| n) == Some(k.as_str())) {
            return Err(RunnerError::User(format!("`{k}` is both a --param and a --grid axis; give it once")));
        }
    }
    let code = provenance::capture(&runner.env.repo)?;
    let mut cells = Vec::new();
    for point in points(grid) {
        let mut args = params.to_vec();
        args.extend(point.iter().map(|(k, v)| format!("{k}={v}")));
        let values = Params::from_args(&exp.params(), &args).map_err(|e| RunnerError::User(format!("{}: {e}", exp.name())))?;
        for &seed in seeds {
            let spec = runner.spec_for(exp, values.clone(), seed, BTreeMap::new(), &code)?;
            let d = runner.store.put_bytes(&spec.canonical()?)?;
            cells.push(Cell { point: point.clone(), seed, spec: d.hex() });
        }
    }
    let m = SweepManifest { schema: SWEEP_SCHEMA.into(), experiment: exp.name().into(), params: params.to_vec(), grid: grid.clone(), seeds: seeds.to_vec(), cells };
    let d = runner.store.put_bytes(&reprise_core::canon::to_vec(&m)?)?;
    match runner.store.update_ref(&format!("sweeps/{d}"), RefExpect::Absent, Some(d)) {
        Ok(()) | Err(reprise_store::StoreError::RefConflict { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    Ok((d, m))
}

/// Reads a stored sweep manifest, if `d` is one.
pub fn load(store: &Store, d: &Digest) -> Result<Option<SweepManifest>, RunnerError> {
    let bytes = store.read_verified(d)?;
    let is_sweep = crate::gcroots::schema_of(&bytes).is_some_and(|s| s == SWEEP_SCHEMA);
    if is_sweep { SweepManifest::parse(&bytes).map(Some) } else { Ok(None) }
}

/// The record of each cell, where it has run (the memo of its spec).
pub fn records(runner: &Runner, m: &SweepManifest) -> Result<Vec<Option<Digest>>, RunnerError> {
    m.spec_digests().iter().map(|s| Ok(runner.memo(s)?.map(|(d, _)| d))).collect()
}

/// Mean, standard deviation (n − 1), min and max of one summary field over a grid point's seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldStats {
    pub n: usize,
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
    pub max: f64,
}

/// One grid point's cells, and the statistics of every numeric top-level field of their
/// `summary.json` (fields every cell has).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub point: BTreeMap<String, String>,
    pub records: Vec<String>,
    pub fields: BTreeMap<String, FieldStats>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    pub schema: String,
    pub sweep: String,
    pub experiment: String,
    pub groups: Vec<Group>,
    /// The experiment's own tables over the cells (`Experiment::aggregate`): name → digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<String, String>,
}

fn stats(xs: &[f64]) -> FieldStats {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let sd = if n > 1 { (xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64).sqrt() } else { 0.0 };
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    FieldStats { n, mean, sd, min, max }
}

/// The sweep's aggregate, from the stored records in manifest order (sums run in seed order, so
/// the bytes never depend on which executor ran the cells or when), with the experiment's own
/// tables when it makes some. Needs every cell recorded.
pub fn aggregate(runner: &Runner, exp: &dyn Experiment, sweep: &Digest, m: &SweepManifest) -> Result<(Digest, Aggregate), RunnerError> {
    let recs = records(runner, m)?;
    let missing = recs.iter().filter(|r| r.is_none()).count();
    if missing > 0 {
        return Err(RunnerError::User(format!("sweep {} has {missing} cell(s) not run yet; run the sweep again to finish them", sweep.short(12))));
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut values: Vec<BTreeMap<String, Vec<f64>>> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut cells: Vec<SweepCell> = Vec::with_capacity(m.cells.len());
    for (cell, rec) in m.cells.iter().zip(recs) {
        let rec = rec.expect("checked");
        if groups.last().map(|g| &g.point) != Some(&cell.point) {
            groups.push(Group { point: cell.point.clone(), records: vec![], fields: BTreeMap::new() });
            values.push(BTreeMap::new());
            counts.push(0);
        }
        let g = groups.last_mut().unwrap();
        g.records.push(rec.hex());
        *counts.last_mut().unwrap() += 1;
        let record = RunRecord::parse(&runner.store.read_verified(&rec)?)?;
        let spec = RunSpec::parse(&runner.store.read_verified(&record.spec_digest()?)?)?;
        let mut outputs = BTreeMap::new();
        for (name, o) in &record.outputs {
            outputs.insert(name.clone(), runner.store.read_verified(&o.digest()?)?);
        }
        cells.push(SweepCell { params: spec.params.clone(), seed: spec.seed.0, outputs });
        let Some(summary) = cells.last().unwrap().outputs.get("summary.json") else { continue };
        let v: serde_json::Value = serde_json::from_slice(summary).map_err(|e| RunnerError::Malformed { what: "summary.json", why: e.to_string() })?;
        if let Some(obj) = v.as_object() {
            for (k, x) in obj {
                if let Some(f) = x.as_f64().filter(|f| f.is_finite()) {
                    values.last_mut().unwrap().entry(k.clone()).or_default().push(f);
                }
            }
        }
    }
    for ((g, vals), n) in groups.iter_mut().zip(values).zip(counts) {
        g.fields = vals.into_iter().filter(|(_, xs)| xs.len() == n).map(|(k, xs)| (k, stats(&xs))).collect();
    }
    let mut tables = BTreeMap::new();
    if let Some(outs) = exp.aggregate(&cells)? {
        for (name, o) in outs.0 {
            tables.insert(name, runner.store.put_bytes(&o.bytes)?.hex());
        }
    }
    let agg = Aggregate { schema: AGGREGATE_SCHEMA.into(), sweep: sweep.hex(), experiment: m.experiment.clone(), groups, tables };
    let d = runner.store.put_bytes(&reprise_core::canon::to_vec(&agg)?)?;
    // Printed, so kept: the ref holds the aggregate and, through it, the tables.
    runner.store.update_ref(&crate::gcroots::aggregate_ref(sweep), reprise_store::RefExpect::Any, Some(d))?;
    Ok((d, agg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_and_grids_parse_and_points_come_in_a_fixed_order() {
        assert_eq!(parse_seeds("0..4").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(parse_seeds("2..=4").unwrap(), vec![2, 3, 4]);
        assert_eq!(parse_seeds("9,1,5").unwrap(), vec![9, 1, 5]);
        for bad in ["", "3..3", "a..4", "1,1"] {
            assert!(parse_seeds(bad).is_err(), "{bad}");
        }
        let g = parse_grid(&["n=10,20".into(), "b=x,y".into()]).unwrap();
        let ps: Vec<String> = points(&g).iter().map(|p| p.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")).collect();
        assert_eq!(ps, ["b=x n=10", "b=x n=20", "b=y n=10", "b=y n=20"]);
        assert_eq!(points(&BTreeMap::new()), vec![BTreeMap::new()]);
        assert!(parse_grid(&["n".into()]).is_err());
        assert!(parse_grid(&["n=1,".into()]).is_err());
        assert!(parse_grid(&["n=1".into(), "n=2".into()]).is_err());
    }

    #[test]
    fn field_statistics() {
        let s = stats(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!((s.n, s.mean, s.min, s.max), (4, 2.5, 1.0, 4.0));
        assert_eq!(s.sd, (5.0f64 / 3.0).sqrt());
        assert_eq!(stats(&[7.0]).sd, 0.0);
    }
}
