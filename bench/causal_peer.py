"""The EconML peer for bench/causal.sh: LinearDRLearner with an unpenalised logistic propensity and
OLS outcome models, 5-fold cross-fitting, on the CSV the Rust bench wrote. Prints one JSON line."""
import json
import statistics
import sys
import time

import numpy as np
from econml.dr import LinearDRLearner
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold

data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
y, t, w = data[:, 0], data[:, 1].astype(int), data[:, 2:]
times, ate = [], None
for _ in range(rounds):
    t0 = time.perf_counter()
    est = LinearDRLearner(model_propensity=LogisticRegression(penalty=None, max_iter=1000),
                          model_regression=LinearRegression(), cv=KFold(5), random_state=0)
    est.fit(y, t, X=None, W=w)
    ate = float(est.ate())
    times.append(time.perf_counter() - t0)
print(json.dumps({"econml_lineardrlearner_s": statistics.median(times), "econml_ate": ate, "rounds": rounds}))
