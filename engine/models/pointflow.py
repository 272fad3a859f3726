"""PointFlow (Li et al., CVPR 2021): an FPN on ResNet-50 whose top-down fusion at each level uses a
point-flow module: a learned flow aligns the coarse features to the fine grid, a saliency (edge) map picks
the most uncertain points, and only at those points are high-level semantics fused into the fine features."""

import torch
from torch import nn
from torch.nn import functional as F

from .encoders import build_encoder
from .layers import conv_bn_relu, upsample_to


class PointFlowModule(nn.Module):
    def __init__(self, c: int, ratio: float = 0.1, max_points: int = 4096):
        super().__init__()
        self.ratio, self.max_points = ratio, max_points
        self.flow = nn.Conv2d(2 * c, 2, 3, padding=1)
        self.saliency = nn.Conv2d(2 * c, 1, 3, padding=1)
        self.point_mlp = nn.Sequential(nn.Conv1d(2 * c, c, 1), nn.ReLU(inplace=True), nn.Conv1d(c, c, 1))
        nn.init.zeros_(self.flow.weight)
        nn.init.zeros_(self.flow.bias)

    def _warp(self, high, flow, size):
        n, _, h, w = flow.shape
        ys = torch.linspace(-1, 1, h, device=flow.device, dtype=flow.dtype)
        xs = torch.linspace(-1, 1, w, device=flow.device, dtype=flow.dtype)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        grid = torch.stack([gx, gy], -1).unsqueeze(0).expand(n, -1, -1, -1)
        offset = flow.permute(0, 2, 3, 1) / torch.tensor([w, h], device=flow.device, dtype=flow.dtype)
        return F.grid_sample(high, grid + offset, mode="bilinear", align_corners=True)

    def forward(self, low, high):
        high_up = upsample_to(high, low)
        both = torch.cat([low, high_up], 1)
        aligned = self._warp(high, self.flow(both), low.shape[-2:])
        out = low + aligned
        n, c, h, w = low.shape
        k = max(1, min(self.max_points, int(h * w * self.ratio)))
        saliency = torch.sigmoid(self.saliency(both)).view(n, -1)
        uncertainty = -(saliency - 0.5).abs()  # most uncertain: saliency closest to 0.5
        idx = uncertainty.topk(k, dim=1).indices.unsqueeze(1)  # (n, 1, k)
        flat_out = out.view(n, c, -1)
        points = torch.cat([low.view(n, c, -1).gather(2, idx.expand(-1, c, -1)),
                            aligned.view(n, c, -1).gather(2, idx.expand(-1, c, -1))], 1)
        gate = saliency.gather(1, idx[:, 0]).unsqueeze(1)  # the saliency weights the fused points
        refined = self.point_mlp(points) * gate
        flat_out = flat_out.scatter_add(2, idx.expand(-1, c, -1), refined)
        return flat_out.view(n, c, h, w)


class PointFlowNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, backbone: str = "resnet50", channels: int = 128,
                 point_ratio: float = 0.1, pretrained: bool = True):
        super().__init__()
        self.encoder = build_encoder(backbone, in_channels, 32, pretrained)
        stage_channels = self.encoder.channels[1:]
        self.lateral = nn.ModuleList([conv_bn_relu(c, channels, 1) for c in stage_channels])
        self.flows = nn.ModuleList([PointFlowModule(channels, point_ratio) for _ in stage_channels[:-1]])
        self.smooth = nn.ModuleList([conv_bn_relu(channels, channels) for _ in stage_channels])
        self.head = nn.Sequential(conv_bn_relu(channels * len(stage_channels), channels),
                                  nn.Conv2d(channels, num_classes, 1))

    def forward(self, x):
        feats = [lat(f) for lat, f in zip(self.lateral, self.encoder(x)[1:])]
        top = feats[-1]
        pyramid = [top]
        for i in range(len(feats) - 2, -1, -1):
            top = self.flows[i](feats[i], top)
            pyramid.insert(0, top)
        pyramid = [s(p) for s, p in zip(self.smooth, pyramid)]
        fused = torch.cat([upsample_to(p, pyramid[0]) for p in pyramid], 1)
        return upsample_to(self.head(fused), x)
