//! Demonstration experiments that exercise the runner end to end.

pub mod pi;
