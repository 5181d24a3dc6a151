#!/usr/bin/env python3
"""PyTorch baseline for `unetseg bench train`: the post's U-Net (depth 5), batch 4 of 256x256, on the same
number of threads. Prints one JSON object like `unetseg bench train --json`. Needs torch (pip install torch);
nothing in the build or the tests needs it.

Usage: scripts/bench_torch.py [--threads N] [--repeats 5] [--filters 4,6]
"""
import argparse
import json
import resource
import statistics
import time

import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_unet import UNet, dice_loss  # noqa: E402


def median_seconds(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(n_filters, repeats):
    torch.manual_seed(1)
    model = UNet(n_filters=n_filters)
    images = torch.rand(4, 3, 256, 256)
    masks = (torch.rand(4, 1, 256, 256) > 0.9).float()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        optimizer.zero_grad()
        output = model(images)
        loss = 0.3 * dice_loss(output, masks) + 0.7 * nn.functional.binary_cross_entropy(output, masks)
        loss.backward()
        optimizer.step()

    def infer():
        with torch.no_grad():
            model(images)

    model.train()
    train = median_seconds(step, repeats)
    model.eval()
    inference = median_seconds(infer, repeats)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"name": f"depth5_f{n_filters}", "depth": 5, "n_filters": n_filters, "batch": 4, "size": 256,
            "train_ms": round(train * 1000, 1), "infer_ms": round(inference * 1000, 1), "peak_rss_mb": round(peak)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--filters", default="4,6")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    configs = [measure(int(n), args.repeats) for n in sorted(args.filters.split(","), key=int)]
    print(json.dumps({"framework": f"torch {torch.__version__}", "threads": torch.get_num_threads(),
                      "configs": configs}))


if __name__ == "__main__":
    main()
