"""U-Net: the classic one and U-Net decoders on torchvision encoders."""

from torch import nn
from torch.nn import functional as F

from .encoders import build_encoder
from .layers import DoubleConv, UNetDecoder, upsample_to


class UNet(nn.Module):
    """Classic U-Net (Ronneberger et al. 2015), with batch norm (norm="batch") or none (norm="none": its
    training does not depend on how a batch is split, e.g. across DDP ranks on CPU) and bilinear upsampling."""

    def __init__(self, in_channels: int, num_classes: int, base: int = 64, depth: int = 4, norm: str = "batch"):
        super().__init__()
        widths = [base * 2**i for i in range(depth + 1)]
        self.enc = nn.ModuleList([DoubleConv(in_channels, widths[0])] +
                                 [DoubleConv(a, b) for a, b in zip(widths, widths[1:])])
        self.decoder = UNetDecoder(widths, widths[-2::-1])
        self.head = nn.Conv2d(widths[0], num_classes, 1)
        if norm == "none":
            for parent in list(self.modules()):
                for name, child in parent.named_children():
                    if isinstance(child, nn.BatchNorm2d):
                        setattr(parent, name, nn.Identity())
        elif norm != "batch":
            raise ValueError(f"norm must be 'batch' or 'none', not {norm!r}")

    def forward(self, x):
        feats = []
        for i, block in enumerate(self.enc):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            feats.append(x)
        return self.head(self.decoder(feats))


class EncoderUNet(nn.Module):
    """U-Net decoder on a ResNet or MobileNetV2 encoder; output at full resolution."""

    def __init__(self, in_channels: int, num_classes: int, backbone: str = "resnet18",
                 decoder_channels=(256, 128, 64, 32), pretrained: bool = True):
        super().__init__()
        self.encoder = build_encoder(backbone, in_channels, pretrained=pretrained)
        self.decoder = UNetDecoder(self.encoder.channels, list(decoder_channels))
        self.final = DoubleConv(self.decoder.out_channels, 16)
        self.head = nn.Conv2d(16, num_classes, 1)

    def forward(self, x):
        y = self.decoder(self.encoder(x))
        return self.head(self.final(upsample_to(y, x)))
