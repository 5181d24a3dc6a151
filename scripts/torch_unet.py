"""The post's U-Net (R torch's unet, down_block, up_block, conv_block) re-stated in PyTorch with the same
module names, so its state_dict keys are the library's checkpoint keys:
    down_path.{i}.conv_block.conv_block.{0,3}.{weight,bias}, up_path.{j}.up.{weight,bias},
    up_path.{j}.conv_block.conv_block.{0,3}.{weight,bias}, last.{weight,bias}
With batch_norm=True (the library's UNetConfig.batchNorm, Buda et al. 2019's model) every 3x3 convolution
has no bias and is followed by nn.BatchNorm2d: conv_block.conv_block.{0,4}.weight for the convolutions and
conv_block.conv_block.{1,5}.{weight,bias,running_mean,running_var,num_batches_tracked}.
Used by the fixture scripts and scripts/bench_torch.py; needs torch.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBlock(nn.Module):
    def __init__(self, in_size, out_size, dropout, batch_norm=False):
        super().__init__()

        def convolution(size):
            conv = nn.Conv2d(size, out_size, kernel_size=3, padding=1, bias=not batch_norm)
            return [conv, nn.BatchNorm2d(out_size)] if batch_norm else [conv]

        self.conv_block = nn.Sequential(
            *convolution(in_size), nn.ReLU(), nn.Dropout(dropout), *convolution(out_size), nn.ReLU())

    def forward(self, x):
        return self.conv_block(x)


class DownBlock(nn.Module):
    def __init__(self, in_size, out_size, dropout, batch_norm=False):
        super().__init__()
        self.conv_block = ConvBlock(in_size, out_size, dropout, batch_norm)

    def forward(self, x):
        return self.conv_block(x)


class UpBlock(nn.Module):
    def __init__(self, in_size, out_size, dropout, batch_norm=False):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_size, out_size, kernel_size=2, stride=2)
        self.conv_block = ConvBlock(in_size, out_size, dropout, batch_norm)

    def forward(self, x, bridge):
        return self.conv_block(torch.cat([self.up(x), bridge], 1))


class UNet(nn.Module):
    def __init__(self, channels_in=3, n_classes=1, depth=5, n_filters=6, dropout=0.6, batch_norm=False):
        super().__init__()
        self.down_path = nn.ModuleList()
        prev = channels_in
        for i in range(1, depth + 1):
            self.down_path.append(DownBlock(prev, 2 ** (n_filters + i - 1), dropout, batch_norm))
            prev = 2 ** (n_filters + i - 1)
        self.up_path = nn.ModuleList()
        for i in range(depth - 1, 0, -1):
            self.up_path.append(UpBlock(prev, 2 ** (n_filters + i - 1), dropout, batch_norm))
            prev = 2 ** (n_filters + i - 1)
        self.last = nn.Conv2d(prev, n_classes, kernel_size=1)

    def forward(self, x, block_sums=None):
        bridges = []
        for i, block in enumerate(self.down_path):
            x = block(x)
            if block_sums is not None:
                block_sums.append(x.sum())
            if i != len(self.down_path) - 1:
                bridges.append(x)
                x = F.max_pool2d(x, 2)
        for j, block in enumerate(self.up_path):
            x = block(x, bridges[-1 - j])
            if block_sums is not None:
                block_sums.append(x.sum())
        return torch.sigmoid(self.last(x))


def dice_loss(prediction, target):
    """The post's calc_dice_loss."""
    p, t = prediction.view(-1), target.view(-1)
    intersection = (p * t).sum()
    return 1 - (2 * intersection + 1) / (p.sum() + t.sum() + 1)
