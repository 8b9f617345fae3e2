//! The connection file Jupyter hands the kernel: transport, addresses, ports and signing key.

use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
pub struct ConnectionInfo {
    #[serde(default = "tcp")]
    pub transport: String,
    pub ip: String,
    pub shell_port: u16,
    pub iopub_port: u16,
    pub stdin_port: u16,
    pub control_port: u16,
    pub hb_port: u16,
    #[serde(default)]
    pub key: String,
    #[serde(default = "hmac")]
    pub signature_scheme: String,
}

fn tcp() -> String {
    "tcp".into()
}
fn hmac() -> String {
    "hmac-sha256".into()
}

impl ConnectionInfo {
    pub fn read(path: &Path) -> anyhow::Result<ConnectionInfo> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read connection file {}: {e}", path.display()))?;
        let info: ConnectionInfo =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("connection file {} is not valid: {e}", path.display()))?;
        if info.transport != "tcp" {
            anyhow::bail!("transport `{}` is not supported (only tcp); start the kernel with a tcp connection file", info.transport);
        }
        if !info.key.is_empty() && info.signature_scheme != "hmac-sha256" {
            anyhow::bail!("signature scheme `{}` is not supported (only hmac-sha256)", info.signature_scheme);
        }
        Ok(info)
    }

    pub fn endpoint(&self, port: u16) -> String {
        format!("{}://{}:{}", self.transport, self.ip, port)
    }
}
