"""The course's batch job (MLOps Zoomcamp module 4, batch/score.py) reading and writing CSV.

What `bench/batch_bench.ts` measures `score batch` CSV -> CSV against: pandas reads the whole file, the pickled
(DictVectorizer, LinearRegression) of the course (data/course/lin_reg.bin) predicts on `PU_DO` and `trip_distance`
dicts, and pandas writes the ride id, the prediction, the model name and version. The rides have no drop-off time, so
the course's duration filter is left out. Prints one JSON line: rows, seconds (read to written, after the imports and
the pickle's load), rows_per_s.

    /usr/bin/python3 bench/course_pandas_job.py --model data/course/lin_reg.bin --input rides.csv --output out.csv
"""
import argparse
import json
import pickle
import time
import warnings

import pandas as pd


def prepare_dictionaries(df):
    categorical = ["PULocationID", "DOLocationID"]
    df[categorical] = df[categorical].astype(str)
    df["PU_DO"] = df["PULocationID"] + "_" + df["DOLocationID"]
    return df[["PU_DO", "trip_distance"]].to_dict(orient="records")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    with warnings.catch_warnings():
        # The pickle was made by an older scikit-learn: it loads, with a version warning.
        warnings.simplefilter("ignore")
        with open(args.model, "rb") as f:
            dv, lr = pickle.load(f)
    started = time.perf_counter()
    df = pd.read_csv(args.input)
    dicts = prepare_dictionaries(df)
    y_pred = lr.predict(dv.transform(dicts))
    result = pd.DataFrame()
    result["ride_id"] = df["ride_id"]
    result["duration"] = y_pred
    result["model_name"] = "ride-duration-linreg"
    result["model_version"] = "9bceaa0ed43a"
    result.to_csv(args.output, index=False)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": len(df), "seconds": seconds, "rows_per_s": len(df) / seconds}))


if __name__ == "__main__":
    main()
