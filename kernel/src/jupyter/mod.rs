//! The Jupyter kernel: five ZMQ sockets (pure-Rust `zeromq`), signed messages, busy/idle around
//! every request, and the shell/control handlers; cells go to the `Engine`.

#[cfg(feature = "notebook")]
mod build_seed;
mod connection;
#[cfg(feature = "notebook")]
pub mod content_relay;
pub mod emit;
pub mod engine;
pub mod install;
pub mod is_complete;
pub mod magics;
#[cfg(feature = "notebook")]
mod plain_display;
#[cfg(feature = "notebook")]
pub mod prepare;
#[cfg(feature = "notebook")]
pub mod type_probe;
#[cfg(feature = "notebook")]
mod rust_cells;
mod stderr_sync;
pub mod session;
pub mod wire;

use bytes::Bytes;
use emit::{Emit, IopubEmitter};
use engine::{Engine, EngineConfig, Status};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use wire::{Headers, Message, Signer, WireError};
use zeromq::{PubSocket, RepSocket, RouterSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

/// Runs the kernel until a shutdown request.
pub fn serve(connection_file: &Path, cfg: EngineConfig) -> anyhow::Result<()> {
    let info = connection::ConnectionInfo::read(connection_file)?;
    // The engine sets up its environment (RUST_SRC_PATH, EVCXR_CONFIG_DIR) before any other thread exists.
    let interrupt = engine::Interrupter::default();
    let engine = Engine::start(cfg, interrupt.clone());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(run(info, engine, interrupt))
}

/// What the socket tasks share.
struct Kernel {
    headers: Arc<Headers>,
    signer: Signer,
    iopub: mpsc::UnboundedSender<Message>,
    engine: Arc<Mutex<Engine>>,
    interrupt: engine::Interrupter,
}

impl Kernel {
    fn headers_handle(&self) -> Arc<Headers> {
        self.headers.clone()
    }

    fn publish(&self, parent: &Message, msg_type: &str, content: Value) {
        let mut m = self.headers.child(parent, msg_type, content);
        m.identities = vec![msg_type.as_bytes().to_vec()];
        let _ = self.iopub.send(m);
    }

    fn status(&self, parent: &Message, state: &str) {
        self.publish(parent, "status", json!({ "execution_state": state }));
    }
}

fn to_zmq(frames: Vec<Vec<u8>>) -> ZmqMessage {
    ZmqMessage::try_from(frames.into_iter().map(Bytes::from).collect::<Vec<_>>()).expect("a message has frames")
}

fn from_zmq(m: ZmqMessage) -> Vec<Vec<u8>> {
    m.into_vec().into_iter().map(|b| b.to_vec()).collect()
}

async fn run(info: connection::ConnectionInfo, engine: Engine, interrupt: engine::Interrupter) -> anyhow::Result<()> {
    let bind = |port: u16| info.endpoint(port);
    let mut hb = RepSocket::new();
    hb.bind(&bind(info.hb_port)).await?;
    let mut iopub = PubSocket::new();
    iopub.bind(&bind(info.iopub_port)).await?;
    let mut shell = RouterSocket::new();
    shell.bind(&bind(info.shell_port)).await?;
    let mut control = RouterSocket::new();
    control.bind(&bind(info.control_port)).await?;
    let mut stdin = RouterSocket::new();
    stdin.bind(&bind(info.stdin_port)).await?;

    let signer = Signer::new(&info.key);
    let (iotx, mut iorx) = mpsc::unbounded_channel::<Message>();
    let io_signer = signer.clone();
    tokio::spawn(async move {
        while let Some(m) = iorx.recv().await {
            if iopub.send(to_zmq(wire::encode(&m, &io_signer))).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        while let Ok(m) = hb.recv().await {
            if hb.send(m).await.is_err() {
                break;
            }
        }
    });
    // Keep the stdin socket bound (clients connect to it); input requests are not used yet.
    tokio::spawn(async move {
        while stdin.recv().await.is_ok() {}
    });

    let kernel = Arc::new(Kernel { headers: Arc::new(Headers::new()), signer, iopub: iotx, engine: Arc::new(Mutex::new(engine)), interrupt });

    // Signal-mode interrupts: SIGINT does what an interrupt_request does.
    let k = kernel.clone();
    tokio::spawn(async move {
        if let Ok(mut sig) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
            while sig.recv().await.is_some() {
                k.interrupt.interrupt();
            }
        }
    });

    let (stop_tx, mut stop_rx) = mpsc::unbounded_channel::<()>();
    let k = kernel.clone();
    let stop = stop_tx.clone();
    tokio::spawn(async move {
        while let Ok(zm) = control.recv().await {
            let Some(msg) = accept(&k, &mut control, from_zmq(zm)).await else { continue };
            k.status(&msg, "busy");
            let shutdown = handle_control(&k, &mut control, &msg).await;
            k.status(&msg, "idle");
            if shutdown {
                let _ = stop.send(());
                break;
            }
        }
    });
    let k = kernel.clone();
    tokio::spawn(async move {
        let mut queue: std::collections::VecDeque<Message> = Default::default();
        loop {
            let msg = match queue.pop_front() {
                Some(m) => m,
                None => match shell.recv().await {
                    Ok(zm) => match accept(&k, &mut shell, from_zmq(zm)).await {
                        Some(m) => m,
                        None => continue,
                    },
                    Err(_) => break,
                },
            };
            k.status(&msg, "busy");
            let (shutdown, held) = handle_shell(&k, &mut shell, &msg).await;
            k.status(&msg, "idle");
            if shutdown {
                let _ = stop_tx.send(());
                break;
            }
            abort_held(&k, &mut shell, held, &mut queue).await;
        }
    });
    stop_rx.recv().await;
    // Let the last replies and status messages leave before the process ends.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}

/// Decodes a message; a bad signature is logged and dropped, a malformed one answered with an error.
async fn accept(k: &Kernel, sock: &mut RouterSocket, frames: Vec<Vec<u8>>) -> Option<Message> {
    match wire::decode(frames.clone(), &k.signer) {
        Ok(m) => Some(m),
        Err(WireError::BadSignature) => {
            eprintln!("reprise kernel: dropped a message with an invalid signature");
            None
        }
        Err(WireError::Malformed(why)) => {
            eprintln!("reprise kernel: malformed message: {why}");
            // Answer if the header can be read, so the client is not left waiting.
            if let Some(parent) = wire::partial_header(&frames) {
                let reply_type = parent.msg_type().replace("_request", "_reply");
                let content = json!({ "status": "error", "ename": "MalformedMessage", "evalue": why, "traceback": [] });
                send(k, sock, k.headers.child(&parent, &reply_type, content)).await;
            }
            None
        }
    }
}

async fn send(k: &Kernel, sock: &mut RouterSocket, m: Message) {
    let _ = sock.send(to_zmq(wire::encode(&m, &k.signer))).await;
}

async fn reply(k: &Kernel, sock: &mut RouterSocket, parent: &Message, content: Value) {
    let t = parent.msg_type().replace("_request", "_reply");
    send(k, sock, k.headers.child(parent, &t, content)).await;
}

fn kernel_info() -> Value {
    json!({
        "status": "ok",
        "protocol_version": wire::PROTOCOL_VERSION,
        "implementation": "reprise",
        "implementation_version": env!("CARGO_PKG_VERSION"),
        "language_info": {
            "name": "rust",
            "version": crate::env::toolchain().lines().find_map(|l| l.strip_prefix("release: ")).unwrap_or(""),
            "mimetype": "text/rust",
            "file_extension": ".rs",
            "pygments_lexer": "rust",
            "codemirror_mode": "rust",
        },
        "banner": format!("Reprise {} — Rust cells (evcxr) and reproducible runs; `:help` lists the magics", env!("CARGO_PKG_VERSION")),
        "help_links": [{ "text": "Reprise magics", "url": "https://github.com/reprise/reprise#the-jupyter-kernel" }],
        "debugger": false,
    })
}

/// Returns true on shutdown.
async fn handle_control(k: &Arc<Kernel>, sock: &mut RouterSocket, msg: &Message) -> bool {
    match msg.msg_type() {
        "kernel_info_request" => reply(k, sock, msg, kernel_info()).await,
        "interrupt_request" => {
            k.interrupt.interrupt();
            reply(k, sock, msg, json!({ "status": "ok" })).await;
        }
        "shutdown_request" => {
            let restart = msg.content["restart"].as_bool().unwrap_or(false);
            k.engine.lock().unwrap_or_else(|p| p.into_inner()).shutdown();
            reply(k, sock, msg, json!({ "status": "ok", "restart": restart })).await;
            return true;
        }
        other => reply(k, sock, msg, json!({ "status": "error", "ename": "UnsupportedRequest", "evalue": format!("`{other}` is not handled on the control channel"), "traceback": [] })).await,
    }
    false
}

/// Returns (shutdown, requests held back because a cell failed with stop_on_error).
async fn handle_shell(k: &Arc<Kernel>, sock: &mut RouterSocket, msg: &Message) -> (bool, Vec<Message>) {
    let c = &msg.content;
    match msg.msg_type() {
        "kernel_info_request" => reply(k, sock, msg, kernel_info()).await,
        "execute_request" => return (false, execute(k, sock, msg).await),
        "is_complete_request" => {
            let code = c["code"].as_str().unwrap_or("");
            let content = match is_complete::check(code) {
                is_complete::Completeness::Complete => json!({ "status": "complete" }),
                is_complete::Completeness::Incomplete(indent) => json!({ "status": "incomplete", "indent": indent }),
                is_complete::Completeness::Invalid => json!({ "status": "invalid" }),
            };
            reply(k, sock, msg, content).await;
        }
        "complete_request" | "inspect_request" | "history_request" => {
            let engine = k.engine.clone();
            let (t, content) = (msg.msg_type().to_string(), c.clone());
            let answer = tokio::task::spawn_blocking(move || {
                let mut e = engine.lock().unwrap_or_else(|p| p.into_inner());
                match t.as_str() {
                    "complete_request" => e.complete(content["code"].as_str().unwrap_or(""), content["cursor_pos"].as_u64().unwrap_or(0) as usize),
                    "inspect_request" => e.inspect(content["code"].as_str().unwrap_or(""), content["cursor_pos"].as_u64().unwrap_or(0) as usize),
                    _ => e.history(&content),
                }
            })
            .await
            .unwrap_or_else(|e| json!({ "status": "error", "ename": "InternalError", "evalue": e.to_string(), "traceback": [] }));
            reply(k, sock, msg, answer).await;
        }
        "comm_info_request" => reply(k, sock, msg, json!({ "status": "ok", "comms": {} })).await,
        "comm_open" => {
            // No comm targets are registered: close it, as the protocol asks.
            k.publish(msg, "comm_close", json!({ "comm_id": c["comm_id"], "data": {} }));
        }
        "comm_msg" | "comm_close" => {}
        "shutdown_request" => {
            let restart = c["restart"].as_bool().unwrap_or(false);
            k.engine.lock().unwrap_or_else(|p| p.into_inner()).shutdown();
            reply(k, sock, msg, json!({ "status": "ok", "restart": restart })).await;
            return (true, Vec::new());
        }
        other => {
            eprintln!("reprise kernel: no handler for shell message `{other}`");
            reply(k, sock, msg, json!({ "status": "error", "ename": "UnsupportedRequest", "evalue": format!("`{other}` is not supported"), "traceback": [] })).await;
        }
    }
    (false, Vec::new())
}

/// Runs one execute_request. When it fails and stop_on_error is set, the requests already queued
/// behind it (received before its reply goes out) are returned, to be aborted.
async fn execute(k: &Arc<Kernel>, sock: &mut RouterSocket, msg: &Message) -> Vec<Message> {
    let c = &msg.content;
    let code = c["code"].as_str().unwrap_or("").to_string();
    let silent = c["silent"].as_bool().unwrap_or(false);
    let store_history = !silent && c["store_history"].as_bool().unwrap_or(true);
    let stop_on_error = c["stop_on_error"].as_bool().unwrap_or(true);
    let count = {
        let e = k.engine.lock().unwrap_or_else(|p| p.into_inner());
        e.count + u64::from(store_history)
    };
    if !silent {
        k.publish(msg, "execute_input", json!({ "code": code, "execution_count": count }));
    }
    let emitter: Arc<dyn Emit> = Arc::new(IopubEmitter::new(k.headers_handle(), msg.clone(), k.iopub.clone(), silent));
    let engine = k.engine.clone();
    let run_code = code.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut e = engine.lock().unwrap_or_else(|p| p.into_inner());
        e.execute(&run_code, emitter, store_history)
    })
    .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(join) => engine::Outcome::error("InternalError", &format!("the cell's thread failed: {join}"), vec![]),
    };
    let mut held = Vec::new();
    match &outcome.status {
        Status::Ok => {
            if let (Some(data), false) = (&outcome.result, silent) {
                k.publish(msg, "execute_result", json!({ "execution_count": count, "data": data, "metadata": {} }));
            }
            reply(k, sock, msg, json!({ "status": "ok", "execution_count": count, "user_expressions": {}, "payload": outcome.payload })).await;
        }
        Status::Error { ename, evalue, traceback } => {
            if stop_on_error {
                held = pending(k, sock).await;
            }
            if !silent {
                k.publish(msg, "error", json!({ "ename": ename, "evalue": evalue, "traceback": traceback }));
            }
            reply(k, sock, msg, json!({ "status": "error", "execution_count": count, "ename": ename, "evalue": evalue, "traceback": traceback, "user_expressions": {}, "payload": [] })).await;
        }
    }
    held
}

/// The requests that have already arrived on the shell socket.
async fn pending(k: &Arc<Kernel>, sock: &mut RouterSocket) -> Vec<Message> {
    let mut out = Vec::new();
    while let Ok(Ok(zm)) = tokio::time::timeout(Duration::from_millis(2), sock.recv()).await {
        if let Some(m) = accept(k, sock, from_zmq(zm)).await {
            out.push(m);
        }
    }
    out
}

/// After a failed cell: answers the held execute requests (and those queued) with `aborted`;
/// other requests go back to the queue in order.
async fn abort_held(k: &Arc<Kernel>, sock: &mut RouterSocket, held: Vec<Message>, queue: &mut std::collections::VecDeque<Message>) {
    if held.is_empty() {
        return;
    }
    let mut all: Vec<Message> = queue.drain(..).collect();
    all.extend(held);
    for m in all {
        if m.msg_type() == "execute_request" {
            k.status(&m, "busy");
            reply(k, sock, &m, json!({ "status": "aborted", "execution_count": Value::Null, "user_expressions": {}, "payload": [] })).await;
            k.status(&m, "idle");
        } else {
            queue.push_back(m);
        }
    }
}
