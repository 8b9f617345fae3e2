//! The sentence-similarity data sets: GS2011/GS2013 (transitive verb disambiguation), ML2008
//! (intransitive), KS2013/GS2012 (adjective–noun transitive), ELLDIS/ELLSIM (verb-phrase ellipsis).

use super::DiscoError;
use super::eval::Judgment;
use std::collections::BTreeMap;

pub const GS2011: &[u8] = include_bytes!("../../data/discocat/GS2011data.txt");
pub const GS2013: &[u8] = include_bytes!("../../data/discocat/GS2013data.txt");
pub const ML2008: &[u8] = include_bytes!("../../data/discocat/ML2008data.txt");
pub const KS2013: &[u8] = include_bytes!("../../data/discocat/KS2013data.txt");
pub const GS2012: &[u8] = include_bytes!("../../data/discocat/GS2012data.txt");

/// A noun phrase: a noun, perhaps with an adjective.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Np {
    pub adj: Option<String>,
    pub noun: String,
}

impl Np {
    fn bare(noun: &str) -> Np {
        Np { adj: None, noun: noun.into() }
    }
}

/// A sentence `subject verb [object]`, and for an elided "… and S2 does too" the second subject.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sentence {
    pub subject: Np,
    pub verb: String,
    pub object: Option<Np>,
    pub also: Option<String>,
}

impl Sentence {
    pub fn text(&self) -> String {
        let np = |n: &Np| n.adj.as_ref().map_or(n.noun.clone(), |a| format!("{a} {}", n.noun));
        let mut t = format!("{} {}", np(&self.subject), self.verb);
        if let Some(o) = &self.object {
            t = format!("{t} {}", np(o));
        }
        if let Some(s2) = &self.also {
            t = format!("{t} and {s2} does too");
        }
        t
    }

    /// Every word the sentence uses, in order.
    pub fn words(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        out.extend(self.subject.adj.as_deref());
        out.push(&self.subject.noun);
        out.push(&self.verb);
        if let Some(o) = &self.object {
            out.extend(o.adj.as_deref());
            out.push(&o.noun);
        }
        out.extend(self.also.as_deref());
        out
    }
}

/// A pair of sentences to compare; `hilo` is the designers' HIGH/LOW label where there is one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Item {
    pub a: Sentence,
    pub b: Sentence,
    pub hilo: Option<String>,
}

/// A data set: its distinct items (in first-seen order) and every judgment of them.
#[derive(Debug, Clone)]
pub struct Data {
    pub name: &'static str,
    pub items: Vec<Item>,
    pub judgments: Vec<Judgment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    Gs2011,
    Gs2013,
    Ml2008,
    Ks2013,
    Gs2012,
    Elldis,
    Ellsim,
}

