//! What an experiment returns: named files (JSON summaries, `.npy` arrays, CSV tables, text),
//! each with its media type and the rule a rerun is compared under.

use crate::canon::{self, CanonError};
use crate::npy;
use crate::rule::CompareRule;
use serde::Serialize;
use std::collections::BTreeMap;

/// Media types of the outputs Reprise knows how to compare and display.
pub struct MediaType;

impl MediaType {
    pub const JSON: &'static str = "application/json";
    pub const NPY: &'static str = "application/x-npy";
    pub const CSV: &'static str = "text/csv";
    pub const TEXT: &'static str = "text/plain";
    pub const PLOTLY: &'static str = "application/vnd.plotly.v1+json";
    pub const SVG: &'static str = "image/svg+xml";
}

/// One output file.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub rule: CompareRule,
}

/// An experiment's outputs, by file name (kept in name order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outputs(pub BTreeMap<String, Output>);

impl Outputs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds raw bytes under `name`.
    pub fn bytes(&mut self, name: &str, media_type: &str, bytes: Vec<u8>) -> &mut Output {
        self.0.insert(name.to_string(), Output { media_type: media_type.to_string(), bytes, rule: CompareRule::Exact });
        self.0.get_mut(name).unwrap()
    }

    /// Adds a JSON document in canonical form (sorted keys, no NaN), so equal values give equal bytes.
    pub fn json<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<&mut Output, CanonError> {
        let bytes = canon::to_vec(value)?;
        Ok(self.bytes(name, MediaType::JSON, bytes))
    }

    /// Adds a C-order array as `.npy`.
    pub fn npy<T: npy::Element>(&mut self, name: &str, shape: &[usize], data: &[T]) -> &mut Output {
        self.bytes(name, MediaType::NPY, npy::encode(shape, data))
    }

    /// Adds a CSV table (header row first).
    pub fn csv(&mut self, name: &str, header: &[&str], rows: &[Vec<String>]) -> &mut Output {
        let mut s = header.join(",");
        s.push('\n');
        for r in rows {
            s.push_str(&r.join(","));
            s.push('\n');
        }
        self.bytes(name, MediaType::CSV, s.into_bytes())
    }

    /// Adds a plain-text report.
    pub fn text(&mut self, name: &str, text: &str) -> &mut Output {
        self.bytes(name, MediaType::TEXT, text.as_bytes().to_vec())
    }
}

impl Output {
    /// Declares the tolerance a rerun is held to (default: exact).
    pub fn with_rule(&mut self, rule: CompareRule) -> &mut Self {
        self.rule = rule;
        self
    }
}
