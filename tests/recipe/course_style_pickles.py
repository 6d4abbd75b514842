"""Trains small course-style models (a DictVectorizer and a model) and pickles them, for convert_test.ts.

    /usr/bin/python3 tests/recipe/course_style_pickles.py OUT_DIR

Writes OUT_DIR/<case>.bin for every case, OUT_DIR/rows.json (rows as the DictVectorizer saw them, one with
a category it never saw) and OUT_DIR/expected.json (sklearn's predict and predict_proba on those rows).
Deterministic: fixed random states.
"""
import json
import os
import pickle
import sys

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier, GradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

out = sys.argv[1]
rng = np.random.RandomState(0)
n = 400
colors = np.array(["red", "green", "blue"])
cities = np.array([f"city {i}" for i in range(12)])
rows = [
    {"color": str(rng.choice(colors)), "city": str(rng.choice(cities)), "x": float(rng.normal()), "n": int(rng.randint(0, 9))}
    for _ in range(n)
]
effect = {"red": 1.0, "green": -2.0, "blue": 0.5}
y = np.array([3.0 * r["x"] + effect[r["color"]] + 0.1 * r["n"] + int(r["city"][5:]) / 6 for r in rows]) + rng.normal(0, 0.3, n)
binary = np.where(y > 1.0, "yes", "no")
three = np.digitize(y, [-1.0, 2.5])  # 0, 1, 2

dv = DictVectorizer()
X = dv.fit_transform(rows)
cases = {
    "linreg": ((dv, LinearRegression().fit(X, y)), y),
    "ridge_pipeline": (make_pipeline(DictVectorizer(), Ridge(alpha=0.5)), y),
    "logreg_binary": ((dv, LogisticRegression(max_iter=1000).fit(X, binary)), binary),
    "logreg_three": ((dv, LogisticRegression(max_iter=1000).fit(X, three)), three),
    "logreg_bool": ((dv, LogisticRegression(max_iter=1000).fit(X, y > 1.0)), y > 1.0),
    "logreg_ovr": ((dv, LogisticRegression(solver="liblinear").fit(X, three)), three),
    "rf_pipeline": (make_pipeline(DictVectorizer(), RandomForestRegressor(n_estimators=7, max_depth=5, random_state=0)), y),
    "tree": ((dv, DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, y)), y),
    "rf_binary": ((dv, RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X, binary)), binary),
    "extra_three": (make_pipeline(DictVectorizer(), ExtraTreesClassifier(n_estimators=5, max_depth=6, random_state=0)), three),
    # what convert.py must refuse, naming the class
    "scaler_pipeline": (make_pipeline(DictVectorizer(), StandardScaler(with_mean=False), LinearRegression()), y),
    "boosting": ((dv, GradientBoostingRegressor(n_estimators=3, random_state=0).fit(X, y)), y),
}
test_rows = rows[:50] + [{"color": "purple", "city": "city 99", "x": 0.25, "n": 3}]
expected = {}
for name, (obj, target) in cases.items():
    if hasattr(obj, "steps"):
        obj.fit(rows, target)
    with open(os.path.join(out, f"{name}.bin"), "wb") as f:
        pickle.dump(obj, f)
    if name in ("scaler_pipeline", "boosting"):
        continue
    predict = obj.predict if hasattr(obj, "steps") else (lambda rs, o=obj: o[1].predict(dv.transform(rs)))
    model = obj.steps[-1][1] if hasattr(obj, "steps") else obj[1]
    entry = {"predict": [v.item() for v in np.asarray(predict(test_rows))]}
    if hasattr(model, "classes_"):
        proba = obj.predict_proba if hasattr(obj, "steps") else (lambda rs, o=obj: o[1].predict_proba(dv.transform(rs)))
        entry["classes"] = [c.item() for c in model.classes_]
        entry["proba"] = np.asarray(proba(test_rows)).tolist()
    expected[name] = entry
with open(os.path.join(out, "rows.json"), "w") as f:
    json.dump(test_rows, f)
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f)
