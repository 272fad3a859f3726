"""The classic FCN family remote-sensing users compare against: FCN-8s/16s/32s, SegNet, PSPNet,
RefineNet and DenseASPP."""

import torch
from torch import nn
from torch.nn import functional as F

from .encoders import adapt_first_conv, build_encoder, cached_weights
from .layers import conv_bn_relu, upsample_to


def _vgg16_stages(in_channels: int, pretrained: bool):
    """VGG-16 with batch norm, split at its five max-pools (strides 2..32)."""
    from torchvision.models import vgg16_bn

    net = vgg16_bn(weights=None)
    old = net.features[0]
    net.features[0] = nn.Conv2d(in_channels, old.out_channels, 3, padding=1)
    state = cached_weights("vgg16_bn") if pretrained else None
    if state is not None:
        state = {k: v for k, v in state.items() if k.startswith("features.")}
        state["features.0.weight"] = adapt_first_conv(state["features.0.weight"], in_channels)
        net.load_state_dict(state, strict=False)
    stages, start = [], 0
    for i, m in enumerate(net.features):
        if isinstance(m, nn.MaxPool2d):
            stages.append(net.features[start:i + 1])
            start = i + 1
    return nn.ModuleList(stages)


class FCN(nn.Module):
    """FCN (Long et al. 2015) on VGG-16: `stride` 8, 16 or 32 picks FCN-8s, -16s or -32s."""

    def __init__(self, in_channels: int, num_classes: int, stride: int = 8, fc_channels: int = 1024,
                 pretrained: bool = True):
        super().__init__()
        if stride not in (8, 16, 32):
            raise ValueError("FCN stride must be 8, 16 or 32")
        self.stride = stride
        self.stages = _vgg16_stages(in_channels, pretrained)
        self.fc = nn.Sequential(conv_bn_relu(512, fc_channels, 3), nn.Dropout2d(0.1),
                                conv_bn_relu(fc_channels, fc_channels, 1), nn.Dropout2d(0.1))
        self.score32 = nn.Conv2d(fc_channels, num_classes, 1)
        self.score16 = nn.Conv2d(512, num_classes, 1) if stride <= 16 else None
        self.score8 = nn.Conv2d(256, num_classes, 1) if stride == 8 else None

    def forward(self, x):
        feats, y = [], x
        for stage in self.stages:
            y = stage(y)
            feats.append(y)
        out = self.score32(self.fc(feats[4]))
        if self.stride <= 16:
            out = upsample_to(out, feats[3]) + self.score16(feats[3])
        if self.stride == 8:
            out = upsample_to(out, feats[2]) + self.score8(feats[2])
        return upsample_to(out, x)


class SegNet(nn.Module):
    """SegNet (Badrinarayanan et al. 2017): VGG-style encoder, decoder upsampling with the pooling indices."""

    def __init__(self, in_channels: int, num_classes: int, base: int = 32):
        super().__init__()
        widths = [base, base * 2, base * 4, base * 8, base * 8]
        reps = [2, 2, 3, 3, 3]
        self.enc, self.dec = nn.ModuleList(), nn.ModuleList()
        cin = in_channels
        for w, r in zip(widths, reps):
            self.enc.append(nn.Sequential(*[conv_bn_relu(cin if i == 0 else w, w) for i in range(r)]))
            cin = w
        outs = widths[-2::-1] + [widths[0]]
        for w, r, cout in zip(widths[::-1], reps[::-1], outs):
            self.dec.append(nn.Sequential(*[conv_bn_relu(w, w if i < r - 1 else cout) for i in range(r)]))
        self.head = nn.Conv2d(widths[0], num_classes, 3, padding=1)

    def forward(self, x):
        indices, sizes = [], []
        for block in self.enc:
            x = block(x)
            sizes.append([int(s) for s in x.shape[-2:]])  # plain ints: exports are made at a fixed tile size
            x, idx = F.max_pool2d(x, 2, 2, ceil_mode=True, return_indices=True)
            indices.append(idx)
        for block, idx, size in zip(self.dec, indices[::-1], sizes[::-1]):
            x = block(_unpool(x, idx, size))
        return self.head(x)


def _unpool(x, indices, size):
    """max_unpool2d as a scatter of the values to their flat indices (the ONNX exporter has no max_unpool2d)."""
    n, c = x.shape[:2]
    out = x.new_zeros(n, c, size[0] * size[1])
    return out.scatter(2, indices.flatten(2), x.flatten(2)).view(n, c, size[0], size[1])


