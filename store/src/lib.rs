//! Reprise's content-addressed store: bytes in, SHA-256 digest out, and back.
//! It knows nothing of runs, experiments or Jupyter: only objects, refs, verification and gc.
//!
//! Layout under the root: `FORMAT` (layout version), `objects/sha256/ab/cdef…` (immutable,
//! read-only), `refs/…` (mutable names, compare-and-swap), `tmp/` (writes in progress),
//! `cache/` (rebuildable scratch space owned by callers, e.g. rerun worktrees), `pins/` (each
//! live writer's temporary roots) and `gc.lock` (see [`pins`]).

pub mod bundle;
mod digest;
mod error;
mod gc;
mod objects;
pub mod pins;
mod refs;
pub mod remote;
mod verify;

pub use digest::{Digest, Hasher};
pub use error::StoreError;
pub use gc::{GcOptions, GcReport};
pub use objects::{Incoming, Store};
pub use refs::RefExpect;
pub use verify::{Progress, VerifyReport};

/// The version written to `FORMAT`.
pub const FORMAT: &str = "reprise-store 1";
