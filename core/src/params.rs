//! Typed experiment parameters: each experiment declares its `ParamSpec`s, and raw `k=v` strings
//! (CLI, magics) or JSON values (lockfiles, specs) are checked against them before anything runs.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// One parameter's value. Resolved params always hold every declared name (defaults filled in),
/// so leaving a default out and spelling it out give the same spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => b.fmt(f),
            ParamValue::Int(i) => i.fmt(f),
            ParamValue::Float(x) => write!(f, "{x:?}"),
            ParamValue::Str(s) => s.fmt(f),
        }
    }
}

/// A parameter's type and allowed range.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ParamKind {
    Int { min: i64, max: i64 },
    Float { min: f64, max: f64 },
    Bool,
    Str { choices: Vec<&'static str> },
}

impl ParamKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            ParamKind::Int { .. } => "int",
            ParamKind::Float { .. } => "float",
            ParamKind::Bool => "bool",
            ParamKind::Str { .. } => "string",
        }
    }

    /// The allowed values, for help texts and errors.
    pub fn range(&self) -> String {
        match self {
            ParamKind::Int { min, max } => format!("{min}..={max}"),
            ParamKind::Float { min, max } => format!("{min:?}..={max:?}"),
            ParamKind::Bool => "true|false".into(),
            ParamKind::Str { choices } if choices.is_empty() => "any text".into(),
            ParamKind::Str { choices } => choices.join("|"),
        }
    }
}

/// A declared parameter.
#[derive(Clone, Debug, Serialize)]
pub struct ParamSpec {
    pub name: &'static str,
    #[serde(flatten)]
    pub kind: ParamKind,
    pub default: ParamValue,
    pub doc: &'static str,
}

impl ParamSpec {
    pub fn int(name: &'static str, default: i64, min: i64, max: i64, doc: &'static str) -> Self {
        ParamSpec { name, kind: ParamKind::Int { min, max }, default: ParamValue::Int(default), doc }
    }
    pub fn float(name: &'static str, default: f64, min: f64, max: f64, doc: &'static str) -> Self {
        ParamSpec { name, kind: ParamKind::Float { min, max }, default: ParamValue::Float(default), doc }
    }
    pub fn bool(name: &'static str, default: bool, doc: &'static str) -> Self {
        ParamSpec { name, kind: ParamKind::Bool, default: ParamValue::Bool(default), doc }
    }
    pub fn choice(name: &'static str, default: &'static str, choices: &[&'static str], doc: &'static str) -> Self {
        ParamSpec { name, kind: ParamKind::Str { choices: choices.to_vec() }, default: ParamValue::Str(default.into()), doc }
    }

    /// Parses a value written on a command line.
    pub fn parse(&self, raw: &str) -> Result<ParamValue, ParamError> {
        let wrong = || ParamError::WrongType { name: self.name.into(), expected: self.kind.type_name(), got: raw.into() };
        let value = match &self.kind {
            ParamKind::Int { .. } => ParamValue::Int(raw.replace('_', "").parse().map_err(|_| wrong())?),
            ParamKind::Float { .. } => {
                let x: f64 = raw.replace('_', "").parse().map_err(|_| wrong())?;
                if !x.is_finite() {
                    return Err(wrong());
                }
                ParamValue::Float(x)
            }
            ParamKind::Bool => ParamValue::Bool(match raw {
                "true" | "yes" | "1" => true,
                "false" | "no" | "0" => false,
                _ => return Err(wrong()),
            }),
            ParamKind::Str { .. } => ParamValue::Str(raw.into()),
        };
        self.check(value)
    }

    /// Checks a JSON value (from a lockfile or a stored spec).
    pub fn from_json(&self, v: &Value) -> Result<ParamValue, ParamError> {
        let wrong = || ParamError::WrongType { name: self.name.into(), expected: self.kind.type_name(), got: v.to_string() };
        let value = match (&self.kind, v) {
            (ParamKind::Int { .. }, Value::Number(n)) => ParamValue::Int(n.as_i64().ok_or_else(wrong)?),
            (ParamKind::Float { .. }, Value::Number(n)) => ParamValue::Float(n.as_f64().ok_or_else(wrong)?),
            (ParamKind::Bool, Value::Bool(b)) => ParamValue::Bool(*b),
            (ParamKind::Str { .. }, Value::String(s)) => ParamValue::Str(s.clone()),
            _ => return Err(wrong()),
        };
        self.check(value)
    }

    fn check(&self, value: ParamValue) -> Result<ParamValue, ParamError> {
        let ok = match (&self.kind, &value) {
            (ParamKind::Int { min, max }, ParamValue::Int(i)) => (min..=max).contains(&i),
            (ParamKind::Float { min, max }, ParamValue::Float(x)) => *min <= *x && *x <= *max,
            (ParamKind::Str { choices }, ParamValue::Str(s)) => choices.is_empty() || choices.contains(&s.as_str()),
            _ => true,
        };
        if ok {
            Ok(value)
        } else {
            Err(ParamError::OutOfRange { name: self.name.into(), value: value.to_string(), range: self.kind.range() })
        }
    }
}

/// What is wrong with the parameters given; each names the parameter and the way out.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamError {
    #[error("unknown parameter `{name}` (this experiment takes: {known})")]
    Unknown { name: String, known: String },
    #[error("parameter `{name}` expects {expected}, got `{got}`")]
    WrongType { name: String, expected: &'static str, got: String },
    #[error("parameter `{name}` = {value} is out of range {range}")]
    OutOfRange { name: String, value: String, range: String },
    #[error("parameter `{0}` is given twice")]
    Duplicate(String),
    #[error("`{0}` is not of the form name=value")]
    Malformed(String),
}

/// Resolved parameters: every declared name, in name order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Params(pub BTreeMap<String, ParamValue>);

impl Params {
    /// Resolves `name=value` strings against `specs`, filling in defaults.
    pub fn from_args<S: AsRef<str>>(specs: &[ParamSpec], args: &[S]) -> Result<Params, ParamError> {
        let mut given = BTreeMap::new();
        for arg in args {
            let arg = arg.as_ref();
            let (k, v) = arg.split_once('=').ok_or_else(|| ParamError::Malformed(arg.into()))?;
            let spec = find(specs, k.trim())?;
            if given.insert(spec.name.to_string(), spec.parse(v.trim())?).is_some() {
                return Err(ParamError::Duplicate(spec.name.into()));
            }
        }
        Ok(Self::fill(specs, given))
    }

