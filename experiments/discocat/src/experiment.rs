//! `discocat.gs2011`: sentence similarity by every compositional model on GS2011 (or another of
//! the data sets), Spearman ρ under both protocols, HIGH/LOW mean cosines and human agreement.

use super::datasets::{Data, Dataset, Item, Np, Sentence};
use super::eval::{self, Agreement};
use super::models::{self, Model, Svo};
use super::triples::{Relational, TriplesReport};
use super::vectors::{Oov, Vectors};
use super::DiscoError;
use reprise_core::{Experiment, ExperimentError, MediaType, Outputs, ParamSpec, RunCtx};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeSet;

pub const GLOVE_SUBSET: &[u8] = include_bytes!("../../data/discocat/glove6B100d_subset.txt");

pub struct Gs2011;

#[derive(Serialize)]
struct DataReport {
    name: &'static str,
    source: String,
    judgments: usize,
    items: usize,
    annotators: usize,
}

#[derive(Serialize)]
struct OovReport {
    policy: &'static str,
    /// Words of the data set with no vector, sorted.
    missing_words: Vec<String>,
    items_dropped: usize,
}

#[derive(Serialize)]
struct ModelRow {
    model: &'static str,
    formula: &'static str,
    items: usize,
    judgments: usize,
    rho_per_judgment: Option<f64>,
    rho_item_mean: Option<f64>,
    mean_cos_high: Option<f64>,
    mean_cos_low: Option<f64>,
    /// Items left out because the verb has no relational matrix (no triples for it).
    items_without_triples: usize,
}

#[derive(Serialize)]
struct Skipped {
    model: &'static str,
    why: String,
}

#[derive(Serialize)]
struct AgreementReport {
    leave_one_out: Option<f64>,
    mean_pairwise: Option<f64>,
    annotators: usize,
    pairs: usize,
    undefined_left_out: usize,
}

#[derive(Serialize)]
struct Summary {
    data: DataReport,
    vectors: serde_json::Value,
    oov: OovReport,
    triples: Option<TriplesReport>,
    protocols: serde_json::Value,
    agreement: AgreementReport,
    models: Vec<ModelRow>,
    skipped: Vec<Skipped>,
    composition: &'static str,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn bad(name: &str) -> impl Fn(DiscoError) -> ExperimentError + '_ {
    move |e| ExperimentError::BadInput { name: name.into(), why: e.to_string() }
}

fn utf8<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, ExperimentError> {
    std::str::from_utf8(bytes).map_err(|e| ExperimentError::BadInput { name: name.into(), why: format!("not UTF-8 text ({e})") })
}

/// Everything one model needs to score items.
struct Lexicon<'a> {
    vecs: &'a Vectors,
    rel: Option<&'a Relational>,
    zero: Vec<f64>,
}

