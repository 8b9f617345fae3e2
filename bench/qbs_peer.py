"""NumPy peer for the SMC benchmark: a bootstrap particle filter for monad-bayes' 3-state HMM
(16 observations, uniform initial state, systematic resampling after every observation), the same
algorithm reprise's generic SMC runs on that program. Prints one JSON line.
Usage: python bench/qbs_peer.py [PARTICLES]
"""
import json
import sys
import time

import numpy as np

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
data = np.array([0.9, 0.8, 0.7, 0, -0.025, -5, -2, -0.1, 0, 0.13, 0.45, 6, 0.2, 0.3, -1, -1])
trans = np.array([[0.1, 0.4, 0.5], [0.2, 0.6, 0.2], [0.15, 0.7, 0.15]])
cum = np.cumsum(trans, axis=1)
means = np.array([-1.0, 1.0, 0.0])
rng = np.random.default_rng(1)


def smc():
    x = rng.integers(0, 3, n)
    log_z = 0.0
    for y in data:
        u = rng.random(n)
        x = (u[:, None] > cum[x]).sum(axis=1)
        logw = -0.5 * (y - means[x]) ** 2 - 0.5 * np.log(2 * np.pi)
        m = logw.max()
        w = np.exp(logw - m)
        log_z += m + np.log(w.mean())
        w /= w.sum()
        pos = (rng.random() + np.arange(n)) / n
        x = x[np.minimum(np.searchsorted(np.cumsum(w), pos), n - 1)]
    return log_z


times, zs = [], []
for _ in range(5):
    t = time.perf_counter()
    zs.append(smc())
    times.append(time.perf_counter() - t)
print(json.dumps({"particles": n, "seconds": sorted(times)[2], "mean_log_z": float(np.mean(zs)), "numpy": np.__version__}))
