"""The course's kind of queue consumer (MLOps Zoomcamp module 4, streaming), on RabbitMQ with pika.

What `bench/consume_bench.ts` sets `score consume` beside: per event it parses the JSON, predicts the ride's duration
with the course's pickled (DictVectorizer, LinearRegression) (data/course/lin_reg.bin) on its `PU_DO` and
`trip_distance`, publishes the prediction record persistent and mandatory on a channel in confirm mode (pika's
`basic_publish` then waits for that one confirm), and acks the event. Prefetch 256. Logs `{"msg": "consuming"}` on
stderr once it consumes; SIGTERM stops it.

    /usr/bin/python3 bench/course_pika_consumer.py <queue> <predictions exchange>
"""
import json
import os
import pickle
import signal
import sys
import warnings

import pika

MODEL = os.path.join(os.path.dirname(__file__), "..", "data", "course", "lin_reg.bin")


def main():
    queue, predictions = sys.argv[1], sys.argv[2]
    with warnings.catch_warnings():
        # The pickle was made by an older scikit-learn: it loads, with a version warning.
        warnings.simplefilter("ignore")
        with open(MODEL, "rb") as f:
            dv, lr = pickle.load(f)
    url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672")
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_qos(prefetch_count=256)

    def predict(ride):
        features = {"PU_DO": f"{ride['PULocationID']}_{ride['DOLocationID']}", "trip_distance": ride["trip_distance"]}
        return float(lr.predict(dv.transform([features]))[0])

    def on_event(ch, method, properties, body):
        event = json.loads(body)
        record = {
            "model": "ride-duration-linreg",
            "version": "lin_reg.bin",
            "prediction": {"ride_duration": predict(event["ride"]), "ride_id": event["ride_id"]},
        }
        ch.basic_publish(
            predictions,
            "ride-duration-linreg",
            json.dumps(record),
            pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                 correlation_id=properties.message_id),
            mandatory=True,
        )
        ch.basic_ack(method.delivery_tag)

    signal.signal(signal.SIGTERM, lambda *_: channel.stop_consuming())
    channel.basic_consume(queue, on_event)
    print(json.dumps({"msg": "consuming"}), file=sys.stderr, flush=True)
    channel.start_consuming()
    connection.close()


if __name__ == "__main__":
    main()