impl Lexicon<'_> {
    fn vec(&self, w: &str) -> &[f64] {
        self.vecs.get(w).unwrap_or(&self.zero)
    }

    fn np(&self, m: Model, n: &Np) -> Vec<f64> {
        match &n.adj {
            Some(a) => models::adjective_noun(m, self.vec(a), self.vec(&n.noun)),
            None => self.vec(&n.noun).to_vec(),
        }
    }

    /// The verb's relational representation, when the model needs one and the triples have it.
    fn rel(&self, m: Model, verb: &str, transitive: bool) -> Result<Option<&[f64]>, ()> {
        if !m.relational() {
            return Ok(None);
        }
        let r = self.rel.ok_or(())?;
        let found = if transitive { r.matrices.get(verb) } else { r.subjects.get(verb) };
        found.map(|v| Some(v.as_slice())).ok_or(())
    }

    /// The flattened sentence tensor (for elided sentences, the sum over both subjects).
    fn sentence(&self, m: Model, s: &Sentence) -> Result<Vec<f64>, ()> {
        let subj = self.np(m, &s.subject);
        let v = self.vec(&s.verb);
        let Some(obj) = &s.object else {
            let rel = self.rel(m, &s.verb, false)?;
            return models::intransitive(m, &subj, v, rel).map_err(|_| ());
        };
        let o = self.np(m, obj);
        let rel = self.rel(m, &s.verb, true)?;
        let mut t = models::sentence(m, &Svo { s: &subj, v, rel, o: &o }).map_err(|_| ())?;
        if let Some(s2) = &s.also {
            let u = models::sentence(m, &Svo { s: self.vec(s2), v, rel, o: &o }).map_err(|_| ())?;
            t.iter_mut().zip(&u).for_each(|(a, b)| *a += b);
        }
        Ok(t)
    }

    /// cos of the item's two sentences; Err when a verb lacks its relational matrix.
    fn similarity(&self, m: Model, item: &Item) -> Result<f64, ()> {
        let (a, b) = (&item.a, &item.b);
        let plain = |s: &Sentence| s.object.is_some() && s.also.is_none() && s.subject.adj.is_none() && s.object.as_ref().is_some_and(|o| o.adj.is_none());
        if plain(a) && plain(b) {
            let (sa, oa) = (self.vec(&a.subject.noun), self.vec(&a.object.as_ref().expect("plain").noun));
            let (sb, ob) = (self.vec(&b.subject.noun), self.vec(&b.object.as_ref().expect("plain").noun));
            let x = Svo { s: sa, v: self.vec(&a.verb), rel: self.rel(m, &a.verb, true)?, o: oa };
            let y = Svo { s: sb, v: self.vec(&b.verb), rel: self.rel(m, &b.verb, true)?, o: ob };
            return models::similarity(m, &x, &y).map_err(|_| ());
        }
        Ok(models::cosine(&self.sentence(m, a)?, &self.sentence(m, b)?))
    }
}

fn item_words(item: &Item) -> Vec<&str> {
    let mut w = item.a.words();
    w.extend(item.b.words());
    w
}

impl Gs2011 {
    fn models(p: &str, transitive: bool, have_triples: bool) -> Result<(Vec<Model>, Vec<Skipped>), ExperimentError> {
        let allowed = |m: Model| transitive || matches!(m, Model::Verb | Model::Add | Model::Mult | Model::Relational);
        let mut skipped = Vec::new();
        if p.trim() == "all" {
            let mut ms = Vec::new();
            for m in Model::ALL.into_iter().filter(|m| allowed(*m)) {
                if m.relational() && !have_triples {
                    skipped.push(Skipped { model: m.name(), why: "needs the verb's relational matrix Σ s⊗o from corpus (verb, subject, object) triples: pass -i triples=FILE".into() });
                } else {
                    ms.push(m);
                }
            }
            return Ok((ms, skipped));
        }
        let mut ms = BTreeSet::new();
        for name in p.split(',').filter(|s| !s.trim().is_empty()) {
            let m = Model::parse(name).map_err(|e| ExperimentError::refused(e.to_string()))?;
            if !allowed(m) {
                return Err(ExperimentError::refused(format!("model {} is for transitive sentences; this data set is intransitive (use verb, add, mult, relational)", m.name())));
            }
            if m.relational() && !have_triples {
                return Err(ExperimentError::refused(format!("model {} needs (verb, subject, object) triples: pass -i triples=FILE", m.name())));
            }
            ms.insert(m);
        }
        if ms.is_empty() {
            return Err(ExperimentError::refused("no models named: write models=all or a comma list"));
        }
        Ok((ms.into_iter().collect(), skipped))
    }
}