    /// Resolves a JSON object of parameters against `specs`, filling in defaults.
    pub fn from_json(specs: &[ParamSpec], values: &BTreeMap<String, Value>) -> Result<Params, ParamError> {
        let mut given = BTreeMap::new();
        for (k, v) in values {
            let spec = find(specs, k)?;
            given.insert(spec.name.to_string(), spec.from_json(v)?);
        }
        Ok(Self::fill(specs, given))
    }

    /// Re-checks already typed params (read back from a stored spec) against `specs`.
    pub fn validate(specs: &[ParamSpec], given: &Params) -> Result<Params, ParamError> {
        let values = given.0.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).expect("params serialize"))).collect();
        Self::from_json(specs, &values)
    }

    fn fill(specs: &[ParamSpec], mut given: BTreeMap<String, ParamValue>) -> Params {
        for s in specs {
            given.entry(s.name.to_string()).or_insert_with(|| s.default.clone());
        }
        Params(given)
    }

    fn get(&self, name: &str) -> &ParamValue {
        self.0.get(name).unwrap_or_else(|| panic!("parameter `{name}` is not declared by this experiment"))
    }

    /// The value of a declared int parameter. Panics if the experiment asks for one it did not declare.
    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            ParamValue::Int(i) => *i,
            other => panic!("parameter `{name}` is {other:?}, not an int"),
        }
    }
    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            ParamValue::Float(x) => *x,
            ParamValue::Int(i) => *i as f64,
            other => panic!("parameter `{name}` is {other:?}, not a float"),
        }
    }
    pub fn bool(&self, name: &str) -> bool {
        match self.get(name) {
            ParamValue::Bool(b) => *b,
            other => panic!("parameter `{name}` is {other:?}, not a bool"),
        }
    }
    pub fn str(&self, name: &str) -> &str {
        match self.get(name) {
            ParamValue::Str(s) => s,
            other => panic!("parameter `{name}` is {other:?}, not a string"),
        }
    }
}

fn find<'a>(specs: &'a [ParamSpec], name: &str) -> Result<&'a ParamSpec, ParamError> {
    specs.iter().find(|s| s.name == name).ok_or_else(|| ParamError::Unknown {
        name: name.into(),
        known: if specs.is_empty() { "no parameters".into() } else { specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ") },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<ParamSpec> {
        vec![
            ParamSpec::int("n", 100, 1, 1000, "draws"),
            ParamSpec::float("h", 0.5, 0.0, 10.0, "bandwidth"),
            ParamSpec::choice("kernel", "tri", &["tri", "epa"], "kernel"),
        ]
    }

    #[test]
    fn defaults_fill_in_and_explicit_defaults_resolve_the_same() {
        let a = Params::from_args::<&str>(&specs(), &[]).unwrap();
        let b = Params::from_args(&specs(), &["n=100", "h=0.5"]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.int("n"), 100);
        assert_eq!(Params::from_args(&specs(), &["h=2"]).unwrap().float("h"), 2.0);
    }

    #[test]
    fn bad_params_name_the_problem() {
        let e = Params::from_args(&specs(), &["m=3"]).unwrap_err();
        assert_eq!(e.to_string(), "unknown parameter `m` (this experiment takes: n, h, kernel)");
        let e = Params::from_args(&specs(), &["n=3.5"]).unwrap_err();
        assert_eq!(e.to_string(), "parameter `n` expects int, got `3.5`");
        let e = Params::from_args(&specs(), &["n=0"]).unwrap_err();
        assert_eq!(e.to_string(), "parameter `n` = 0 is out of range 1..=1000");
        assert!(matches!(Params::from_args(&specs(), &["h=NaN"]), Err(ParamError::WrongType { .. })));
        assert!(matches!(Params::from_args(&specs(), &["kernel=box"]), Err(ParamError::OutOfRange { .. })));
        assert!(matches!(Params::from_args(&specs(), &["n"]), Err(ParamError::Malformed(_))));
        assert!(matches!(Params::from_args(&specs(), &["n=1", "n=2"]), Err(ParamError::Duplicate(_))));
    }

    #[test]
    fn json_params_are_checked_like_strings() {
        let mut m = BTreeMap::new();
        m.insert("n".to_string(), Value::from(5000));
        assert!(matches!(Params::from_json(&specs(), &m), Err(ParamError::OutOfRange { .. })));
        m.insert("n".to_string(), Value::from(50));
        assert_eq!(Params::from_json(&specs(), &m).unwrap().int("n"), 50);
    }
}
