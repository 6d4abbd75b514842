"""SciPy's answers for the monitor's statistics on the samples a test gives (a JSON file, JSON on stdout).

Input: {"numeric": [{"a": [...], "b": [...]}], "categorical": [{"p": [...], "q": [...]}],
        "kolmogorov": [x, ...], "chi2": [[x, dof], ...]}
"""
import json
import sys

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

with open(sys.argv[1]) as f:
    cases = json.load(f)
out = {"numeric": [], "categorical": [], "kolmogorov": [], "chi2": []}
for c in cases.get("numeric", []):
    a = np.array(c["a"], dtype=float)
    b = np.array(c["b"], dtype=float)
    ks = stats.ks_2samp(a, b)
    en = len(a) * len(b) / (len(a) + len(b))
    se = np.sqrt(en)
    out["numeric"].append({
        "ks_statistic": float(ks.statistic),
        "ks_p_value": float(ks.pvalue),
        "ks_p_value_stephens": float(stats.kstwobign.sf((se + 0.12 + 0.11 / se) * ks.statistic)),
        "wasserstein": float(stats.wasserstein_distance(a, b)),
        "std_a": float(np.std(a)),
    })
for c in cases.get("categorical", []):
    p = np.array(c["p"], dtype=float)
    q = np.array(c["q"], dtype=float)
    table = np.array([p, q])
    table = table[:, table.sum(axis=0) > 0]
    chi2, pv, dof, _ = stats.chi2_contingency(table, correction=False)
    out["categorical"].append({
        "jensen_shannon": float(jensenshannon(p, q)),
        "chi_squared": float(chi2),
        "chi_squared_p_value": float(pv),
        "dof": int(dof),
    })
for x in cases.get("kolmogorov", []):
    out["kolmogorov"].append(float(stats.kstwobign.sf(x)))
for x, dof in cases.get("chi2", []):
    out["chi2"].append(float(stats.chi2.sf(x, dof)))
json.dump(out, sys.stdout)
