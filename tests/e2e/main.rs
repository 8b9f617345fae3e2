//! End-to-end tests across crates: the `reprise` binary against real stores and real git
//! repositories made in temporary directories.

mod bundle;
mod exits;
mod gc;
mod lock;
mod remote;
mod repair;
mod rerun;
mod runs;
mod share;
mod store;
mod sweep;
mod support;
