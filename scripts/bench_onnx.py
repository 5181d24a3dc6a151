#!/usr/bin/env python3
"""ONNX Runtime baseline for `unetseg bench train`'s inference pass: the post's U-Net (depth 5) built as an
ONNX graph with the `onnx` package (no PyTorch needed), batch 4 of 256x256, all graph optimisations, on the
same number of threads. Prints one JSON object like `unetseg bench train --json` (inference only). Needs
onnx and onnxruntime (pip install onnx onnxruntime); nothing in the build or the tests needs them.

Usage: scripts/bench_onnx.py [--threads N] [--repeats 5] [--filters 4,6]
"""
import argparse
import json
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def unet_graph(n_filters, depth=5, channels_in=3, n_classes=1):
    """The post's unet(): conv blocks (3x3 conv, relu, [dropout], 3x3 conv, relu) down with 2x2 max pooling,
    up with 2x2 stride-2 transposed convolutions and skip concatenation, a 1x1 conv and a sigmoid."""
    rng = np.random.default_rng(1)
    nodes, weights = [], []

    def weight(name, shape, fan_in):
        bound = 1 / np.sqrt(fan_in)
        weights.append(numpy_helper.from_array(rng.uniform(-bound, bound, shape).astype(np.float32), name))
        return name

    def conv(x, name, cin, cout, k, pad):
        w = weight(f"{name}.weight", (cout, cin, k, k), cin * k * k)
        b = weight(f"{name}.bias", (cout,), cin * k * k)
        nodes.append(helper.make_node("Conv", [x, w, b], [name], kernel_shape=[k, k], pads=[pad] * 4))
        return name

    def relu(x):
        nodes.append(helper.make_node("Relu", [x], [x + ".relu"]))
        return x + ".relu"

    def block(x, name, cin, cout):
        x = relu(conv(x, f"{name}.0", cin, cout, 3, 1))
        return relu(conv(x, f"{name}.3", cout, cout, 3, 1))

    channels = [2 ** (n_filters + i) for i in range(depth)]
    x, previous, bridges = "input", channels_in, []
    for i, c in enumerate(channels):
        x = block(x, f"down{i}", previous, c)
        previous = c
        if i < depth - 1:
            bridges.append(x)
            nodes.append(helper.make_node("MaxPool", [x], [x + ".pool"], kernel_shape=[2, 2], strides=[2, 2]))
            x = x + ".pool"
    for i in reversed(range(depth - 1)):
        c = channels[i]
        w = weight(f"up{i}.weight", (previous, c, 2, 2), c * 4)
        b = weight(f"up{i}.bias", (c,), c * 4)
        nodes.append(helper.make_node("ConvTranspose", [x, w, b], [f"up{i}"], kernel_shape=[2, 2], strides=[2, 2]))
        nodes.append(helper.make_node("Concat", [f"up{i}", bridges[i]], [f"cat{i}"], axis=1))
        x = block(f"cat{i}", f"upblock{i}", previous, c)
        previous = c
    x = conv(x, "last", previous, n_classes, 1, 0)
    nodes.append(helper.make_node("Sigmoid", [x], ["output"]))
    graph = helper.make_graph(
        nodes, f"unet_f{n_filters}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [4, channels_in, 256, 256])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [4, n_classes, 256, 256])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def measure(n_filters, threads, repeats):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    session = ort.InferenceSession(unet_graph(n_filters).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    images = np.random.default_rng(2).random((4, 3, 256, 256), dtype=np.float32)
    session.run(None, {"input": images})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, {"input": images})
        times.append(time.perf_counter() - start)
    return {"name": f"depth5_f{n_filters}", "depth": 5, "n_filters": n_filters, "batch": 4, "size": 256,
            "infer_ms": round(statistics.median(times) * 1000, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--filters", default="4,6")
    args = parser.parse_args()
    configs = [measure(int(n), args.threads, args.repeats) for n in sorted(args.filters.split(","), key=int)]
    print(json.dumps({"framework": f"onnxruntime {ort.__version__}", "threads": args.threads, "configs": configs}))


if __name__ == "__main__":
    main()
