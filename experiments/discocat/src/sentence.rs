//! DisCoCat for people: a sentence typed by pregroup types and reduced to a diagram that draws
//! itself ([`Sentence`]), a lexicon of word vectors ([`Lexicon`]), and a model's meaning of it.

use super::models::{self, Model, Svo};
use super::pregroup::{Diagram, Ty, Word};
use super::vectors::Vectors;
use super::{DiscoError, svg};
use reprise_stats::display::{escape_html, evcxr_bundle};

/// A sentence: its words with their pregroup types, and the diagram that reduces them to `s`.
/// In a notebook it shows as the diagram (SVG), with the text drawing as its plain form.
///
/// ```
/// use reprise_discocat::{Lexicon, Model, Sentence};
/// let s = Sentence::parse("john loves mary").unwrap();
/// assert_eq!(s.types(), ["n", "n.r·s·n.l", "n"]);
/// let m = s.meaning(Model::Kronecker, &Lexicon::toy()).unwrap();
/// assert_eq!(m.tensor.len(), 9);
/// let err = Sentence::typed("red dogs chase cats", "n n.l | n | n.r s").unwrap_err();
/// assert!(err.to_string().contains("4 words but 3 types"));
/// ```
#[derive(Debug, Clone)]
pub struct Sentence {
    pub words: Vec<Word>,
    pub diagram: Diagram,
}

impl Sentence {
    /// Two words typed subject–intransitive verb (`n`, `n.r s`), three subject–verb–object
    /// (`n`, `n.r s n.l`, `n`); longer sentences need [`typed`](Self::typed).
    pub fn parse(sentence: &str) -> Result<Sentence, DiscoError> {
        Sentence::typed(sentence, "")
    }

    /// The words with their types, `|`-separated (`"n n.l | n | n.r s n.l | n"` for "red dogs
    /// chase cats"); an empty `types` types two or three words as [`parse`](Self::parse) does.
    pub fn typed(sentence: &str, types: &str) -> Result<Sentence, DiscoError> {
        let words: Vec<&str> = sentence.split_whitespace().collect();
        let tys: Vec<String> = if types.trim().is_empty() {
            match words.len() {
                2 => vec!["n".into(), "n.r s".into()],
                3 => vec!["n".into(), "n.r s n.l".into(), "n".into()],
                k => return Err(DiscoError::Type(format!("{k} words: give their types, e.g. types=\"n n.l | n | n.r s n.l | n\" for \"red dogs chase cats\""))),
            }
        } else {
            types.split('|').map(|t| t.trim().to_string()).collect()
        };
        if tys.len() != words.len() {
            return Err(DiscoError::Type(format!("{} words but {} types (separate types with |)", words.len(), tys.len())));
        }
        let words: Vec<Word> = words.iter().zip(&tys).map(|(w, t)| Word::new(w, t)).collect::<Result<_, _>>()?;
        let diagram = Diagram::reduce(words.clone(), &Ty::parse("s")?)?;
        Ok(Sentence { words, diagram })
    }

    /// Each word's type, as written in diagrams (`n.r·s·n.l`).
    pub fn types(&self) -> Vec<String> {
        self.words.iter().map(|w| w.ty.to_string()).collect()
    }

    /// The diagram as SVG.
    pub fn svg(&self) -> String {
        svg::draw(&self.diagram)
    }

    /// The diagram drawn in text, then as its list of operations.
    pub fn to_text(&self) -> String {
        format!("{}\n{}", self.diagram.draw(), self.diagram.to_text())
    }

    /// The sentence tensor of `model` with the words' vectors from `lexicon` (subject–verb or
    /// subject–verb–object sentences; the relational models need the verb's matrix).
    pub fn meaning(&self, model: Model, lexicon: &Lexicon) -> Result<Meaning, DiscoError> {
        let names: Vec<&str> = self.words.iter().map(|w| w.name.as_str()).collect();
        let types = self.types();
        let get = |w: &str| lexicon.vectors.get(w).ok_or_else(|| DiscoError::Input(format!("`{w}` has no vector in the {} lexicon", lexicon.name)));
        let tensor = if types == ["n", "n.r·s·n.l", "n"] {
            let rel = lexicon.relational.iter().find(|(v, _)| v == names[1]).map(|(_, m)| m.as_slice());
            models::sentence(model, &Svo { s: get(names[0])?, v: get(names[1])?, rel, o: get(names[2])? })?
        } else if types == ["n", "n.r·s"] {
            models::intransitive(model, get(names[0])?, get(names[1])?, None)?
        } else {
            return Err(DiscoError::Model(format!("the concrete models compose subject–verb(–object) sentences; this one is typed {}: draw it, or evaluate its diagram with a Functor", types.join(" | "))));
        };
        Ok(Meaning { sentence: names.join(" "), model, tensor })
    }

    /// evcxr's display protocol: the diagram as SVG, its text drawing as plain text.
    pub fn evcxr_display(&self) {
        evcxr_bundle(&[("image/svg+xml", &self.svg()), ("text/plain", &self.to_text())]);
    }
}

/// Word vectors (and relational verb matrices) to evaluate sentences with.
#[derive(Debug, Clone)]
pub struct Lexicon {
    pub name: String,
    pub vectors: Vectors,
    /// Verbs' relational matrices V (d × d, row-major), by verb.
    pub relational: Vec<(String, Vec<f64>)>,
}

impl Lexicon {
    /// Milajevs' toy lexicon: john, mary, loves in 3-d, with the relational `loves`.
    pub fn toy() -> Lexicon {
        let vectors = Vectors::parse(super::compose::TOY, "toy lexicon").expect("the toy lexicon parses");
        Lexicon { name: "toy".into(), vectors, relational: vec![("loves".into(), super::compose::TOY_V_LOVES.to_vec())] }
    }

    /// The shipped GloVe 6B 100-d subset (the words of the GS2011 and ML2008 sets), no relational verbs.
    pub fn glove() -> Lexicon {
        let text = std::str::from_utf8(super::experiment::GLOVE_SUBSET).expect("UTF-8");
        Lexicon { name: "GloVe subset".into(), vectors: Vectors::parse(text, "GloVe subset").expect("the shipped GloVe subset parses"), relational: Vec::new() }
    }
}

/// A sentence's meaning under one model: the sentence tensor, flattened row-major.
#[derive(Debug, Clone)]
pub struct Meaning {
    pub sentence: String,
    pub model: Model,
    pub tensor: Vec<f64>,
}

impl Meaning {
    /// The cosine between two meanings (the similarity GS2011 scores).
    pub fn cosine(&self, other: &Meaning) -> f64 {
        models::cosine(&self.tensor, &other.tensor)
    }

    /// The model, its formula and the tensor.
    pub fn to_text(&self) -> String {
        let head: Vec<String> = self.tensor.iter().take(12).map(|v| format!("{v}")).collect();
        format!("“{}” under {} ({}): {} numbers [{}{}]", self.sentence, self.model.name(), self.model.formula(), self.tensor.len(), head.join(", "), if self.tensor.len() > 12 { ", …" } else { "" })
    }

    /// evcxr's display protocol: the text, and the same in HTML.
    pub fn evcxr_display(&self) {
        evcxr_bundle(&[("text/plain", &self.to_text()), ("text/html", &format!("<p>{}</p>", escape_html(&self.to_text())))]);
    }
}
