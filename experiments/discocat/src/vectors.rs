//! Word vectors in the whitespace text format (`word v1 … vd`, GloVe's), with the row and word
//! named on a ragged or non-numeric line, and the out-of-vocabulary policy that reports misses.

use super::DiscoError;
use std::collections::BTreeMap;

/// A vocabulary of d-dimensional vectors.
#[derive(Debug, Clone)]
pub struct Vectors {
    pub dim: usize,
    index: BTreeMap<String, usize>,
    data: Vec<f64>,
}

/// What to do with a word that has no vector. Either way the missing words are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oov {
    /// Drop every item that uses a missing word.
    Skip,
    /// Use the zero vector (its similarities are 0).
    Zero,
    /// Stop with an error naming the word.
    Error,
}

impl Oov {
    pub const NAMES: [&'static str; 3] = ["skip", "zero", "error"];
    pub fn parse(s: &str) -> Result<Oov, DiscoError> {
        match s {
            "skip" => Ok(Oov::Skip),
            "zero" => Ok(Oov::Zero),
            "error" => Ok(Oov::Error),
            _ => Err(DiscoError::Model(format!("oov policy `{s}`: use skip, zero or error"))),
        }
    }
}

impl Vectors {
    /// Parses `word v1 … vd` lines (blank lines skipped); every row must have the first row's d.
    pub fn parse(text: &str, source: &str) -> Result<Vectors, DiscoError> {
        let bad = |line: usize, why: String| DiscoError::Input(format!("{source} line {line}: {why}"));
        let (mut dim, mut index, mut data) = (0usize, BTreeMap::new(), Vec::new());
        for (k, line) in text.lines().enumerate() {
            let mut parts = line.split_whitespace();
            let Some(word) = parts.next() else { continue };
            let start = data.len();
            for p in parts {
                data.push(p.parse::<f64>().map_err(|_| bad(k + 1, format!("`{p}` in the vector of `{word}` is not a number")))?);
            }
            let n = data.len() - start;
            if dim == 0 {
                if n == 0 {
                    return Err(bad(k + 1, format!("`{word}` has no numbers after it")));
                }
                dim = n;
            } else if n != dim {
                return Err(bad(k + 1, format!("`{word}` has {n} numbers, the first row had {dim} (ragged rows)")));
            }
            if index.insert(word.to_string(), index.len()).is_some() {
                return Err(bad(k + 1, format!("`{word}` appears twice")));
            }
        }
        if index.is_empty() {
            return Err(DiscoError::Input(format!("{source}: no vectors")));
        }
        Ok(Vectors { dim, index, data })
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The vector of `word`, or failing that of its lowercase form (GloVe is lowercase).
    pub fn get(&self, word: &str) -> Option<&[f64]> {
        let i = self.index.get(word).or_else(|| self.index.get(&word.to_lowercase()))?;
        Some(&self.data[i * self.dim..(i + 1) * self.dim])
    }
}
