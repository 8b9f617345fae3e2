//! Fuzz target: `bundle::unpack_with` on arbitrary bytes must answer Ok or a named error, never
//! panic, and leave nothing in the store (no scratch, no object) either way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reprise_store::Store;
use reprise_store::bundle::{Limits, unpack_with};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path()).unwrap();
    let limits = Limits { max_expanded: 1 << 20, max_entries: 256 };
    if let Ok(u) = unpack_with(&store, data, limits) {
        drop(u);
    }
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0, "scratch left behind");
    assert!(store.list().unwrap().is_empty(), "unpack published an object");
});
