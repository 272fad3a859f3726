"""Small building blocks shared by the architectures."""

import torch
from torch import nn
from torch.nn import functional as F


def adapt_first_conv(weight: torch.Tensor, in_ch: int) -> torch.Tensor:
    """RGB first-conv weights for `in_ch` bands: sum for 1 band, cycle and rescale for more."""
    if in_ch == weight.shape[1]:
        return weight
    if in_ch == 1:
        return weight.sum(dim=1, keepdim=True)
    idx = [i % weight.shape[1] for i in range(in_ch)]
    return weight[:, idx] * (weight.shape[1] / in_ch)


def conv_bn_relu(cin: int, cout: int, k: int = 3, dilation: int = 1, groups: int = 1) -> nn.Sequential:
    pad = dilation * (k // 2)
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=pad, dilation=dilation, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(conv_bn_relu(cin, cout), conv_bn_relu(cout, cout))


class UpBlock(nn.Module):
    """Upsample to the skip's size, concatenate, two 3x3 convs."""

    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.conv = DoubleConv(cin + cskip, cout)

    def forward(self, x: torch.Tensor, skip) -> torch.Tensor:
        size = skip.shape[-2:] if skip is not None else [s * 2 for s in x.shape[-2:]]
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv(x)


class UNetDecoder(nn.Module):
    """Decoder over encoder features ordered fine to coarse; output at 1/`first stride`."""

    def __init__(self, enc_channels, dec_channels):
        super().__init__()
        skips = list(enc_channels[:-1])[::-1]
        cin = enc_channels[-1]
        blocks = []
        for cskip, cout in zip(skips, dec_channels):
            blocks.append(UpBlock(cin, cskip, cout))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = cin

    def forward(self, feats) -> torch.Tensor:
        x = feats[-1]
        for block, skip in zip(self.blocks, feats[:-1][::-1]):
            x = block(x, skip)
        return x


def upsample_to(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)
