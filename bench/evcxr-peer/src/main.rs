//! evcxr_jupyter 0.22.0 unchanged: the peer the kernel benchmark measures against.
fn main() -> anyhow::Result<()> {
    evcxr_jupyter::main()
}