class _BinPool(nn.Module):
    """Adaptive average pooling to `bins` x `bins`; traced (ONNX export at a fixed size) as explicit cell means,
    since the exporter refuses bin counts that do not divide the feature size."""

    def __init__(self, bins: int):
        super().__init__()
        self.bins = bins

    def forward(self, x):
        if not torch.jit.is_tracing():
            return F.adaptive_avg_pool2d(x, self.bins)
        h, w, b = int(x.shape[-2]), int(x.shape[-1]), self.bins
        rows = [x[..., i * h // b:-(-(i + 1) * h // b), :] for i in range(b)]
        return torch.stack([torch.stack([r[..., j * w // b:-(-(j + 1) * w // b)].mean((-2, -1)) for j in range(b)], -1)
                            for r in rows], -2)


class PSPNet(nn.Module):
    """PSPNet (Zhao et al. 2017): dilated ResNet-50, pyramid pooling (1, 2, 3, 6), auxiliary head in training."""

    def __init__(self, in_channels: int, num_classes: int, backbone: str = "resnet50", output_stride: int = 8,
                 bins=(1, 2, 3, 6), pretrained: bool = True):
        super().__init__()
        self.encoder = build_encoder(backbone, in_channels, output_stride, pretrained)
        c = self.encoder.channels[-1]
        self.pools = nn.ModuleList([nn.Sequential(_BinPool(b), nn.Conv2d(c, c // 4, 1, bias=False),
                                                  nn.ReLU(inplace=True)) for b in bins])
        self.head = nn.Sequential(conv_bn_relu(c + len(bins) * (c // 4), 512), nn.Dropout2d(0.1),
                                  nn.Conv2d(512, num_classes, 1))
        self.aux = nn.Sequential(conv_bn_relu(self.encoder.channels[-2], 256), nn.Conv2d(256, num_classes, 1))

    def forward(self, x):
        feats = self.encoder(x)
        f = feats[-1]
        pyramid = [f] + [F.interpolate(p(f), size=f.shape[-2:], mode="bilinear", align_corners=False)
                         for p in self.pools]
        out = upsample_to(self.head(torch.cat(pyramid, 1)), x)
        if self.training:
            return out, [self.aux(feats[-2])]
        return out


class _RCU(nn.Module):
    """Residual conv unit (with batch norm: trains stably from scratch)."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.conv(x)


class _RefineBlock(nn.Module):
    """RefineNet block: RCUs per input, multi-resolution fusion, chained residual pooling."""

    def __init__(self, cin_low: int, c: int, has_high: bool):
        super().__init__()
        self.adapt = nn.Sequential(nn.Conv2d(cin_low, c, 3, padding=1), _RCU(c), _RCU(c))
        self.fuse_low = nn.Conv2d(c, c, 3, padding=1)
        self.fuse_high = nn.Conv2d(c, c, 3, padding=1) if has_high else None
        self.crp = nn.ModuleList([nn.Sequential(nn.MaxPool2d(5, 1, 2), nn.Conv2d(c, c, 3, padding=1, bias=False),
                                                nn.BatchNorm2d(c)) for _ in range(2)])
        self.out = _RCU(c)

    def forward(self, low, high=None):
        y = self.fuse_low(self.adapt(low))
        if high is not None:
            y = y + upsample_to(self.fuse_high(high), y)
        y = F.relu(y)
        path = y
        for stage in self.crp:
            path = stage(path)
            y = y + path
        return self.out(y)


class RefineNet(nn.Module):
    """RefineNet (Lin et al. 2017) on a ResNet encoder; output at stride 4, upsampled."""

    def __init__(self, in_channels: int, num_classes: int, backbone: str = "resnet50", channels: int = 256,
                 pretrained: bool = True):
        super().__init__()
        self.encoder = build_encoder(backbone, in_channels, 32, pretrained)
        ch = self.encoder.channels[1:]
        self.blocks = nn.ModuleList([_RefineBlock(ch[3], channels * 2, False),
                                     _RefineBlock(ch[2], channels * 2, True),
                                     _RefineBlock(ch[1], channels, True),
                                     _RefineBlock(ch[0], channels, True)])
        self.bridges = nn.ModuleList([nn.Identity(), nn.Identity(), nn.Conv2d(channels * 2, channels, 1),
                                      nn.Identity()])
        self.head = nn.Sequential(_RCU(channels), _RCU(channels), nn.Conv2d(channels, num_classes, 1))

    def forward(self, x):
        feats = self.encoder(x)[1:]
        y = None
        for block, bridge, f in zip(self.blocks, self.bridges, feats[::-1]):
            y = block(f, bridge(y) if y is not None else None)
        return upsample_to(self.head(y), x)


class DenseASPP(nn.Module):
    """DenseASPP (Yang et al. 2018): densely connected atrous convolutions (3, 6, 12, 18, 24) on a dilated
    ResNet-50 (the paper's DenseNet backbone is replaced by the registry's ResNet)."""

    def __init__(self, in_channels: int, num_classes: int, backbone: str = "resnet50", rates=(3, 6, 12, 18, 24),
                 inter: int = 256, growth: int = 64, pretrained: bool = True):
        super().__init__()
        self.encoder = build_encoder(backbone, in_channels, 8, pretrained)
        c = self.encoder.channels[-1]
        self.layers = nn.ModuleList()
        for i, r in enumerate(rates):
            cin = c + i * growth
            self.layers.append(nn.Sequential(conv_bn_relu(cin, inter, 1), conv_bn_relu(inter, growth, 3, dilation=r),
                                             nn.Dropout2d(0.1)))
        self.head = nn.Sequential(conv_bn_relu(c + len(rates) * growth, 256, 1), nn.Conv2d(256, num_classes, 1))

    def forward(self, x):
        y = self.encoder(x)[-1]
        for layer in self.layers:
            y = torch.cat([y, layer(y)], 1)
        return upsample_to(self.head(y), x)
