"""Kernel speed, driving kernels with jupyter_client, as ratios against evcxr_jupyter measured in
the same run, cell by cell in turn (when its kernelspec `rust` is installed: bash
bench/evcxr-peer/install.sh builds evcxr_jupyter 0.22.0 and installs it; otherwise only our own
figures print).

  launch → first kernel_info_reply          (target: < 0.5 s; evcxr_jupyter: 2–3 s)
  magic cell round trip (:show, memoised :run) (target: < 20 ms)
  trivial Rust cell, and with 50 live variables (target: no slower than evcxr_jupyter)
  a cell ending in an immutable variable, with 50 live variables (evcxr compiles both such cells
  twice, first trying `evcxr_display`; reprise once: kernel/src/jupyter/plain_display.rs)
  an untyped `let` where rust-analyzer cannot type std (no rust-src; forced here with
  REPRISE_KERNEL_NO_RUST_SRC=1): the compiler names the type in one extra compile
  (kernel/src/jupyter/type_probe.rs); ratio against the same cell with its type written, same
  kernel, cells alternating (target: at most one extra compile, about 2x)
  the science in cells, on a store prepared by `reprise kernel prepare` (the bench runs it):
  a fresh kernel's `:dep reprise-rdd` (and -causal, -discocat, -qbs; target: < 10 s) and a cell refitting rdrobust on the
  Senate data (target: < 0.5 s round trip); no peer (evcxr_jupyter builds the crate cold, ~90 s)

Usage: REPRISE_STORE=$(mktemp -d) target/test-venv/bin/python bench/kernel.py [--rounds N]
"""
import argparse
import statistics
import time

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager


def launch(name):
    km = KernelManager(kernel_name=name)
    t0 = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    # One request: ZMQ queues it until the kernel's socket is bound, so nothing is lost.
    msg_id = kc.kernel_info()
    while kc.get_shell_msg(timeout=60)["parent_header"].get("msg_id") != msg_id:
        pass
    return km, kc, time.perf_counter() - t0


def cell(kc, code):
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    while True:
        r = kc.get_shell_msg(timeout=120)
        if r["parent_header"].get("msg_id") == msg_id:
            break
    while True:
        m = kc.iopub_channel.get_msg(timeout=120)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
    assert r["content"]["status"] == "ok", r["content"]
    return time.perf_counter() - t0


def launches(name):
    """Fastest of three launches to the first kernel_info_reply."""
    out = []
    for _ in range(3):
        km, kc, t = launch(name)
        out.append(t)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return min(out)


def interleaved(kernels, code, rounds):
    """Median per kernel of `rounds` runs of `code`, the kernels taking turns cell by cell (first
    one, then the other), so that the machine's load drifts over both alike; with two kernels also the per-round ratios
    (first / second), under "ratios"."""
    times = {name: [] for name in kernels}
    order = list(kernels.items())
    for _ in range(rounds):
        for name, kc in order:
            times[name].append(cell(kc, code))
        order.reverse()  # neither kernel always goes first
    out = {name: statistics.median(t) for name, t in times.items()}
    if len(times) == 2:
        a, b = times.values()
        out["ratios"] = sorted(x / y for x, y in zip(a, b))
    return out


def ratio_interval(r):
    """Median of the per-round ratios and a distribution-free ~95% interval for it (order
    statistics of the sign test: ranks n/2 ± 0.98·√n)."""
    n = len(r)
    k = max(0, int(n / 2 - 0.98 * n ** 0.5))
    return statistics.median(r), r[k], r[n - 1 - k]


def untyped_let(rounds):
    """An untyped `let` typed by the compiler against the same cell with its type written, in one
    kernel on the no-rust-src path with 50 live variables; per-round ratios untyped / typed."""
    import os
    km = KernelManager(kernel_name="reprise")
    km.start_kernel(env={**os.environ, "REPRISE_KERNEL_NO_RUST_SRC": "1"})
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    cell(kc, "\n".join(f"let v{i}: u64 = {i};" for i in range(50)))
    cell(kc, "let w = vec![1u8, 2];")  # the note, said once
    untyped, typed = [], []
    for i in range(rounds):
        pair = [("untyped", "let w = vec![1u8, 2];"), ("typed", "let w: Vec<u8> = vec![1u8, 2];")]
        for name, code in pair if i % 2 == 0 else reversed(pair):
            (untyped if name == "untyped" else typed).append(cell(kc, code))
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    # Reported as the "reprise" column (untyped) against the typed cell in the peer's column.
    return {"reprise": statistics.median(untyped), "rust": statistics.median(typed), "ratios": sorted(x / y for x, y in zip(untyped, typed)), "peer": "typed"}


