//! Canonical JSON: the one byte encoding of everything Reprise hashes (specs, records, manifests).
//! Same value, same bytes — whatever the insertion order, the platform or the serde features enabled.
//!
//! The rules:
//! 1. UTF-8, no insignificant whitespace.
//! 2. Object keys sorted by their UTF-8 bytes (the order of `BTreeMap<String, _>`); duplicate keys
//!    cannot occur. The encoder sorts explicitly, so it does not matter whether serde_json's
//!    `preserve_order` feature is on somewhere in the build.
//! 3. Integers (anything serde sees as `i64`/`u64`) are written as decimal integers.
//! 4. Floats must be finite (NaN and ±inf are an error, never a silent `null`) and are written in
//!    the shortest form that round-trips (ryu, as serde_json writes them: `0.1`, `2.0`, `1e+300`, `-0.0`).
//!    Reading back relies on serde_json's `float_roundtrip` feature (the default parser is not
//!    correctly rounded and would change a stored parameter in its last bit).
//! 5. Strings are escaped as serde_json escapes them: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`,
//!    other control characters as `\u00XX`, everything else literally.

use serde::ser::{self, Serialize};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Why a value has no canonical encoding.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CanonError {
    #[error("non-finite float {value} at {path}: canonical JSON has no NaN or infinity")]
    NonFinite { value: f64, path: String },
    #[error("map key at {0} is not a string or an integer")]
    BadKey(String),
    #[error("{0}")]
    Custom(String),
}

impl ser::Error for CanonError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CanonError::Custom(msg.to_string())
    }
}

/// Encodes a JSON value canonically.
pub fn encode(value: &Value) -> Result<Vec<u8>, CanonError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out, &mut String::from("$"))?;
    Ok(out)
}

/// Serializes `value` and encodes it canonically.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonError> {
    encode(&to_value(value)?)
}

/// Serializes `value` into a `serde_json::Value`, rejecting non-finite floats (serde_json would
/// turn them into `null`).
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, CanonError> {
    value.serialize(ValueSer { path: "$".into() })
}

/// Checks that a float can be hashed; returns it as a JSON number.
pub fn float(path: &str, x: f64) -> Result<Value, CanonError> {
    Number::from_f64(x)
        .map(Value::Number)
        .ok_or_else(|| CanonError::NonFinite { value: x, path: path.to_string() })
}

fn write_value(v: &Value, out: &mut Vec<u8>, path: &mut String) -> Result<(), CanonError> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64())
                && !f.is_finite()
            {
                return Err(CanonError::NonFinite { value: f, path: path.clone() });
            }
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                write_value(item, out, path)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                let len = path.len();
                path.push('.');
                path.push_str(k);
                write_value(&map[k], out, path)?;
                path.truncate(len);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    // serde_json's string escaping is fixed and documented; reuse it rather than re-deriving it.
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

struct ValueSer {
    path: String,
}

impl ValueSer {
    fn child(&self, seg: impl fmt::Display) -> ValueSer {
        ValueSer { path: format!("{}{}", self.path, seg) }
    }
}

macro_rules! int_ser {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<Value, CanonError> { Ok(Value::from(v)) }
    )*};
}

impl ser::Serializer for ValueSer {
    type Ok = Value;
    type Error = CanonError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = VariantSer<SeqSer>;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = VariantSer<MapSer>;

