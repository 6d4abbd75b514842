"""Writes an ONNX model with one [N] input of each tensor type score serves
and one output per input (Identity), to carry every datatype through a
transport and back: python3 all_types_model.py OUT.onnx
"""
import sys

import onnx
from onnx import TensorProto, helper

TYPES = {
    "bool": TensorProto.BOOL, "int8": TensorProto.INT8, "int16": TensorProto.INT16, "int32": TensorProto.INT32,
    "int64": TensorProto.INT64, "uint8": TensorProto.UINT8, "uint16": TensorProto.UINT16,
    "uint32": TensorProto.UINT32, "uint64": TensorProto.UINT64, "float32": TensorProto.FLOAT,
    "float64": TensorProto.DOUBLE, "string": TensorProto.STRING,
}
inputs = [helper.make_tensor_value_info(f"x_{t}", p, ["N"]) for t, p in TYPES.items()]
outputs = [helper.make_tensor_value_info(f"y_{t}", p, ["N"]) for t, p in TYPES.items()]
nodes = [helper.make_node("Identity", [f"x_{t}"], [f"y_{t}"]) for t in TYPES]
graph = helper.make_graph(nodes, "all_types", inputs, outputs)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="score tests")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
