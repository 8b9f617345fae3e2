"""rdd.scalar against the real rdrobust 2.1.1 (PyPI): the Senate data under every kernel, variance
estimator and bandwidth selector, fixed bandwidths, other orders (q > p + 1 too) and levels, a fuzzy
design, covariate-adjusted estimates (sharp and fuzzy), and simulated data with mass points. Estimates, standard errors, CIs and bandwidths must agree to
1e-7 relative (the issue's bar is 1e-6)."""
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdrobust import rdrobust

ROOT = Path(__file__).resolve().parents[2]
SENATE = ROOT / "experiments" / "data" / "rdd" / "rdrobust_senate.csv"
BIN = os.environ.get("REPRISE_BIN", "reprise")
RTOL = 1e-7
STORE = tempfile.mkdtemp(prefix="reprise-rdd-")
KERNELS = {"triangular": "tri", "epanechnikov": "epa", "uniform": "uni"}


def ours(params, data=None):
    cmd = [BIN, "--store", STORE, "--quiet", "--json", "run", "rdd.scalar", "--seed", "0"]
    for k, v in params.items():
        cmd += ["--param", f"{k}={v}"]
    if data is not None:
        cmd += ["--input", f"data={data}"]
    record = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    out = subprocess.run([BIN, "--store", STORE, "show", record["run"], "--output", "summary.json"], check=True, capture_output=True)
    return json.loads(out.stdout)["estimate"]


def theirs(df, params):
    kw = {"kernel": KERNELS[params.get("kernel", "triangular")], "vce": params.get("vce", "nn"), "bwselect": params.get("bwselect", "mserd")}
    for k in ["p", "q", "h", "b", "level", "masspoints", "deriv", "bwcheck"]:
        if k in params:
            kw[k] = params[k]
    y, x = df[params.get("y", "vote")], df[params.get("x", "margin")]
    if "fuzzy" in params:
        kw["fuzzy"] = df[params["fuzzy"]]
    if "covs" in params:
        kw["covs"] = df[params["covs"].split(",")]
    return rdrobust(y, x, c=params.get("c", 0.0), **kw)


def check(est, ref, label):
    def close(got, want, what):
        assert np.isclose(got, want, rtol=RTOL, atol=0), f"{label}: {what} = {got!r}, rdrobust {want!r}"

    coef = ref.coef.iloc[:, 0].to_numpy()
    se = ref.se.iloc[:, 0].to_numpy()
    ci = ref.ci.to_numpy()
    close(est["conventional"]["estimate"], coef[0], "conventional estimate")
    close(est["bias_corrected"]["estimate"], coef[1], "bias-corrected estimate")
    close(est["conventional"]["se"], se[0], "conventional se")
    close(est["robust"]["se"], se[2], "robust se")
    for j, name in enumerate(["conventional", "bias_corrected", "robust"]):
        close(est[name]["ci"][0], ci[j, 0], f"{name} CI low")
        close(est[name]["ci"][1], ci[j, 1], f"{name} CI high")
    bws = ref.bws.to_numpy()
    for s in range(2):
        close(est["h"][s], bws[0, s], "h")
        close(est["b"][s], bws[1, s], "b")
    assert [est["left"]["n_h"], est["right"]["n_h"]] == [int(v) for v in ref.N_h], f"{label}: effective N"
    if ref.coef_covs is not None:
        # rdrobust reorders covariates by the length of their names; compare the sets of coefficients.
        ours_g = sorted(c["coefficient"] for c in est["covariates"])
        theirs_g = sorted(np.asarray(ref.coef_covs)[:, 0])
        assert len(ours_g) == len(theirs_g), f"{label}: covariates"
        for a, b in zip(ours_g, theirs_g):
            close(a, b, "covariate coefficient")


@pytest.fixture(scope="module")
def senate():
    return pd.read_csv(SENATE).dropna(subset=["vote", "margin"])