impl Dataset {
    pub const NAMES: [&'static str; 7] = ["gs2011", "gs2013", "ml2008", "ks2013", "gs2012", "elldis", "ellsim"];
    const ALL: [Dataset; 7] = [Dataset::Gs2011, Dataset::Gs2013, Dataset::Ml2008, Dataset::Ks2013, Dataset::Gs2012, Dataset::Elldis, Dataset::Ellsim];

    pub fn parse(s: &str) -> Result<Dataset, DiscoError> {
        Self::NAMES.iter().position(|n| *n == s).map(|i| Self::ALL[i]).ok_or_else(|| DiscoError::Model(format!("no data set `{s}`; data sets: {}", Self::NAMES.join(", "))))
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The copy compiled into the binary; ELLDIS/ELLSIM are not shipped (GPL-3.0 repository):
    /// pass them with `-i data=ELLDIS.txt`.
    pub fn embedded(self) -> Option<&'static [u8]> {
        match self {
            Dataset::Gs2011 => Some(GS2011),
            Dataset::Gs2013 => Some(GS2013),
            Dataset::Ml2008 => Some(ML2008),
            Dataset::Ks2013 => Some(KS2013),
            Dataset::Gs2012 => Some(GS2012),
            Dataset::Elldis | Dataset::Ellsim => None,
        }
    }

    /// Parses the file's rows into items keyed as the data set's designers intended.
    pub fn load(self, text: &str) -> Result<Data, DiscoError> {
        let name = self.name();
        let bad = |line: usize, why: String| DiscoError::Input(format!("{name} data line {line}: {why}"));
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        let (want, tab) = match self {
            Dataset::Gs2011 | Dataset::Gs2013 => (7, false),
            Dataset::Ml2008 => (6, false),
            Dataset::Ks2013 | Dataset::Gs2012 => (9, false),
            Dataset::Elldis | Dataset::Ellsim => (4, true),
        };
        let header = lines.next().ok_or_else(|| DiscoError::Input(format!("{name} data: empty file")))?;
        if header.1.split_whitespace().count() != want && !tab {
            return Err(bad(1, format!("the header has {} columns, {name} has {want}", header.1.split_whitespace().count())));
        }
        let mut index: BTreeMap<Item, usize> = BTreeMap::new();
        let mut data = Data { name, items: Vec::new(), judgments: Vec::new() };
        for (k, line) in lines {
            let f: Vec<&str> = if tab { line.split('\t').collect() } else { line.split_whitespace().collect() };
            if f.len() != want {
                return Err(bad(k + 1, format!("{} fields, {name} rows have {want}", f.len())));
            }
            let svo = |s: &str, v: &str, o: Option<&str>| Sentence { subject: Np::bare(s), verb: v.into(), object: o.map(Np::bare), also: None };
            let (item, annotator, rating) = match self {
                Dataset::Gs2011 | Dataset::Gs2013 => (Item { a: svo(f[2], f[1], Some(f[3])), b: svo(f[2], f[4], Some(f[3])), hilo: Some(f[6].to_ascii_uppercase()) }, f[0], f[5]),
                Dataset::Ml2008 => (Item { a: svo(f[2], f[1], None), b: svo(f[2], f[3], None), hilo: Some(f[5].to_ascii_uppercase()) }, f[0], f[4]),
                Dataset::Ks2013 | Dataset::Gs2012 => {
                    // columns 5 and 6 hold the verb and the landmark, whatever the header says
                    let np = |a: &str, n: &str| Np { adj: Some(a.into()), noun: n.into() };
                    let s = |v: &str| Sentence { subject: np(f[2], f[3]), verb: v.into(), object: Some(np(f[6], f[7])), also: None };
                    (Item { a: s(f[4]), b: s(f[5]), hilo: None }, f[1], f[8])
                }
                Dataset::Elldis | Dataset::Ellsim => {
                    let parse = |s: &str| -> Result<Sentence, DiscoError> {
                        let w: Vec<&str> = s.split_whitespace().collect();
                        if w.len() != 7 || w[3] != "and" || w[5] != "does" || w[6] != "too" {
                            return Err(bad(k + 1, format!("`{s}` is not `S V O and S2 does too`")));
                        }
                        Ok(Sentence { subject: Np::bare(w[0]), verb: w[1].into(), object: Some(Np::bare(w[2])), also: Some(w[4].into()) })
                    };
                    (Item { a: parse(f[1])?, b: parse(f[2])?, hilo: None }, f[0], f[3])
                }
            };
            let rating: f64 = rating.trim().parse().map_err(|_| bad(k + 1, format!("rating `{rating}` is not a number")))?;
            let next = index.len();
            let id = *index.entry(item.clone()).or_insert(next);
            if id == next {
                data.items.push(item);
            }
            data.judgments.push(Judgment { annotator: annotator.into(), item: id, rating });
        }
        if data.judgments.is_empty() {
            return Err(DiscoError::Input(format!("{name} data: no rows after the header")));
        }
        Ok(data)
    }
}
