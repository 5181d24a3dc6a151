"""The post's U-Net ("Brain image segmentation with torch": unet, down_block, up_block, conv_block) defined
in Python with ``unetseg.nn``, module by module as the post writes it in R torch. Its parameter names are
those of the built-in :class:`unetseg.UNet` (``down_path.0.conv_block.conv_block.0.weight``, …), so the
built-in model's ``state_dict()`` loads into it. Change a block here to try a variant of the model.

Used by bindings/python/tests/test_modules.py and scripts/bench-python-module.
"""

import unetseg
import unetseg.nn.functional as F
from unetseg import nn


class ConvBlock(nn.Module):
    """conv 3x3 -> relu -> dropout -> conv 3x3 -> relu (the post's ``conv_block``)."""

    def __init__(self, in_size, out_size, dropout=0.6):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.Conv2d(in_size, out_size, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Conv2d(out_size, out_size, kernel_size=3, padding=1),
            nn.ReLU(),
        )

    def forward(self, x):
        return self.conv_block(x)


class DownBlock(nn.Module):
    """The post's ``down_block``: a conv block."""

    def __init__(self, in_size, out_size, dropout=0.6):
        super().__init__()
        self.conv_block = ConvBlock(in_size, out_size, dropout)

    def forward(self, x):
        return self.conv_block(x)


class UpBlock(nn.Module):
    """The post's ``up_block``: a 2x2 stride-2 transposed convolution, the skip joined along channels, a
    conv block."""

    def __init__(self, in_size, out_size, dropout=0.6):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_size, out_size, kernel_size=2, stride=2)
        self.conv_block = ConvBlock(in_size, out_size, dropout)

    def forward(self, x, bridge):
        up = self.up(x)
        return self.conv_block(unetseg.cat([up, bridge], 1))


class UNet(nn.Module):
    """The post's ``unet(channels_in = 3, n_classes = 1, depth = 5, n_filters = 6)``."""

    def __init__(self, channels_in=3, n_classes=1, depth=5, n_filters=6, dropout=0.6):
        super().__init__()
        self.depth = depth
        prev_channels = channels_in
        self.down_path = nn.ModuleList()
        for i in range(depth):
            self.down_path.append(DownBlock(prev_channels, 2 ** (n_filters + i), dropout))
            prev_channels = 2 ** (n_filters + i)
        self.up_path = nn.ModuleList()
        for i in reversed(range(depth - 1)):
            self.up_path.append(UpBlock(prev_channels, 2 ** (n_filters + i), dropout))
            prev_channels = 2 ** (n_filters + i)
        self.last = nn.Conv2d(prev_channels, n_classes, kernel_size=1)

    def forward(self, x):
        blocks = []
        for i, down in enumerate(self.down_path):
            x = down(x)
            if i != len(self.down_path) - 1:
                blocks.append(x)
                x = F.max_pool2d(x, 2)
        for i, up in enumerate(self.up_path):
            x = up(x, blocks[-i - 1])
        return unetseg.sigmoid(self.last(x))
