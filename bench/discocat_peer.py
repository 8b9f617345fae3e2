"""NumPy peer for the DisCoCat batch benchmark, with the same factorisations as reprise's batch.rs.

Writes the data (nouns, verb vectors, relational verb matrices, sentence pairs S V O / S L O) to
DIR for the Rust side, then times: Kronecker (two O(d) cosines per pair), the copy models grouped
by verb (one matrix product V @ O per verb), and relational similarity grouped by (verb, landmark)
((s*s) @ (V*L) then a row-wise product with o*o). Prints one JSON line.
Usage: python bench/discocat_peer.py DIR [PAIRS] [D]
"""
import json
import sys
import time

import numpy as np

out = sys.argv[1]
n_pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
d = int(sys.argv[3]) if len(sys.argv) > 3 else 300
n_nouns, n_verbs = 2000, 60  # 30 ambiguous verbs, each with 2 of 30 landmarks (GS2011's shape)
rounds = 5

rng = np.random.default_rng(2011)
nouns = rng.standard_normal((n_nouns, d))
verbs = rng.standard_normal((n_verbs, d))
rels = rng.standard_normal((n_verbs, d, d))
verb = rng.integers(0, 30, n_pairs)
landmark = 30 + (2 * verb + rng.integers(0, 2, n_pairs)) % 30
s = rng.integers(0, n_nouns, n_pairs)
o = rng.integers(0, n_nouns, n_pairs)
pairs = np.stack([s, o, verb, landmark], axis=1).astype("<u4")
nouns.astype("<f8").tofile(f"{out}/nouns.f64")
verbs.astype("<f8").tofile(f"{out}/verbs.f64")
rels.astype("<f8").tofile(f"{out}/rels.f64")
pairs.tofile(f"{out}/pairs.u32")
json.dump({"d": d, "pairs": n_pairs}, open(f"{out}/meta.json", "w"))


def cos_rows(a, b):
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))


def kronecker():
    S, O, V, L = nouns[s], nouns[o], verbs[verb], verbs[landmark]
    return cos_rows(V * S, L * S) * cos_rows(V * O, L * O)


def grouped(keys, x_rows, transpose):
    y = np.empty((n_pairs, d))
    for k in np.unique(keys):
        idx = np.nonzero(keys == k)[0]
        m = rels[k]
        y[idx] = x_rows[idx] @ (m if transpose else m.T)
    return y


def copy(subject):
    S, O = nouns[s], nouns[o]
    if subject:  # s * (V o)
        a, b = grouped(verb, O, False), grouped(landmark, O, False)
        return cos_rows(S * a, S * b)
    a, b = grouped(verb, S, True), grouped(landmark, S, True)  # o * (V^T s)
    return cos_rows(O * a, O * b)


def relational():
    S2, O2 = nouns[s] ** 2, nouns[o] ** 2

    def forms(ka, kb):
        r = np.empty(n_pairs)
        keys = ka * n_verbs + kb
        for k in np.unique(keys):
            idx = np.nonzero(keys == k)[0]
            h = rels[k // n_verbs] * rels[k % n_verbs]
            r[idx] = ((S2[idx] @ h) * O2[idx]).sum(1)
        return r

    return forms(verb, landmark) / np.sqrt(forms(verb, verb) * forms(landmark, landmark))


def timed(f):
    ts, res = [], None
    for _ in range(rounds):
        t = time.perf_counter()
        res = f()
        ts.append(time.perf_counter() - t)
    return [sorted(ts)[len(ts) // 2], float(res.sum())]


cfg = np.__config__.show(mode="dicts") if hasattr(np.__config__, "show") else {}
blas = (cfg or {}).get("Build Dependencies", {}).get("blas", {}).get("name", "?")
print(json.dumps({
    "pairs": n_pairs, "d": d, "numpy": np.__version__, "blas": blas,
    "kronecker": timed(kronecker), "s_hadamard_Vo": timed(lambda: copy(True)),
    "o_hadamard_VTs": timed(lambda: copy(False)), "relational": timed(relational),
}))
