"""Kernel speed, driving kernels with jupyter_client, as ratios against evcxr_jupyter measured in
the same run (when its kernelspec `rust` is installed; otherwise only our own figures print).

  launch → first kernel_info_reply          (target: < 0.5 s; evcxr_jupyter: 2–3 s)
  magic cell round trip (:show, memoised :run) (target: < 20 ms)
  trivial Rust cell, and with 50 live variables (target: no slower than evcxr_jupyter)

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


def median(kc, code, rounds):
    return statistics.median(cell(kc, code) for _ in range(rounds))


def measure(name, rounds, magics):
    launches = []
    for _ in range(3):
        km, kc, t = launch(name)
        launches.append(t)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    km, kc, _ = launch(name)
    out = {"launch": min(launches)}
    cell(kc, "1 + 1")  # warm up: the first Rust cell waits for the engine
    out["trivial"] = median(kc, "1 + 1", rounds)
    cell(kc, "\n".join(f"let v{i} = {i}u64;" for i in range(50)))
    out["trivial_50_vars"] = median(kc, "1 + 1", rounds)
    if magics:
        cell(kc, ":run demo.pi seed=1 n=1000 tasks=2")
        out["magic_run_memoised"] = median(kc, ":run demo.pi seed=1 n=1000 tasks=2", rounds)
        out["magic_show"] = median(kc, ":show last", rounds)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    a = ap.parse_args()
    specs = KernelSpecManager().find_kernel_specs()
    ours = measure("reprise", a.rounds, magics=True)
    peer = measure("rust", a.rounds, magics=False) if "rust" in specs else None
    print(f"{'measure':<22}{'reprise':>12}{'evcxr_jupyter':>16}{'ratio':>8}")
    for k, v in ours.items():
        p = peer.get(k) if peer else None
        ratio = f"{v / p:.2f}" if p else "-"
        print(f"{k:<22}{v * 1000:>10.1f}ms{(f'{p * 1000:.1f}ms' if p else '-'):>16}{ratio:>8}")
    if not peer:
        print("(evcxr_jupyter's kernelspec `rust` is not installed: no peer figures)")


if __name__ == "__main__":
    main()
