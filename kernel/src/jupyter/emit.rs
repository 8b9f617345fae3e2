//! Where a cell's output goes while it runs: iopub messages for a live kernel, a recorder for
//! sessions and headless replays.

use super::wire::{Headers, Message};
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;

/// A MIME bundle: mime type → data.
pub type Bundle = Map<String, Value>;

/// Receives what a cell emits while it runs.
pub trait Emit: Send + Sync {
    fn stream(&self, name: &str, text: &str);
    /// New display (`update` false) or an update of the display `id`.
    fn display(&self, data: Bundle, id: Option<&str>, update: bool);
    fn clear_output(&self, wait: bool);
}

/// Publishes on iopub, addressed to the execute request (nothing when the request is silent).
pub struct IopubEmitter {
    headers: Arc<Headers>,
    parent: Message,
    tx: UnboundedSender<Message>,
    silent: bool,
}

impl IopubEmitter {
    pub fn new(headers: Arc<Headers>, parent: Message, tx: UnboundedSender<Message>, silent: bool) -> Self {
        IopubEmitter { headers, parent, tx, silent }
    }

    fn publish(&self, msg_type: &str, content: Value) {
        if self.silent {
            return;
        }
        let mut m = self.headers.child(&self.parent, msg_type, content);
        m.identities = vec![msg_type.as_bytes().to_vec()];
        let _ = self.tx.send(m);
    }
}

impl Emit for IopubEmitter {
    fn stream(&self, name: &str, text: &str) {
        self.publish("stream", json!({ "name": name, "text": text }));
    }
    fn display(&self, data: Bundle, id: Option<&str>, update: bool) {
        let transient = id.map(|i| json!({ "display_id": i })).unwrap_or(json!({}));
        let t = if update { "update_display_data" } else { "display_data" };
        self.publish(t, json!({ "data": data, "metadata": {}, "transient": transient }));
    }
    fn clear_output(&self, wait: bool) {
        self.publish("clear_output", json!({ "wait": wait }));
    }
}

/// One thing a cell emitted.
#[derive(Clone, Debug, PartialEq)]
pub enum Emitted {
    Stream { name: String, text: String },
    Display { data: Bundle, update: bool },
    Clear,
}

/// Passes output on and keeps a copy for the session record.
pub struct Recorder {
    inner: Arc<dyn Emit>,
    pub log: Mutex<Vec<Emitted>>,
}

impl Recorder {
    pub fn new(inner: Arc<dyn Emit>) -> Arc<Recorder> {
        Arc::new(Recorder { inner, log: Mutex::new(Vec::new()) })
    }
    pub fn take(&self) -> Vec<Emitted> {
        std::mem::take(&mut self.log.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Emit for Recorder {
    fn stream(&self, name: &str, text: &str) {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).push(Emitted::Stream { name: name.into(), text: text.into() });
        self.inner.stream(name, text);
    }
    fn display(&self, data: Bundle, id: Option<&str>, update: bool) {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).push(Emitted::Display { data: data.clone(), update });
        self.inner.display(data, id, update);
    }
    fn clear_output(&self, wait: bool) {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).push(Emitted::Clear);
        self.inner.clear_output(wait);
    }
}

/// Discards everything (headless replays record through a `Recorder` around it).
pub struct Nowhere;

impl Emit for Nowhere {
    fn stream(&self, _: &str, _: &str) {}
    fn display(&self, _: Bundle, _: Option<&str>, _: bool) {}
    fn clear_output(&self, _: bool) {}
}

/// A bundle of text/plain and, when given, text/html.
pub fn text_bundle(plain: String, html: Option<String>) -> Bundle {
    let mut b = Map::new();
    b.insert("text/plain".into(), Value::String(plain));
    if let Some(h) = html {
        b.insert("text/html".into(), Value::String(h));
    }
    b
}
