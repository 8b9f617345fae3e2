//! `reprise kernel install|uninstall`: the kernelspec Jupyter needs to start this binary as a kernel.

use serde_json::json;
use std::path::{Path, PathBuf};

const LOGO: &[u8] = include_bytes!("../../assets/logo-64x64.png");

/// Where kernelspecs go.
#[derive(Debug, Clone)]
pub enum Location {
    User,
    SysPrefix,
    Dir(PathBuf),
}

fn data_dir(prefix: &Location) -> anyhow::Result<PathBuf> {
    Ok(match prefix {
        Location::User => match std::env::var_os("JUPYTER_DATA_DIR") {
            Some(d) => PathBuf::from(d),
            None => {
                let home = std::env::var_os("HOME").ok_or_else(|| anyhow::anyhow!("HOME is not set; use --prefix DIR"))?;
                let base = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from).unwrap_or_else(|| Path::new(&home).join(".local/share"));
                base.join("jupyter")
            }
        },
        Location::SysPrefix => {
            let out = std::process::Command::new("python3").args(["-c", "import sys; print(sys.prefix)"]).output()?;
            anyhow::ensure!(out.status.success(), "could not ask python3 for sys.prefix; use --prefix DIR");
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("share/jupyter")
        }
        Location::Dir(d) => d.join("share/jupyter"),
    })
}

/// The kernelspec folder for `name` under `prefix`.
pub fn spec_dir(prefix: &Location, name: &str) -> anyhow::Result<PathBuf> {
    Ok(data_dir(prefix)?.join("kernels").join(name))
}

/// Writes kernel.json and the logo; returns the folder.
pub fn install(prefix: &Location, name: &str, store: Option<&Path>) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?.canonicalize()?;
    let dir = spec_dir(prefix, name)?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        crate::error::user(
            format!("cannot create the kernelspec folder {}: {e}", dir.display()),
            Some("give --prefix a folder you can write (a venv's, say), or --user (the default)"),
        )
    })?;
    let mut argv = vec![exe.to_string_lossy().into_owned()];
    if let Some(s) = store {
        argv.push("--store".into());
        argv.push(s.canonicalize().unwrap_or_else(|_| s.to_path_buf()).to_string_lossy().into_owned());
    }
    argv.extend(["kernel".into(), "--connection-file".into(), "{connection_file}".into()]);
    let spec = json!({
        "argv": argv,
        "display_name": "Rust (Reprise)",
        "language": "rust",
        "interrupt_mode": "message",
        "metadata": { "reprise_version": env!("CARGO_PKG_VERSION") },
    });
    let tmp = dir.join("kernel.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&spec)? + "\n")?;
    std::fs::rename(&tmp, dir.join("kernel.json"))?;
    std::fs::write(dir.join("logo-64x64.png"), LOGO)?;
    Ok(dir)
}

/// Removes the kernelspec; returns the folder removed, if there was one.
pub fn uninstall(prefix: &Location, name: &str) -> anyhow::Result<Option<PathBuf>> {
    let dir = spec_dir(prefix, name)?;
    if !dir.join("kernel.json").exists() {
        return Ok(None);
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(Some(dir))
}
