"""torchvision backbones as multi-scale encoders for any number of input bands.

Pretrained ImageNet weights are used only when the weight file is already in
the torch cache (or a path is given): nothing is ever downloaded.
"""

import os

import torch
from torch import nn

from .efficientnet import VARIANTS, EfficientNetLiteEncoder
from .layers import adapt_first_conv

# torchvision's file names for its ImageNet weights, as found in the torch cache
WEIGHT_FILES = {
    "resnet18": "resnet18-f37072fd.pth",
    "resnet34": "resnet34-b627a593.pth",
    "resnet50": "resnet50-11ad3fa6.pth",
    "mobilenet_v2": "mobilenet_v2-7ebf99e0.pth",
    "vgg16_bn": "vgg16_bn-6c64b313.pth",
}


def cached_weights(name: str, path: str = None):
    """The state dict of torchvision's weights if the file is on disk, else None."""
    if path is None:
        path = os.path.join(torch.hub.get_dir(), "checkpoints", WEIGHT_FILES[name])
    if not os.path.isfile(path):
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


def _load_pretrained(model: nn.Module, name: str, first_conv_key: str, in_ch: int, path=None) -> bool:
    state = cached_weights(name, path)
    if state is None:
        return False
    state = {k: v for k, v in state.items() if not k.startswith(("fc.", "classifier."))}
    state[first_conv_key] = adapt_first_conv(state[first_conv_key], in_ch)
    model.load_state_dict(state, strict=False)
    return True


class ResNetEncoder(nn.Module):
    """Features at strides 2, 4, 8, 16, 32 (the last two dilated when `output_stride` is 8/16)."""

    def __init__(self, depth: int = 18, in_channels: int = 3, output_stride: int = 32,
                 pretrained: bool = True, weights_path: str = None):
        super().__init__()
        from torchvision.models import resnet

        name = f"resnet{depth}"
        dilate = {32: [False, False, False], 16: [False, False, True], 8: [False, True, True]}[output_stride]
        if depth < 50 and output_stride != 32:
            raise ValueError("dilated output strides need a bottleneck ResNet (50)")
        net = getattr(resnet, name)(weights=None, replace_stride_with_dilation=dilate if depth >= 50 else None)
        net.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.pretrained = pretrained and _load_pretrained(net, name, "conv1.weight", in_channels, weights_path)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu)
        self.pool = net.maxpool
        self.layers = nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])
        widths = [64, 128, 256, 512] if depth < 50 else [256, 512, 1024, 2048]
        self.channels = [64] + widths

    def forward(self, x):
        feats = [self.stem(x)]
        x = self.pool(feats[0])
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats


class MobileNetV2Encoder(nn.Module):
    """MobileNetV2 features at strides 2, 4, 8, 16, 32."""

    SPLITS = [(0, 2), (2, 4), (4, 7), (7, 14), (14, 18)]

    def __init__(self, in_channels: int = 3, pretrained: bool = True, weights_path: str = None,
                 output_stride: int = 32):
        super().__init__()
        from torchvision.models import mobilenet_v2

        net = mobilenet_v2(weights=None)
        old = net.features[0][0]
        net.features[0][0] = nn.Conv2d(in_channels, old.out_channels, 3, 2, 1, bias=False)
        self.pretrained = pretrained and _load_pretrained(net, "mobilenet_v2", "features.0.0.weight",
                                                          in_channels, weights_path)
        if output_stride != 32:
            _dilate_mobilenet(net.features, output_stride)
        self.stages = nn.ModuleList([net.features[a:b] for a, b in self.SPLITS])
        self.channels = [16, 24, 32, 96, 320]

    def forward(self, x):
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


def _dilate_mobilenet(features: nn.Sequential, output_stride: int) -> None:
    """Replace late strides by dilation so the encoder stops at `output_stride`."""
    stride, dilation = 1, 1
    for block in features:
        for conv in (m for m in block.modules() if isinstance(m, nn.Conv2d)):
            if conv.stride == (2, 2):
                if stride >= output_stride:
                    conv.stride, dilation = (1, 1), dilation * 2
                else:
                    stride *= 2
            elif conv.kernel_size == (3, 3) and dilation > 1:
                conv.dilation, conv.padding = (dilation, dilation), (dilation, dilation)


def build_encoder(backbone: str, in_channels: int, output_stride: int = 32, pretrained: bool = True):
    if backbone.startswith("resnet"):
        return ResNetEncoder(int(backbone[6:]), in_channels, output_stride, pretrained)
    if backbone == "mobilenet_v2":
        return MobileNetV2Encoder(in_channels, pretrained, output_stride=output_stride)
    if backbone.startswith("efficientnet-lite") and output_stride == 32:
        if backbone in VARIANTS:
            return EfficientNetLiteEncoder(backbone, in_channels, pretrained)
    raise ValueError(f"unknown backbone '{backbone}' (resnet18, resnet34, resnet50, mobilenet_v2, "
                     "efficientnet-lite0/1/2 at output stride 32)")