SENATE_CASES = [
    {},
    {"h": 10},
    {"h": 10, "b": 20},
    {"p": 2},
    {"p": 0},
    {"p": 3},
    {"p": 2, "q": 4, "h": 10},
    {"p": 2, "q": 4},
    {"q": 3, "bwselect": "msetwo"},
    {"level": 90},
    {"covs": "presdemvoteshlag1,demvoteshlag1"},
    {"covs": "termshouse,termssenate,population", "vce": "hc0"},
    {"covs": "population", "h": 10},
    {"deriv": 1, "p": 2},
    {"masspoints": "off"},
    *[{"kernel": k} for k in ["epanechnikov", "uniform"]],
    *[{"vce": v} for v in ["hc0", "hc1", "hc2", "hc3"]],
    *[{"vce": v, "kernel": "uniform", "p": 2} for v in ["hc1", "hc3"]],
    *[{"bwselect": s} for s in ["msetwo", "msesum", "msecomb1", "msecomb2", "cerrd", "certwo", "cersum", "cercomb1", "cercomb2"]],
]


@pytest.mark.parametrize("params", SENATE_CASES, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "defaults")
def test_senate(senate, params):
    check(ours(params), theirs(senate, params), f"senate {params}")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    rng = np.random.default_rng(20261126)
    n = 3000
    x = rng.uniform(-1, 1, n)
    y = 0.5 + 0.8 * x - 0.3 * x ** 2 + (x >= 0) + rng.normal(0, 0.5, n)
    # Fuzzy take-up: eligibility raises the chance of treatment from 0.2 to 0.8.
    t = (rng.uniform(size=n) < np.where(x >= 0.2, 0.8, 0.2)).astype(float)
    yf = 1 + x + 2 * t + rng.normal(0, 1, n)
    # A discrete running variable: 40% of units share a grid point (mass points).
    xd = np.round(rng.uniform(-1, 1, n) * 25) / 25
    yd = 1 + xd + 0.7 * (xd >= 0) + rng.normal(0, 0.3, n)
    # Covariates that predict the outcome but do not jump at the cutoff (they sharpen the estimate).
    z1 = rng.normal(0, 1, n)
    z2 = 0.5 * x + rng.normal(0, 1, n)
    yz = 0.5 + 0.8 * x + (x >= 0) + 0.6 * z1 - 0.4 * z2 + rng.normal(0, 0.5, n)
    yfz = 1 + x + 2 * t + 0.6 * z1 - 0.4 * z2 + rng.normal(0, 1, n)
    df = pd.DataFrame({"x": x, "y": y, "t": t, "yf": yf, "xd": xd, "yd": yd, "z1": z1, "z2": z2, "yz": yz, "yfz": yfz})
    path = tmp_path_factory.mktemp("rdd") / "sim.csv"
    df.to_csv(path, index=False, float_format="%.17g")
    return df, path


SIM_CASES = [
    {"y": "y", "x": "x"},
    {"y": "y", "x": "x", "c": 0.1, "vce": "hc2"},
    {"y": "yd", "x": "xd"},
    {"y": "yd", "x": "xd", "vce": "hc1"},
    {"y": "yd", "x": "xd", "bwcheck": 12},
    {"y": "yd", "x": "xd", "bwcheck": 21},
    {"y": "yd", "x": "xd", "masspoints": "off", "kernel": "epanechnikov"},
    {"y": "yf", "x": "x", "c": 0.2, "fuzzy": "t"},
    {"y": "yf", "x": "x", "c": 0.2, "fuzzy": "t", "vce": "hc3", "h": 0.4},
    {"y": "yz", "x": "x", "covs": "z1"},
    {"y": "yz", "x": "x", "covs": "z1,z2"},
    {"y": "yz", "x": "x", "covs": "z1,z2", "vce": "hc1", "p": 2},
    {"y": "yz", "x": "x", "covs": "z2", "h": 0.3, "b": 0.5, "kernel": "epanechnikov"},
    {"y": "yz", "x": "x", "covs": "z1,z2", "bwselect": "msetwo"},
    {"y": "yfz", "x": "x", "c": 0.2, "fuzzy": "t", "covs": "z1,z2"},
    {"y": "yfz", "x": "x", "c": 0.2, "fuzzy": "t", "covs": "z1", "vce": "hc2", "h": 0.4},
]


@pytest.mark.parametrize("params", SIM_CASES, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_simulated(simulated, params):
    df, path = simulated
    check(ours(params, path), theirs(df, params), f"simulated {params}")