    int_ser!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
             serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64);

    fn serialize_bool(self, v: bool) -> Result<Value, CanonError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, CanonError> {
        i64::try_from(v).map(Value::from).map_err(|_| CanonError::Custom(format!("integer {v} at {} does not fit in 64 bits", self.path)))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, CanonError> {
        u64::try_from(v).map(Value::from).map_err(|_| CanonError::Custom(format!("integer {v} at {} does not fit in 64 bits", self.path)))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, CanonError> {
        float(&self.path, v as f64)
    }
    fn serialize_f64(self, v: f64) -> Result<Value, CanonError> {
        float(&self.path, v)
    }
    fn serialize_char(self, v: char) -> Result<Value, CanonError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, CanonError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, CanonError> {
        Ok(Value::Array(v.iter().map(|b| Value::from(*b)).collect()))
    }
    fn serialize_none(self) -> Result<Value, CanonError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, CanonError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, CanonError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, CanonError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Value, CanonError> {
        Ok(Value::String(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<Value, CanonError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, CanonError> {
        let inner = v.serialize(self.child(format_args!(".{variant}")))?;
        let mut m = Map::new();
        m.insert(variant.to_string(), inner);
        Ok(Value::Object(m))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, CanonError> {
        Ok(SeqSer { path: self.path, items: Vec::with_capacity(len.unwrap_or(0)) })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, CanonError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqSer, CanonError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSer<SeqSer>, CanonError> {
        let inner = self.child(format_args!(".{variant}")).serialize_seq(Some(len))?;
        Ok(VariantSer { variant, inner })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSer, CanonError> {
        Ok(MapSer { path: self.path, map: Map::new(), key: None })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapSer, CanonError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSer<MapSer>, CanonError> {
        let inner = self.child(format_args!(".{variant}")).serialize_map(Some(len))?;
        Ok(VariantSer { variant, inner })
    }
}

#[doc(hidden)]
pub struct SeqSer {
    path: String,
    items: Vec<Value>,
}

impl SeqSer {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CanonError> {
        let path = format!("{}[{}]", self.path, self.items.len());
        self.items.push(v.serialize(ValueSer { path })?);
        Ok(())
    }
}

impl ser::SerializeSeq for SeqSer {
    type Ok = Value;
    type Error = CanonError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CanonError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, CanonError> {
        Ok(Value::Array(self.items))
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Value;
    type Error = CanonError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CanonError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, CanonError> {
        Ok(Value::Array(self.items))
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Value;
    type Error = CanonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CanonError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, CanonError> {
        Ok(Value::Array(self.items))
    }
}

#[doc(hidden)]
pub struct MapSer {
    path: String,
    map: Map<String, Value>,
    key: Option<String>,
}

impl MapSer {
    fn field<T: Serialize + ?Sized>(&mut self, key: String, v: &T) -> Result<(), CanonError> {
        let value = v.serialize(ValueSer { path: format!("{}.{}", self.path, key) })?;
        self.map.insert(key, value);
        Ok(())
    }
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = CanonError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), CanonError> {
        let k = match key.serialize(ValueSer { path: self.path.clone() })? {
            Value::String(s) => s,
            Value::Number(n) if !n.is_f64() => n.to_string(),
            _ => return Err(CanonError::BadKey(self.path.clone())),
        };
        self.key = Some(k);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CanonError> {
        let key = self.key.take().ok_or_else(|| CanonError::Custom("map value without a key".into()))?;
        self.field(key, v)
    }
    fn end(self) -> Result<Value, CanonError> {
        Ok(Value::Object(self.map))
    }
}

impl ser::SerializeStruct for MapSer {
    type Ok = Value;
    type Error = CanonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), CanonError> {
        self.field(key.to_string(), v)
    }
    fn end(self) -> Result<Value, CanonError> {
        Ok(Value::Object(self.map))
    }
}

#[doc(hidden)]
pub struct VariantSer<S> {
    variant: &'static str,
    inner: S,
}

impl VariantSer<SeqSer> {
    fn wrap(self) -> Value {
        let mut m = Map::new();
        m.insert(self.variant.to_string(), Value::Array(self.inner.items));
        Value::Object(m)
    }
}

impl ser::SerializeTupleVariant for VariantSer<SeqSer> {
    type Ok = Value;
    type Error = CanonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CanonError> {
        self.inner.push(v)
    }
    fn end(self) -> Result<Value, CanonError> {
        Ok(self.wrap())
    }
}

impl ser::SerializeStructVariant for VariantSer<MapSer> {
    type Ok = Value;
    type Error = CanonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), CanonError> {
        self.inner.field(key.to_string(), v)
    }
    fn end(self) -> Result<Value, CanonError> {
        let mut m = Map::new();
        m.insert(self.variant.to_string(), Value::Object(self.inner.map));
        Ok(Value::Object(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::{BTreeMap, HashMap};

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v = json!({"b": 1, "a": [true, null, "x\ny"], "c": {"z": 0.1, "y": -2}});
        assert_eq!(
            String::from_utf8(encode(&v).unwrap()).unwrap(),
            r#"{"a":[true,null,"x\ny"],"b":1,"c":{"y":-2,"z":0.1}}"#
        );
    }

    #[test]
    fn floats_are_shortest_round_trip_and_integers_stay_integers() {
        let v = to_value(&(2.0f64, 1e300f64, 0.1f64, -0.0f64, 7u64, -7i32)).unwrap();
        assert_eq!(String::from_utf8(encode(&v).unwrap()).unwrap(), "[2.0,1e+300,0.1,-0.0,7,-7]");
    }

    #[test]
    fn non_finite_floats_are_rejected_with_their_path() {
        #[derive(serde::Serialize)]
        struct S {
            est: Vec<f64>,
        }
        let err = to_vec(&S { est: vec![1.0, f64::NAN] }).unwrap_err();
        assert!(matches!(&err, CanonError::NonFinite { path, .. } if path == "$.est[1]"), "{err}");
        assert!(to_vec(&f64::INFINITY).is_err());
    }

    proptest! {
        #[test]
        fn insertion_order_never_changes_the_bytes(entries in proptest::collection::vec(("[a-z]{0,6}", any::<i64>(), -1e12f64..1e12), 0..24)) {
            let forward: HashMap<String, (i64, f64)> = entries.iter().map(|(k, i, f)| (k.clone(), (*i, *f))).collect();
            let mut m1 = Map::new();
            let mut m2 = Map::new();
            let mut keys: Vec<_> = forward.keys().cloned().collect();
            for k in &keys { m1.insert(k.clone(), to_value(&forward[k]).unwrap()); }
            keys.reverse();
            for k in &keys { m2.insert(k.clone(), to_value(&forward[k]).unwrap()); }
            let sorted: BTreeMap<_, _> = forward.clone().into_iter().collect();
            let a = encode(&Value::Object(m1)).unwrap();
            prop_assert_eq!(&a, &encode(&Value::Object(m2)).unwrap());
            prop_assert_eq!(&a, &to_vec(&forward).unwrap());
            prop_assert_eq!(&a, &to_vec(&sorted).unwrap());
            // Canonical bytes parse back to the same value.
            let back: Value = serde_json::from_slice(&a).unwrap();
            prop_assert_eq!(encode(&back).unwrap(), a);
        }
    }
}
