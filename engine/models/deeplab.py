"""DeepLabv3 and DeepLabv3+ (Chen et al. 2017, 2018) on ResNet-50 or MobileNetV2."""

import torch
from torch import nn
from torch.nn import functional as F

from .encoders import build_encoder
from .layers import conv_bn_relu, upsample_to


class ASPP(nn.Module):
    def __init__(self, cin: int, cout: int = 256, rates=(12, 24, 36)):
        super().__init__()
        self.branches = nn.ModuleList([conv_bn_relu(cin, cout, 1)] +
                                      [conv_bn_relu(cin, cout, 3, dilation=r) for r in rates])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False), nn.ReLU(inplace=True))
        self.project = nn.Sequential(conv_bn_relu(cout * (len(rates) + 2), cout, 1), nn.Dropout(0.1))

    def forward(self, x):
        pooled = F.interpolate(self.pool(x), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.project(torch.cat([b(x) for b in self.branches] + [pooled], dim=1))


class DeepLabV3(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, backbone: str = "resnet50",
                 output_stride: int = 16, pretrained: bool = True):
        super().__init__()
        self.encoder = build_encoder(backbone, in_channels, output_stride, pretrained)
        rates = (6, 12, 18) if output_stride == 16 else (12, 24, 36)
        self.aspp = ASPP(self.encoder.channels[-1], 256, rates)
        self.head = nn.Sequential(conv_bn_relu(256, 256), nn.Conv2d(256, num_classes, 1))

    def forward(self, x):
        return upsample_to(self.head(self.aspp(self.encoder(x)[-1])), x)


class DeepLabV3Plus(DeepLabV3):
    """DeepLabv3 with the stride-4 low-level decoder."""

    def __init__(self, in_channels: int, num_classes: int, backbone: str = "resnet50",
                 output_stride: int = 16, pretrained: bool = True):
        super().__init__(in_channels, num_classes, backbone, output_stride, pretrained)
        self.low = conv_bn_relu(self.encoder.channels[1], 48, 1)
        self.head = nn.Sequential(conv_bn_relu(256 + 48, 256), conv_bn_relu(256, 256),
                                  nn.Conv2d(256, num_classes, 1))

    def forward(self, x):
        feats = self.encoder(x)
        low = self.low(feats[1])
        y = upsample_to(self.aspp(feats[-1]), low)
        return upsample_to(self.head(torch.cat([y, low], dim=1)), x)
