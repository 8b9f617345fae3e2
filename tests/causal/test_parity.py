"""causal.lalonde against an independent implementation: statsmodels' unpenalised logistic MLE
(Newton) and OLS, with AIPW built here from the same formulas, on the NSW experimental sample and
NSW-treated vs CPS-1. Agreement to 1e-8 relative is required; the shipped CSVs are read directly."""
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "experiments" / "data" / "causal"
BIN = os.environ.get("REPRISE_BIN", "reprise")
NAMES = ["age", "age2", "educ", "educ2", "black", "hisp", "married", "nodegree", "re74k", "re75k", "u74", "u75"]
RTOL = 1e-8


def covariates(df):
    return np.column_stack([
        df.age, df.age ** 2, df.educ, df.educ ** 2, df.black, df.hisp, df.marr, df.nodegree,
        df.re74 / 1000.0, df.re75 / 1000.0, (df.re74 == 0).astype(float), (df.re75 == 0).astype(float),
    ])


def samples():
    nsw = pd.read_csv(DATA / "nsw_mixtape.csv")
    cps = pd.read_csv(DATA / "cps_mixtape.csv")
    obs = pd.concat([nsw[nsw.treat == 1], cps], ignore_index=True)
    out = {}
    for name, df in [("nsw_experimental", nsw), ("nsw_vs_cps", obs)]:
        out[name] = (df.re78.to_numpy(float), df.treat.to_numpy(float), sm.add_constant(covariates(df), has_constant="add"))
    return out


@pytest.fixture(scope="module")
def summary():
    store = tempfile.mkdtemp(prefix="reprise-causal-")
    run = subprocess.run([BIN, "--store", store, "--quiet", "--json", "run", "causal.lalonde", "--seed", "0"], check=True, capture_output=True, text=True)
    record = json.loads(run.stdout)
    out = subprocess.run([BIN, "--store", store, "show", record["run"], "--output", "summary.json"], check=True, capture_output=True)
    return json.loads(out.stdout)


def logit(x, z):
    fit = sm.Logit(z, x).fit(method="newton", tol=1e-12, maxiter=200, disp=False)
    assert fit.mle_retvals["converged"], "statsmodels' Newton did not converge"
    return fit


def arm_fit(x, y, rows):
    beta, *_ = np.linalg.lstsq(x[rows], y[rows], rcond=None)
    return beta


def aipw(y, z, e, m1, m0):
    phi = m1 - m0 + z * (y - m1) / e - (1 - z) * (y - m0) / (1 - e)
    p = z.mean()
    r = z * (y - m0) - (1 - z) * e / (1 - e) * (y - m0)
    att = r.sum() / z.sum()
    psi = (r - z * att) / p
    n = len(y)
    return (phi.mean(), phi.std(ddof=1) / np.sqrt(n)), (att, psi.std(ddof=1) / np.sqrt(n))


def nuisances(y, z, x, train, test):
    fit = logit(x[train], z[train])
    e = fit.predict(x[test])
    m1 = x[test] @ arm_fit(x, y, train[z[train] == 1])
    m0 = x[test] @ arm_fit(x, y, train[z[train] == 0])
    return e, m1, m0


def estimate(rep, name, estimand):
    hits = [e for e in rep["estimates"] if e["estimator"] == name and e["estimand"] == estimand]
    assert len(hits) == 1, (name, estimand)
    return hits[0]


def close(ours, theirs, what):
    assert ours == pytest.approx(theirs, rel=RTOL, abs=0), f"{what}: reprise {ours!r}, statsmodels/numpy {theirs!r}"


@pytest.mark.parametrize("sample", ["nsw_experimental", "nsw_vs_cps"])
def test_propensity_fit_matches_statsmodels(summary, sample):
    y, z, x = samples()[sample]
    fit = logit(x, z)
    rep = summary["samples"][sample]["propensity"]
    close(rep["loglik"], fit.llf, "log-likelihood")
    for name, coef in zip(["intercept"] + NAMES, fit.params):
        close(rep["coefficients"][name], coef, f"coefficient {name}")


@pytest.mark.parametrize("sample", ["nsw_experimental", "nsw_vs_cps"])
def test_aipw_matches_an_independent_implementation(summary, sample):
    y, z, x = samples()[sample]
    rep = summary["samples"][sample]
    n = len(y)
    all_rows = np.arange(n)
    (ate, ate_se), (att, att_se) = aipw(y, z, *nuisances(y, z, x, all_rows, all_rows))
    for estimand, v, se in [("ATE", ate, ate_se), ("ATT", att, att_se)]:
        ours = estimate(rep, "AIPW (full-sample nuisances)", estimand)
        close(ours["estimate"], v, f"AIPW {estimand}")
        close(ours["se"], se, f"AIPW {estimand} SE")
    e, m1, m0 = np.zeros(n), np.zeros(n), np.zeros(n)
    folds = all_rows % 5
    for k in range(5):
        test, train = all_rows[folds == k], all_rows[folds != k]
        e[test], m1[test], m0[test] = nuisances(y, z, x, train, test)
    (ate, ate_se), (att, att_se) = aipw(y, z, e, m1, m0)
    for estimand, v, se in [("ATE", ate, ate_se), ("ATT", att, att_se)]:
        ours = estimate(rep, "AIPW (5-fold cross-fitting)", estimand)
        close(ours["estimate"], v, f"cross-fitted AIPW {estimand}")
        close(ours["se"], se, f"cross-fitted AIPW {estimand} SE")


@pytest.mark.parametrize("sample", ["nsw_experimental", "nsw_vs_cps"])
def test_ols_adjustment_matches_statsmodels_hc(summary, sample):
    y, z, x = samples()[sample]
    d = np.column_stack([x[:, :1], z, x[:, 1:]])
    rep = summary["samples"][sample]
    for hc in ["HC0", "HC1", "HC2", "HC3"]:
        fit = sm.OLS(y, d).fit(cov_type=hc)
        ours = estimate(rep, f"OLS adjustment ({hc})", "ATE")
        close(ours["estimate"], fit.params[1], "OLS coefficient on treatment")
        close(ours["se"], fit.bse[1], f"{hc} SE")


def test_experimental_benchmark(summary):
    b = summary["benchmark"]
    assert round(b["estimate"], 4) == 1794.3424 and round(b["se"], 4) == 670.9965