impl Experiment for Gs2011 {
    fn name(&self) -> &'static str {
        "discocat.gs2011"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "DisCoCat sentence similarity (GS2011 verb disambiguation by default): ρ of every compositional model under both protocols, vs human agreement"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::choice("dataset", "gs2011", &Dataset::NAMES, "data set: gs2011/gs2013 transitive, ml2008 intransitive, ks2013/gs2012 adjective–noun transitive, elldis/ellsim ellipsis (these two need -i data=FILE)"),
            ParamSpec::choice("models", "all", &[], "comma list of models (verb, add, mult, kronecker, relational, s_hadamard_Vo, o_hadamard_VTs, frobenius_add, frobenius_mult, frobenius_outer) or all"),
            ParamSpec::choice("oov", "skip", &Oov::NAMES, "a word without a vector: skip its items, use a zero vector, or stop (missing words are listed either way)"),
        ]
    }
    fn optional_inputs(&self) -> Vec<&'static str> {
        vec!["data", "vectors", "triples"]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let p = &ctx.params;
        let dataset = Dataset::parse(p.str("dataset")).map_err(|e| ExperimentError::refused(e.to_string()))?;
        let oov = Oov::parse(p.str("oov")).map_err(|e| ExperimentError::refused(e.to_string()))?;
        let (bytes, source) = match (ctx.inputs.get("data"), dataset.embedded()) {
            (Some(b), _) => (b.as_slice(), "input `data`".to_string()),
            (None, Some(b)) => (b, format!("{} (compiled in; experiments/data/discocat/SOURCES.md)", dataset.name())),
            (None, None) => return Err(ExperimentError::MissingInput("data".into())),
        };
        let data: Data = dataset.load(utf8("data", bytes)?).map_err(bad("data"))?;
        let (vec_bytes, vec_source) = match ctx.inputs.get("vectors") {
            Some(b) => (b.as_slice(), "input `vectors`"),
            None => (GLOVE_SUBSET, "GloVe 6B 100d, the data sets' 826 words (compiled in)"),
        };
        let vecs = Vectors::parse(utf8("vectors", vec_bytes)?, "vectors").map_err(bad("vectors"))?;
        let rel = match ctx.inputs.get("triples") {
            Some(b) => Some(Relational::build(utf8("triples", b)?, "triples", &vecs).map_err(bad("triples"))?),
            None => None,
        };
        let transitive = data.items.iter().all(|i| i.a.object.is_some());
        let (chosen, skipped) = Gs2011::models(p.str("models"), transitive, rel.is_some())?;

        // out-of-vocabulary words, named and counted whatever the policy
        let missing: BTreeSet<String> = data.items.iter().flat_map(item_words).filter(|w| vecs.get(w).is_none()).map(str::to_string).collect();
        if oov == Oov::Error && !missing.is_empty() {
            return Err(ExperimentError::refused(format!("{} words have no vector ({}); pass oov=skip or oov=zero, or -i vectors=FILE with them", missing.len(), missing.iter().cloned().collect::<Vec<_>>().join(", "))));
        }
        let kept: Vec<bool> = data.items.iter().map(|i| oov == Oov::Zero || item_words(i).iter().all(|w| !missing.contains(*w))).collect();
        let lex = Lexicon { vecs: &vecs, rel: rel.as_ref(), zero: vec![0.0; vecs.dim] };

        ctx.progress.start("models × items", (chosen.len() * data.items.len()) as u64);
        let mut rows = Vec::new();
        let mut sims: Vec<Vec<f64>> = Vec::new();
        for &m in &chosen {
            let sim: Vec<Result<f64, ()>> = data
                .items
                .par_iter()
                .zip(&kept)
                .map(|(item, &k)| {
                    ctx.progress.advance(1);
                    if k { lex.similarity(m, item) } else { Ok(f64::NAN) }
                })
                .collect();
            let without = sim.iter().filter(|s| s.is_err()).count();
            let sim: Vec<f64> = sim.into_iter().map(|s| s.unwrap_or(f64::NAN)).collect();
            let r = eval::rho(&sim, &data.judgments);
            let mean_of = |label: &str| {
                let v: Vec<f64> = data.items.iter().zip(&sim).filter(|(i, s)| i.hilo.as_deref() == Some(label) && !s.is_nan()).map(|(_, s)| *s).collect();
                finite(v.iter().sum::<f64>() / v.len() as f64)
            };
            rows.push(ModelRow {
                model: m.name(),
                formula: m.formula(),
                items: sim.iter().filter(|s| !s.is_nan()).count(),
                judgments: data.judgments.iter().filter(|j| !sim[j.item].is_nan()).count(),
                rho_per_judgment: finite(r.per_judgment),
                rho_item_mean: finite(r.item_mean),
                mean_cos_high: mean_of("HIGH"),
                mean_cos_low: mean_of("LOW"),
                items_without_triples: without,
            });
            sims.push(sim);
        }
        ctx.progress.finish();
        let Agreement { leave_one_out, mean_pairwise, annotators, undefined_left_out, pairs } = eval::agreement(&data.judgments, data.items.len());

        let mut out = Outputs::new();
        let fmt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
        out.csv(
            "results.csv",
            &["model", "formula", "items", "judgments", "rho_per_judgment", "rho_item_mean", "mean_cos_high", "mean_cos_low"],
            &rows.iter().map(|r| vec![r.model.into(), r.formula.into(), r.items.to_string(), r.judgments.to_string(), fmt(r.rho_per_judgment), fmt(r.rho_item_mean), fmt(r.mean_cos_high), fmt(r.mean_cos_low)]).collect::<Vec<_>>(),
        );
        let means = eval::item_means(&data.judgments, data.items.len());
        let mut header = vec!["sentence_a", "sentence_b", "hilo", "mean_rating"];
        header.extend(chosen.iter().map(|m| m.name()));
        let sim_rows: Vec<Vec<String>> = data
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let mut r = vec![item.a.text(), item.b.text(), item.hilo.clone().unwrap_or_default(), means[i].to_string()];
                r.extend(sims.iter().map(|s| if s[i].is_nan() { String::new() } else { s[i].to_string() }));
                r
            })
            .collect();
        out.csv("similarities.csv", &header, &sim_rows);
        out.bytes("rho.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&figure(dataset.name(), &rows, finite(leave_one_out)))?);
        let summary = Summary {
            data: DataReport { name: data.name, source, judgments: data.judgments.len(), items: data.items.len(), annotators },
            vectors: json!({"source": vec_source, "dim": vecs.dim, "words": vecs.len()}),
            oov: OovReport { policy: Oov::NAMES[oov as usize], missing_words: missing.into_iter().collect(), items_dropped: kept.iter().filter(|k| !**k).count() },
            triples: rel.map(|r| r.report),
            protocols: json!({
                "per_judgment": "every human judgment is a data point (GS2011's and ML2008's own protocol); bounded by the leave-one-out agreement",
                "item_mean": "ratings averaged per item first (Milajevs et al. 2014 and later); higher numbers, not comparable with per_judgment"
            }),
            agreement: AgreementReport { leave_one_out: finite(leave_one_out), mean_pairwise: finite(mean_pairwise), annotators, pairs, undefined_left_out },
            models: rows,
            skipped,
            composition: "adjective–noun phrases: a + n for add, a ⊙ n otherwise; elided 'S V O and S2 does too': sentence(S,V,O) + sentence(S2,V,O)",
        };
        out.json("summary.json", &summary)?;
        Ok(out)
    }
}

