"""The course's web service (MLOps Zoomcamp module 4, web-service/predict.py): Flask answering `POST /predict`.

What `bench/serve_bench.ts` measures `score serve` against, run on gunicorn with 2 workers as the course deploys it:
the pickled (DictVectorizer, LinearRegression) of the course (data/course/lin_reg.bin, path in COURSE_MODEL) loaded
once per worker, one ride per request, features prepared as the course does (`PU_DO` and `trip_distance`), the
prediction answered as JSON with the model's version (as `score serve` answers it).

    COURSE_MODEL=data/course/lin_reg.bin gunicorn --workers 2 --bind 127.0.0.1:9696 --chdir bench course_flask_app:app
"""
import os
import pickle
import warnings

from flask import Flask, jsonify, request

with warnings.catch_warnings():
    # The pickle was made by an older scikit-learn: it loads, with a version warning.
    warnings.simplefilter("ignore")
    with open(os.environ.get("COURSE_MODEL", "data/course/lin_reg.bin"), "rb") as f_in:
        dv, model = pickle.load(f_in)


def prepare_features(ride):
    features = {}
    features["PU_DO"] = "%s_%s" % (ride["PULocationID"], ride["DOLocationID"])
    features["trip_distance"] = ride["trip_distance"]
    return features


def predict(features):
    X = dv.transform(features)
    preds = model.predict(X)
    return float(preds[0])


app = Flask("duration-prediction")


@app.route("/predict", methods=["POST"])
def predict_endpoint():
    ride = request.get_json()
    features = prepare_features(ride)
    pred = predict(features)
    return jsonify({"duration": pred, "model_version": "9bceaa0ed43a"})
