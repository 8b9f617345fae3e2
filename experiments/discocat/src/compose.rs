//! `discocat.compose`: one sentence typed, reduced and drawn, then composed by every model —
//! with Milajevs' toy lexicon ("john loves mary") or the GloVe vectors — and checked against the
//! functor evaluation of its diagram with the Frobenius-lifted verb.

use super::functor::Functor;
use super::models::{self, Model, Svo};
use super::sentence::Sentence;
use super::vectors::Vectors;
use super::{svg, DiscoError};
use reprise_core::{Experiment, ExperimentError, MediaType, Outputs, ParamSpec, RunCtx};
use serde_json::json;

/// Milajevs' toy lexicon (thesis, `similarity.tex`): three 3-d vectors and the relational `loves`.
pub const TOY: &str = "john 4 60 59\nmary 0 10 22\nloves 10 100 20\n";
pub const TOY_V_LOVES: [f64; 9] = [120.0, 1390.0, 658.0, 1360.0, 13670.0, 2874.0, 390.0, 3930.0, 846.0];

pub struct Compose;

fn failed(e: DiscoError) -> ExperimentError {
    ExperimentError::refused(e.to_string())
}

impl Experiment for Compose {
    fn name(&self) -> &'static str {
        "discocat.compose"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "One sentence through DisCoCat: pregroup typing, its diagram (text and SVG), every model's sentence tensor, and the functor check"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::choice("sentence", "john loves mary", &[], "the words, space-separated"),
            ParamSpec::choice("types", "", &[], "pregroup types separated by | (empty: n | n.r s for two words, n | n.r s n.l | n for three)"),
            ParamSpec::choice("lexicon", "toy", &["toy", "glove"], "toy: Milajevs' john/mary/loves with V_loves; glove: the GloVe 100-d vectors (no relational verbs)"),
        ]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let p = &ctx.params;
        let Sentence { words, diagram } = Sentence::typed(p.str("sentence"), p.str("types")).map_err(failed)?;
        let mut out = Outputs::new();
        out.text("diagram.txt", &format!("{}\n{}", diagram.draw(), diagram.to_text()));
        out.bytes("diagram.svg", MediaType::SVG, svg::draw(&diagram).into_bytes());

        let toy = p.str("lexicon") == "toy";
        let vecs = if toy { Vectors::parse(TOY, "toy lexicon") } else { Vectors::parse(std::str::from_utf8(super::experiment::GLOVE_SUBSET).expect("UTF-8"), "GloVe subset") }.map_err(failed)?;
        let names: Vec<&str> = words.iter().map(|w| w.name.as_str()).collect();
        let lookup = |w: &str| vecs.get(w).ok_or_else(|| ExperimentError::refused(format!("`{w}` has no vector in the {} lexicon{}", p.str("lexicon"), if toy { " (john, mary, loves); use lexicon=glove" } else { "" })));
        let shapes: Vec<String> = words.iter().map(|w| w.ty.to_string()).collect();
        let standard = shapes == ["n", "n.r·s·n.l", "n"] || shapes == ["n", "n.r·s"];
        let mut rows = Vec::new();
        let mut functor_check = serde_json::Value::Null;
        if standard {
            let s = lookup(names[0])?;
            let v = lookup(names[1])?;
            let rel = (toy && names[1] == "loves").then_some(&TOY_V_LOVES[..]);
            let fmt = |t: &[f64]| t.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ");
            if names.len() == 3 {
                let o = lookup(names[2])?;
                let x = Svo { s, v, rel, o };
                for m in Model::ALL.into_iter().filter(|m| !m.relational() || rel.is_some()) {
                    let t = models::sentence(m, &x).map_err(failed)?;
                    rows.push(vec![m.name().to_string(), m.formula().to_string(), t.len().to_string(), fmt(&t)]);
                }
                if let Some(rel) = rel {
                    let d = vecs.dim;
                    let mut f = Functor::new(&[("n", d), ("s", d * d)]);
                    let vec_of = |x: &[f64]| ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[d]), x.to_vec()).expect("d");
                    f.set(names[0], vec_of(s)).set(names[2], vec_of(o)).set(names[1], models::frobenius_lift(rel, d));
                    let via_functor = f.eval(&diagram).map_err(failed)?.into_raw_vec_and_offset().0;
                    let relational = models::sentence(Model::Relational, &x).map_err(failed)?;
                    functor_check = json!({"verb_tensor": "Frobenius lift T[i,(i,j),j] = V_ij, S = N⊗N", "functor": via_functor, "relational": relational, "identical": via_functor == relational});
                }
            } else {
                for m in [Model::Verb, Model::Add, Model::Mult] {
                    let t = models::intransitive(m, s, v, None).map_err(failed)?;
                    rows.push(vec![m.name().to_string(), m.formula().to_string(), t.len().to_string(), fmt(&t)]);
                }
            }
            out.csv("sentences.csv", &["model", "formula", "size", "tensor (row-major)"], &rows);
        }
        out.json(
            "summary.json",
            &json!({
                "sentence": names.join(" "),
                "types": shapes,
                "reduces_to": "s",
                "diagram": diagram.to_text(),
                "lexicon": p.str("lexicon"),
                "models": rows.len(),
                "functor_check": functor_check,
                "note": if standard { "sentence tensors in sentences.csv" } else { "typed and drawn only: the concrete models are for subject–verb(–object) sentences" },
            }),
        )?;
        Ok(out)
    }
}