/// ρ per model under both protocols as grouped bars, the human agreement as a dashed line.
fn figure(dataset: &str, rows: &[ModelRow], agreement: Option<f64>) -> serde_json::Value {
    let x: Vec<&str> = rows.iter().map(|r| r.model).collect();
    let y = |f: fn(&ModelRow) -> Option<f64>| rows.iter().map(f).collect::<Vec<_>>();
    let mut shapes = Vec::new();
    if let Some(a) = agreement {
        shapes.push(json!({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": a, "y1": a, "line": {"dash": "dash", "color": "#888"}}));
    }
    json!({
        "data": [
            {"type": "bar", "name": "per judgment", "x": x, "y": y(|r| r.rho_per_judgment)},
            {"type": "bar", "name": "item mean", "x": x, "y": y(|r| r.rho_item_mean)}
        ],
        "layout": {
            "title": {"text": format!("{dataset}: Spearman ρ of model similarity with human ratings")},
            "barmode": "group", "yaxis": {"title": {"text": "Spearman ρ"}},
            "shapes": shapes,
            "annotations": agreement.map(|a| vec![json!({"xref": "paper", "x": 1, "y": a, "text": "human agreement (leave one out)", "showarrow": false, "yanchor": "bottom", "xanchor": "right"})]).unwrap_or_default()
        }
    })
}
