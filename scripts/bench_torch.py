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

import torch
from torch import nn


class ConvBlock(nn.Module):
    def __init__(self, in_size, out_size):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.Conv2d(in_size, out_size, kernel_size=3, padding=1), nn.ReLU(), nn.Dropout(0.6),
            nn.Conv2d(out_size, out_size, kernel_size=3, padding=1), nn.ReLU())

    def forward(self, x):
        return self.conv_block(x)


class DownBlock(nn.Module):
    def __init__(self, in_size, out_size):
        super().__init__()
        self.conv_block = ConvBlock(in_size, out_size)

    def forward(self, x):
        return self.conv_block(x)


class UpBlock(nn.Module):
    def __init__(self, in_size, out_size):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_size, out_size, kernel_size=2, stride=2)
        self.conv_block = ConvBlock(in_size, out_size)

    def forward(self, x, bridge):
        return self.conv_block(torch.cat([self.up(x), bridge], 1))


class UNet(nn.Module):
    """The post's `unet` with the same parameter names."""

    def __init__(self, channels_in=3, n_classes=1, depth=5, n_filters=6):
        super().__init__()
        self.down_path = nn.ModuleList()
        prev = channels_in
        for i in range(1, depth + 1):
            self.down_path.append(DownBlock(prev, 2 ** (n_filters + i - 1)))
            prev = 2 ** (n_filters + i - 1)
        self.up_path = nn.ModuleList()
        for i in range(depth - 1, 0, -1):
            self.up_path.append(UpBlock(prev, 2 ** (n_filters + i - 1)))
            prev = 2 ** (n_filters + i - 1)
        self.last = nn.Conv2d(prev, n_classes, kernel_size=1)

    def forward(self, x):
        blocks = []
        for i, down in enumerate(self.down_path):
            x = down(x)
            if i != len(self.down_path) - 1:
                blocks.append(x)
                x = nn.functional.max_pool2d(x, 2)
        for i, up in enumerate(self.up_path):
            x = up(x, blocks[-i - 1])
        return torch.sigmoid(self.last(x))


def dice_loss(pred, target):
    pred, target = pred.view(-1), target.view(-1)
    intersection = (pred * target).sum()
    return 1 - (2 * intersection + 1) / (pred.sum() + target.sum() + 1)


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
