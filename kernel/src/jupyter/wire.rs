//! The Jupyter wire protocol (messaging 5.3): multipart frames, HMAC-SHA256 signatures checked on
//! every incoming message, and headers for outgoing ones.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, Ordering};

pub const DELIMITER: &[u8] = b"<IDS|MSG>";
pub const PROTOCOL_VERSION: &str = "5.3";

/// One message: routing identities, the four JSON parts and any binary buffers.
#[derive(Clone, Debug)]
pub struct Message {
    pub identities: Vec<Vec<u8>>,
    pub header: Value,
    pub parent_header: Value,
    pub metadata: Value,
    pub content: Value,
    pub buffers: Vec<Vec<u8>>,
}

impl Message {
    pub fn msg_type(&self) -> &str {
        self.header["msg_type"].as_str().unwrap_or("")
    }
}

#[derive(Debug)]
pub enum WireError {
    BadSignature,
    Malformed(String),
}

impl std::error::Error for WireError {}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::BadSignature => f.write_str("signature does not match the connection key"),
            WireError::Malformed(m) => write!(f, "malformed message: {m}"),
        }
    }
}

/// Signs and checks messages with the connection file's key (an empty key disables signing).
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    pub fn new(key: &str) -> Signer {
        Signer { key: key.as_bytes().to_vec() }
    }

    fn mac(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        for p in parts {
            mac.update(p);
        }
        mac
    }

    pub fn sign(&self, parts: &[&[u8]]) -> String {
        if self.key.is_empty() {
            return String::new();
        }
        self.mac(parts).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Constant-time check of a hex signature.
    pub fn verify(&self, signature: &[u8], parts: &[&[u8]]) -> bool {
        if self.key.is_empty() {
            return true;
        }
        let Some(raw) = decode_hex(signature) else { return false };
        self.mac(parts).verify_slice(&raw).is_ok()
    }
}

fn decode_hex(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks(2)
        .map(|p| {
            let h = (p[0] as char).to_digit(16)?;
            let l = (p[1] as char).to_digit(16)?;
            Some((h * 16 + l) as u8)
        })
        .collect()
}

/// Parses and verifies incoming frames.
pub fn decode(frames: Vec<Vec<u8>>, signer: &Signer) -> Result<Message, WireError> {
    let pos = frames.iter().position(|f| f == DELIMITER).ok_or_else(|| WireError::Malformed("no <IDS|MSG> delimiter".into()))?;
    if frames.len() < pos + 6 {
        return Err(WireError::Malformed(format!("{} frames after the delimiter, need at least 5", frames.len() - pos - 1)));
    }
    let parts: Vec<&[u8]> = frames[pos + 2..pos + 6].iter().map(Vec::as_slice).collect();
    if !signer.verify(&frames[pos + 1], &parts) {
        return Err(WireError::BadSignature);
    }
    let json = |i: usize, name: &str| -> Result<Value, WireError> {
        serde_json::from_slice(&frames[pos + 2 + i]).map_err(|e| WireError::Malformed(format!("{name} is not JSON: {e}")))
    };
    let header = json(0, "header")?;
    if !header.is_object() || header["msg_type"].as_str().is_none() {
        return Err(WireError::Malformed("header lacks msg_type".into()));
    }
    Ok(Message {
        identities: frames[..pos].to_vec(),
        header,
        parent_header: json(1, "parent_header")?,
        metadata: json(2, "metadata")?,
        content: json(3, "content")?,
        buffers: frames[pos + 6..].to_vec(),
    })
}

/// The routing identities and header of a message that failed to decode, if the header is
/// readable, so the kernel can still answer it with an error.
pub fn partial_header(frames: &[Vec<u8>]) -> Option<Message> {
    let pos = frames.iter().position(|f| f == DELIMITER)?;
    let header: Value = serde_json::from_slice(frames.get(pos + 2)?).ok()?;
    header["msg_type"].as_str()?;
    Some(Message { identities: frames[..pos].to_vec(), header, parent_header: json!({}), metadata: json!({}), content: json!({}), buffers: vec![] })
}

/// Serialises and signs a message into frames.
pub fn encode(msg: &Message, signer: &Signer) -> Vec<Vec<u8>> {
    let parts: Vec<Vec<u8>> = [&msg.header, &msg.parent_header, &msg.metadata, &msg.content]
        .iter()
        .map(|v| serde_json::to_vec(v).expect("JSON values serialise"))
        .collect();
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let sig = signer.sign(&refs);
    let mut frames = msg.identities.clone();
    frames.push(DELIMITER.to_vec());
    frames.push(sig.into_bytes());
    frames.extend(parts);
    frames.extend(msg.buffers.iter().cloned());
    frames
}

/// Makes headers for this kernel's messages.
pub struct Headers {
    session: String,
    counter: AtomicU64,
}

impl Headers {
    pub fn new() -> Headers {
        Headers { session: uuid::Uuid::new_v4().to_string(), counter: AtomicU64::new(0) }
    }

    pub fn make(&self, msg_type: &str) -> Value {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        json!({
            "msg_id": format!("{}_{n}", self.session),
            "session": self.session,
            "username": "reprise",
            "date": humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string(),
            "msg_type": msg_type,
            "version": PROTOCOL_VERSION,
        })
    }

    /// A message answering or reporting on `parent`.
    pub fn child(&self, parent: &Message, msg_type: &str, content: Value) -> Message {
        Message {
            identities: parent.identities.clone(),
            header: self.make(msg_type),
            parent_header: parent.header.clone(),
            metadata: json!({}),
            content,
            buffers: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_reject_a_bad_signature() {
        let signer = Signer::new("secret");
        let h = Headers::new();
        let msg = Message {
            identities: vec![b"peer".to_vec()],
            header: h.make("kernel_info_request"),
            parent_header: json!({}),
            metadata: json!({}),
            content: json!({"a": 1}),
            buffers: vec![],
        };
        let frames = encode(&msg, &signer);
        let back = decode(frames.clone(), &signer).unwrap();
        assert_eq!(back.msg_type(), "kernel_info_request");
        assert_eq!(back.identities, vec![b"peer".to_vec()]);
        let mut forged = frames.clone();
        let n = forged.len();
        forged[n - 1] = br#"{"a":2}"#.to_vec();
        assert!(matches!(decode(forged, &signer), Err(WireError::BadSignature)));
        assert!(matches!(decode(frames, &Signer::new("other")), Err(WireError::BadSignature)));
        assert!(matches!(decode(vec![b"x".to_vec()], &signer), Err(WireError::Malformed(_))));
    }
}
