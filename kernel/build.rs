//! Embeds what the spec records about the build: `rustc -vV` of the compiler and the target triple.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc).arg("-vV").output().expect("running rustc -vV");
    let text = String::from_utf8(out.stdout).expect("rustc -vV prints UTF-8");
    let dir = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{dir}/rustc-vV.txt"), text).unwrap();
    println!("cargo:rustc-env=REPRISE_TARGET={}", std::env::var("TARGET").unwrap());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
