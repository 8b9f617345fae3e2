//! NumPy `.npy` (format 1.0) writing and reading for the dtypes Reprise outputs, so arrays open in
//! numpy without Reprise and reruns can compare them element by element.

use std::fmt;

/// Element types Reprise writes (all little-endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F64,
    F32,
    I64,
    I32,
    U64,
    U8,
}

impl Dtype {
    pub fn descr(self) -> &'static str {
        match self {
            Dtype::F64 => "<f8",
            Dtype::F32 => "<f4",
            Dtype::I64 => "<i8",
            Dtype::I32 => "<i4",
            Dtype::U64 => "<u8",
            Dtype::U8 => "|u1",
        }
    }
    pub fn size(self) -> usize {
        match self {
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::U8 => 1,
        }
    }
    pub fn is_float(self) -> bool {
        matches!(self, Dtype::F64 | Dtype::F32)
    }
    fn from_descr(s: &str) -> Option<Dtype> {
        [Dtype::F64, Dtype::F32, Dtype::I64, Dtype::I32, Dtype::U64, Dtype::U8]
            .into_iter()
            .find(|d| d.descr() == s || (s == "<u1" && *d == Dtype::U8))
    }
}

/// Element types that can be written to `.npy`.
pub trait Element: Copy {
    const DTYPE: Dtype;
    fn put(self, out: &mut Vec<u8>);
}

macro_rules! element {
    ($($t:ty => $d:ident),*) => {$(
        impl Element for $t {
            const DTYPE: Dtype = Dtype::$d;
            fn put(self, out: &mut Vec<u8>) { out.extend_from_slice(&self.to_le_bytes()); }
        }
    )*};
}
element!(f64 => F64, f32 => F32, i64 => I64, i32 => I32, u64 => U64, u8 => U8);

/// Encodes a C-order array of `shape` as `.npy` bytes. Panics if `data` does not fill `shape`.
pub fn encode<T: Element>(shape: &[usize], data: &[T]) -> Vec<u8> {
    assert_eq!(shape.iter().product::<usize>(), data.len(), "npy: shape {shape:?} does not match {} elements", data.len());
    let shape_txt = match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", T::DTYPE.descr(), shape_txt);
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * T::DTYPE.size());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        x.put(&mut out);
    }
    out
}

/// A decoded array: dtype, shape and the raw little-endian element bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Array<'a> {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data: &'a [u8],
}

impl Array<'_> {
    pub fn len(&self) -> usize {
        self.data.len() / self.dtype.size()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Element `i` widened to f64 (exact for every dtype but 64-bit integers beyond 2^53).
    pub fn get_f64(&self, i: usize) -> f64 {
        let s = self.dtype.size();
        let b = &self.data[i * s..(i + 1) * s];
        match self.dtype {
            Dtype::F64 => f64::from_le_bytes(b.try_into().unwrap()),
            Dtype::F32 => f32::from_le_bytes(b.try_into().unwrap()) as f64,
            Dtype::I64 => i64::from_le_bytes(b.try_into().unwrap()) as f64,
            Dtype::I32 => i32::from_le_bytes(b.try_into().unwrap()) as f64,
            Dtype::U64 => u64::from_le_bytes(b.try_into().unwrap()) as f64,
            Dtype::U8 => b[0] as f64,
        }
    }
    /// The raw bytes of element `i`.
    pub fn raw(&self, i: usize) -> &[u8] {
        let s = self.dtype.size();
        &self.data[i * s..(i + 1) * s]
    }
}

/// Why bytes are not a `.npy` array Reprise can read.
#[derive(Debug, PartialEq)]
pub struct NpyError(pub String);

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a readable .npy array: {}", self.0)
    }
}
impl std::error::Error for NpyError {}

/// Decodes `.npy` bytes (format 1.x/2.x, C order, the dtypes of [`Dtype`]).
pub fn decode(bytes: &[u8]) -> Result<Array<'_>, NpyError> {
    let err = |m: &str| NpyError(m.to_string());
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(err("missing the \\x93NUMPY magic"));
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
        v => return Err(NpyError(format!("unsupported format version {v}"))),
    };
    let header = bytes.get(start..start + hlen).ok_or_else(|| err("header runs past the end"))?;
    let header = std::str::from_utf8(header).map_err(|_| err("header is not text"))?;
    let field = |name: &str| -> Result<&str, NpyError> {
        let key = format!("'{name}':");
        let at = header.find(&key).ok_or_else(|| NpyError(format!("header lacks `{name}`")))?;
        Ok(header[at + key.len()..].trim_start())
    };
    let descr = field("descr")?;
    let descr = descr.strip_prefix('\'').and_then(|d| d.split('\'').next()).ok_or_else(|| err("bad descr"))?;
    let dtype = Dtype::from_descr(descr).ok_or_else(|| NpyError(format!("dtype {descr} is not supported")))?;
    if field("fortran_order")?.starts_with("True") {
        return Err(err("Fortran-order arrays are not supported"));
    }
    let shape = field("shape")?;
    let shape = shape.strip_prefix('(').and_then(|s| s.split(')').next()).ok_or_else(|| err("bad shape"))?;
    let shape: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| NpyError(format!("bad shape entry `{s}`"))))
        .collect::<Result<_, _>>()?;
    let data = &bytes[start + hlen..];
    let expect = shape.iter().product::<usize>() * dtype.size();
    if data.len() != expect {
        return Err(NpyError(format!("shape {shape:?} needs {expect} data bytes, found {}", data.len())));
    }
    Ok(Array { dtype, shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_aligns_the_header() {
        let bytes = encode(&[2, 3], &[1.0f64, 2.0, 3.0, 4.0, 5.0, -0.5]);
        assert_eq!((bytes.len() - 48) % 64, 0, "data starts on a 64-byte boundary");
        let a = decode(&bytes).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.dtype, Dtype::F64);
        assert_eq!(a.get_f64(5), -0.5);
        let one = encode(&[4], &[1u8, 2, 3, 4]);
        assert_eq!(decode(&one).unwrap().shape, vec![4]);
        assert!(String::from_utf8_lossy(&one).contains("'shape': (4,)"));
    }

    #[test]
    fn rejects_truncated_data() {
        let mut bytes = encode(&[3], &[1i64, 2, 3]);
        bytes.pop();
        assert!(decode(&bytes).unwrap_err().0.contains("needs 24 data bytes"));
    }
}
