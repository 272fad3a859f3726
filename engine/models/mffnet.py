"""MFF-Net: multi-feature fusion network for building extraction.

Dilated ResNet-50 (or MobileNetV2) backbone; every stage goes through a 1x1 channel reduction + CBAM
(channel then spatial attention) and, in parallel, a down/up branch of depthwise-separable convolutions; the
two are summed, each scale gets a side output, and a 1x1 conv fuses the four side outputs. In training the
model returns (fused, [side outputs]) for deep supervision; in eval the fused output only. The optional
dual-channel mask block (a per-channel a*x+b interaction followed by a learnable +-1 channel mask) sits
after each fusion.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .encoders import build_encoder
from .layers import conv_bn_relu, upsample_to


class CBAM(nn.Module):
    def __init__(self, c: int, reduction: int = 16, kernel: int = 7):
        super().__init__()
        hidden = max(4, c // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(c, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, c, 1))
        self.spatial = nn.Conv2d(2, 1, kernel, padding=kernel // 2)

    def forward(self, x):
        x = x * torch.sigmoid(self.mlp(F.adaptive_avg_pool2d(x, 1)) + self.mlp(F.adaptive_max_pool2d(x, 1)))
        s = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.spatial(s))


def _dsconv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(conv_bn_relu(cin, cin, 3, groups=cin) if stride == 1 else
                         nn.Sequential(nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
                                       nn.ReLU(inplace=True)),
                         conv_bn_relu(cin, cout, 1))


class DualChannelMask(nn.Module):
    """y = a*x + b per channel, then multiplied by a learnable +-1 channel mask (straight-through sign)."""

    def __init__(self, c: int):
        super().__init__()
        self.a = nn.Parameter(torch.ones(1, c, 1, 1))
        self.b = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.w = nn.Parameter(torch.full((1, c, 1, 1), 0.1))

    def forward(self, x):
        sign = torch.where(self.w >= 0, torch.ones_like(self.w), -torch.ones_like(self.w))
        mask = sign + self.w - self.w.detach()  # forward: +-1; backward: identity to w
        return (self.a * x + self.b) * mask


class FusionBranch(nn.Module):
    def __init__(self, cin: int, c: int, dual_mask: bool):
        super().__init__()
        self.reduce = conv_bn_relu(cin, c, 1)
        self.cbam = CBAM(c)
        self.down = _dsconv(cin, c, stride=2)
        self.up = _dsconv(c, c)
        self.mask = DualChannelMask(c) if dual_mask else nn.Identity()

    def forward(self, x):
        attention = self.cbam(self.reduce(x))
        context = upsample_to(self.up(self.down(x)), x)
        return self.mask(attention + context)


class MFFNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, backbone: str = "resnet50", output_stride: int = 16,
                 channels: int = 64, dual_mask: bool = False, pretrained: bool = True):
        super().__init__()
        self.encoder = build_encoder(backbone, in_channels, output_stride, pretrained)
        stage_channels = self.encoder.channels[1:]
        self.branches = nn.ModuleList([FusionBranch(c, channels, dual_mask) for c in stage_channels])
        self.sides = nn.ModuleList([nn.Conv2d(channels, num_classes, 1) for _ in stage_channels])
        self.fuse = nn.Conv2d(num_classes * len(stage_channels), num_classes, 1)

    def forward(self, x):
        feats = self.encoder(x)[1:]
        sides = [upsample_to(side(branch(f)), x) for f, branch, side in zip(feats, self.branches, self.sides)]
        fused = self.fuse(torch.cat(sides, 1))
        return (fused, sides) if self.training else fused
