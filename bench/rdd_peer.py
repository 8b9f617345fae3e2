"""The peer side of bench/rdd.sh: writes the issue's n-row design to a CSV and times rdrobust 2.1.1
(mserd, nn) on it after one warm-up call (numba, when installed, compiles there), printing the
median of ROUNDS calls and the estimate as one JSON line."""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
from rdrobust import rdrobust

n, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(7)
x = rng.uniform(-1, 1, n)
y = 0.5 + 0.8 * x - 0.3 * x ** 2 + (x >= 0) + rng.normal(0, 0.5, n)
pd.DataFrame({"x": x, "y": y}).to_csv(path, index=False, float_format="%.17g")
rdrobust(y[:2000], x[:2000])
times = []
for _ in range(int(os.environ.get("ROUNDS", "3"))):
    t = time.perf_counter()
    r = rdrobust(y, x)
    times.append(time.perf_counter() - t)
secs = sorted(times)[len(times) // 2]
print(json.dumps({"seconds": secs, "estimate": float(r.coef.iloc[0, 0]), "h": float(r.bws.iloc[0, 0])}))