def science(rounds):
    """`:dep` of each science crate in fresh kernels on a prepared store (three kernels for the RDD
    crate, one for each other), then rdrobust refits in one kernel."""
    import subprocess
    spec = KernelSpecManager().get_kernel_spec("reprise")
    subprocess.run([spec.argv[0], "--quiet", "kernel", "prepare"], check=True, stdout=subprocess.DEVNULL)
    rows, deps, refits = {}, [], []
    for i in range(3):
        km, kc, _ = launch("reprise")
        deps.append(cell(kc, ":dep reprise-rdd"))
        if i == 0:
            cell(kc, 'let senate: reprise_rdd::Frame = reprise_rdd::senate();')
            code = 'reprise_rdd::Rdrobust::from_frame(&senate, "vote", "margin")?.kernel(reprise_rdd::Kernel::Epanechnikov).fit()?.tau()'
            cell(kc, code)
            refits = [cell(kc, code) for _ in range(rounds)]
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    rows["dep_rdd_prepared"] = {"reprise": statistics.median(deps)}
    for krate in ["causal", "discocat", "qbs"]:
        km, kc, _ = launch("reprise")
        rows[f"dep_{krate}_prepared"] = {"reprise": cell(kc, f":dep reprise-{krate}")}
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    rows["rdrobust_refit"] = {"reprise": statistics.median(refits)}
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    a = ap.parse_args()
    names = ["reprise"] + (["rust"] if "rust" in KernelSpecManager().find_kernel_specs() else [])
    rows = {"launch": {n: launches(n) for n in names}}
    started = {n: launch(n)[:2] for n in names}
    kernels = {n: kc for n, (_, kc) in started.items()}
    for kc in kernels.values():
        cell(kc, "1 + 1")  # warm up: the first Rust cell waits for the engine
    rows["trivial"] = interleaved(kernels, "1 + 1", a.rounds)
    for kc in kernels.values():
        cell(kc, "\n".join(f"let v{i} = {i}u64;" for i in range(50)))
    rows["trivial_50_vars"] = interleaved(kernels, "1 + 1", a.rounds)
    # A final expression that is an immutable variable (reprise borrows it: `&(v7)`).
    rows["final_variable_50_vars"] = interleaved(kernels, "v7", a.rounds)
    ours = kernels["reprise"]
    cell(ours, ":run demo.pi seed=1 n=1000 tasks=2")
    rows["magic_run_memoised"] = interleaved({"reprise": ours}, ":run demo.pi seed=1 n=1000 tasks=2", a.rounds)
    rows["magic_show"] = interleaved({"reprise": ours}, ":show last", a.rounds)
    for km, kc in started.values():
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    rows["untyped_let_no_src"] = untyped_let(a.rounds)
    rows.update(science(a.rounds))
    print(f"{'measure':<22}{'reprise':>12}{'evcxr_jupyter':>16}{'ratio':>8}   per-round ratio: median [95% interval]")
    for k, r in rows.items():
        v, p = r["reprise"], r.get("rust")
        ratio = f"{v / p:.2f}" if p else "-"
        paired = "{:.3f} [{:.3f}, {:.3f}]".format(*ratio_interval(r["ratios"])) if "ratios" in r else ""
        note = "   (peer column: the same cell with its type written, same kernel)" if r.get("peer") == "typed" else ""
        print(f"{k:<22}{v * 1000:>10.1f}ms{(f'{p * 1000:.1f}ms' if p else '-'):>16}{ratio:>8}   {paired}{note}")
    if len(names) == 1:
        print("(evcxr_jupyter's kernelspec `rust` is not installed: no peer figures; bash bench/evcxr-peer/install.sh installs it)")


if __name__ == "__main__":
    main()
