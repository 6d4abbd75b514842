#!/usr/bin/env python3
"""Calls `score serve --grpc-port 8081` over gRPC, as any Open Inference
Protocol client does: stubs generated from the proto score ships
(src/grpc/grpc_predict_v2.proto), then ServerReady, ModelMetadata and
ModelInfer for the course's ride, once with typed contents and once with
raw little-endian bytes (what Triton's tritonclient.grpc sends).

    score serve --model models/ride-duration-linreg --grpc-port 8081 &
    python3 examples/grpc_client.py --target 127.0.0.1:8081

Needs grpcio and grpcio-tools (Debian: python3-grpcio python3-grpc-tools).
"""
import argparse
import importlib
import os
import struct
import sys
import tempfile

import grpc
from grpc_tools import protoc

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "grpc")

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--target", default="127.0.0.1:8081", help="host:port of score serve's --grpc-port")
parser.add_argument("--model", default="ride-duration-linreg")
parser.add_argument("--api-key", default=os.environ.get("SCORE_API_KEY"), help="when serve runs with --api-key")
args = parser.parse_args()

with tempfile.TemporaryDirectory() as out:
    protoc.main(["protoc", f"-I{PROTO_DIR}", f"--python_out={out}", f"--grpc_python_out={out}", "grpc_predict_v2.proto"])
    sys.path.insert(0, out)
    pb2 = importlib.import_module("grpc_predict_v2_pb2")
    pb2_grpc = importlib.import_module("grpc_predict_v2_pb2_grpc")

stub = pb2_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(args.target))
metadata = [("authorization", f"Bearer {args.api_key}")] if args.api_key else []

print("ready:", stub.ServerReady(pb2.ServerReadyRequest(), timeout=5).ready)
meta = stub.ModelMetadata(pb2.ModelMetadataRequest(name=args.model), metadata=metadata, timeout=5)
print("inputs:", [(t.name, t.datatype, list(t.shape)) for t in meta.inputs])

# The course's ride: pickup zone 10, drop-off zone 50, 40 miles.
Tensor = pb2.ModelInferRequest.InferInputTensor
typed = pb2.ModelInferRequest(model_name=args.model, id="ride-1", inputs=[
    Tensor(name="PULocationID", datatype="INT64", shape=[1], contents=pb2.InferTensorContents(int64_contents=[10])),
    Tensor(name="DOLocationID", datatype="INT64", shape=[1], contents=pb2.InferTensorContents(int64_contents=[50])),
    Tensor(name="trip_distance", datatype="FP64", shape=[1], contents=pb2.InferTensorContents(fp64_contents=[40.0])),
])
answer = stub.ModelInfer(typed, metadata=metadata, timeout=5)
print("typed:", answer.model_version, answer.outputs[0].name, list(answer.outputs[0].contents.fp64_contents))

raw = pb2.ModelInferRequest(model_name=args.model, id="ride-2", inputs=[
    Tensor(name="PULocationID", datatype="INT64", shape=[1]),
    Tensor(name="DOLocationID", datatype="INT64", shape=[1]),
    Tensor(name="trip_distance", datatype="FP64", shape=[1]),
], raw_input_contents=[struct.pack("<q", 10), struct.pack("<q", 50), struct.pack("<d", 40.0)])
answer = stub.ModelInfer(raw, metadata=metadata, timeout=5)
print("raw:", answer.outputs[0].name, struct.unpack("<d", answer.raw_output_contents[0])[0])
