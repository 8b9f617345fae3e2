//! Higher-order words (after Toumi & de Felice, "Higher-order DisCoCat"): meanings that are
//! functions from diagrams to diagrams — an adverb on a verb, sentence negation, quantifiers.
//!
//! A first-order word is a box; these words are Rust functions that take the diagrams of their
//! arguments and build a bigger diagram, which any [`Functor`](super::functor::Functor) evaluates.
//! With a truth-valued sentence space (S = ℝ², basis false, true) and entity-basis nouns, the
//! boolean boxes `not`, `and`, `or`, `implies` are multilinear maps that compute exactly on basis
//! vectors, so "every dog barks" evaluates to the truth value Montague semantics gives it.

use super::DiscoError;
use super::functor::Functor;
use super::pregroup::{Diagram, Ty, Word};
use ndarray::{ArrayD, IxDyn};

/// An adverb modifying a verb: the verb's diagram followed by the box `adverb: s → s` on its
/// sentence wire. The result has the verb's type, so it goes wherever the verb went.
pub fn adverb(adverb: &str, verb: &Diagram) -> Result<Diagram, DiscoError> {
    let cod = verb.codomain()?;
    let at = cod.0.iter().position(|t| t.base == "s" && t.z == 0).ok_or_else(|| DiscoError::Type(format!("the adverb `{adverb}` needs a verb with a sentence wire; this one has type {cod}")))?;
    verb.clone().then(adverb, "s", "s", at)
}

/// Sentence negation: the box `not: s → s` after a diagram of type s.
pub fn not(sentence: &Diagram) -> Result<Diagram, DiscoError> {
    let cod = sentence.codomain()?;
    if cod != Ty::parse("s")? {
        return Err(DiscoError::Type(format!("`not` negates a sentence (type s); this diagram has type {cod}")));
    }
    sentence.clone().then("not", "s", "s", 0)
}

/// A predicate (type n.r·s: a common noun or a verb phrase) applied to the entity word `e`.
pub fn apply(predicate: &Diagram, entity: &str) -> Result<Diagram, DiscoError> {
    let cod = predicate.codomain()?;
    if cod != Ty::parse("n.r s")? {
        return Err(DiscoError::Type(format!("a predicate has type n.r·s; this diagram has type {cod}")));
    }
    let e = Diagram { words: vec![Word::new(entity, "n")?], ops: Vec::new() };
    e.juxtapose(predicate)?.close(&Ty::parse("s")?)
}

/// `quantifier noun predicate` over a finite domain: `every` is the conjunction over entities e
/// of noun(e) ⟹ predicate(e), `some` the disjunction of noun(e) ∧ predicate(e). The quantifier
/// takes two diagrams and returns one: a higher-order word.
pub fn quantify(quantifier: &str, noun: &Diagram, predicate: &Diagram, domain: &[&str]) -> Result<Diagram, DiscoError> {
    let (inner, fold) = match quantifier {
        "every" => ("implies", "and"),
        "some" => ("and", "or"),
        other => return Err(DiscoError::Model(format!("no quantifier `{other}`: use every or some"))),
    };
    let mut acc: Option<Diagram> = None;
    for e in domain {
        let pair = apply(noun, e)?.juxtapose(&apply(predicate, e)?)?.then(inner, "s s", "s", 0)?;
        acc = Some(match acc {
            None => pair,
            Some(a) => a.juxtapose(&pair)?.then(fold, "s s", "s", 0)?,
        });
    }
    acc.ok_or_else(|| DiscoError::Model(format!("`{quantifier}` over an empty domain")))
}

/// A verb phrase: a transitive verb with its object, type n.r·s.
pub fn verb_phrase(verb: &str, object: &str) -> Result<Diagram, DiscoError> {
    Diagram::reduce(vec![Word::new(verb, "n.r s n.l")?, Word::new(object, "n")?], &Ty::parse("n.r s")?)
}

/// A truth-valued model: nouns over the entity basis, S = ℝ² (false, true), unary predicates
/// and binary relations as sets, and the boolean gates as boxes.
pub fn truth_functor(entities: &[&str], predicates: &[(&str, &[&str])], relations: &[(&str, &[(&str, &str)])]) -> Functor {
    let d = entities.len();
    let at = |e: &str| entities.iter().position(|x| *x == e).unwrap_or_else(|| panic!("`{e}` is not an entity"));
    let mut f = Functor::new(&[("n", d), ("s", 2)]);
    for (i, e) in entities.iter().enumerate() {
        let mut v = ArrayD::zeros(IxDyn(&[d]));
        v[[i]] = 1.0;
        f.set(e, v);
    }
    for (name, set) in predicates {
        let mut t = ArrayD::zeros(IxDyn(&[d, 2]));
        for i in 0..d {
            t[[i, usize::from(set.contains(&entities[i]))]] = 1.0;
        }
        f.set(name, t);
    }
    for (name, pairs) in relations {
        let mut t = ArrayD::zeros(IxDyn(&[d, 2, d]));
        for i in 0..d {
            for j in 0..d {
                let holds = pairs.iter().any(|&(a, b)| at(a) == i && at(b) == j);
                t[[i, usize::from(holds), j]] = 1.0;
            }
        }
        f.set(name, t);
    }
    let gate = |table: fn(bool, bool) -> bool| {
        let mut t = ArrayD::zeros(IxDyn(&[2, 2, 2]));
        for a in 0..2 {
            for b in 0..2 {
                t[[usize::from(table(a == 1, b == 1)), a, b]] = 1.0;
            }
        }
        t
    };
    f.set("and", gate(|a, b| a && b));
    f.set("or", gate(|a, b| a || b));
    f.set("implies", gate(|a, b| !a || b));
    f.set("not", ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![0.0, 1.0, 1.0, 0.0]).expect("2 × 2"));
    f
}

/// Reads a truth value off an evaluated sentence: Some(true/false) on a basis vector, None otherwise.
pub fn truth(s: &ArrayD<f64>) -> Option<bool> {
    match s.as_slice()? {
        [f, t] if *f == 1.0 && *t == 0.0 => Some(false),
        [f, t] if *f == 0.0 && *t == 1.0 => Some(true),
        _ => None,
    }
}
