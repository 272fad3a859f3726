"""A building / no-building tile classifier (ResNet + global pooling) and its class activation maps, refined by
adversarial climbing (AdvCAM, Lee et al. CVPR 2021): a few gradient-ascent steps on the image raise the class
score while a regulariser keeps already strong regions from growing, so the map spreads to the whole object."""

from dataclasses import dataclass

import numpy as np

from ..core.errors import Cancelled


@dataclass
class CamParams:
    backbone: str = "resnet50"
    tile_size: int = 256
    epochs: int = 6
    batch_size: int = 8
    lr: float = 1e-3
    adv_steps: int = 8  # AdvCAM iterations (0: plain CAM)
    adv_step: float = 0.08  # step size, in normalised image units
    adv_lambda: float = 7.0  # weight of the mask regulariser
    adv_mask: float = 0.5  # CAM level above which a region is 'already strong'
    seed: int = 0


def _torch():
    import torch

    return torch


def build(in_channels: int, backbone: str = "resnet50"):
    """The classifier: ResNet features at stride 16, a 1x1 convolution to one building score per pixel (the CAM),
    global average pooling of that score as the tile's logit."""
    import torch
    from torch import nn

    from ..models.encoders import build_encoder

    depth = int(backbone[6:])

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = build_encoder(backbone, in_channels, output_stride=16 if depth >= 50 else 32)
            self.deep = depth >= 50  # dilated layer4 at stride 16; otherwise layer3 (stride 16) is used
            width = self.encoder.channels[-1] if self.deep else self.encoder.channels[-2]
            self.score = nn.Conv2d(width, 1, 1, bias=False)

        def features(self, x):
            feats = self.encoder(x)
            return feats, feats[-1] if self.deep else feats[-2]

        def forward(self, x):
            _, f = self.features(x)
            cam = self.score(f)
            return cam.mean((2, 3))[:, 0], cam[:, 0]

    torch.manual_seed(0)
    return Net()


def train_classifier(net, reader, tiles, params: CamParams, device, progress):
    """Fit on [(scene index, row, col, label)] tiles (labels 0/1) with BCE; flips as augmentation."""
    torch = _torch()
    rng = np.random.default_rng(params.seed)
    labelled = [t for t in tiles if t[3] is not None]
    pos = sum(t[3] for t in labelled)
    weight = torch.tensor([(len(labelled) - pos) / max(pos, 1)], dtype=torch.float32)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=weight.clamp(0.2, 5.0).to(device))
    opt = torch.optim.AdamW(net.parameters(), lr=params.lr, weight_decay=1e-4)
    steps = max(1, len(labelled) // params.batch_size)
    net.to(device).train()
    for epoch in range(params.epochs):
        order = rng.permutation(len(labelled))
        total = 0.0
        for step in range(steps):
            if progress.is_canceled():
                raise Cancelled()
            batch = [labelled[i] for i in order[step * params.batch_size:(step + 1) * params.batch_size]]
            x = torch.from_numpy(np.stack([reader(t) for t in batch])).to(device)
            if rng.random() < 0.5:
                x = x.flip(-1)
            if rng.random() < 0.5:
                x = x.flip(-2)
            y = torch.tensor([float(t[3]) for t in batch], device=device)
            logit, _ = net(x)
            loss = loss_fn(logit, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
            progress.set_progress(100.0 * (epoch + (step + 1) / steps) / params.epochs)
        progress.info(f"Classifier epoch {epoch + 1}/{params.epochs}: loss {total / steps:.4f}")
    return net.eval()


def cam(net, x, size) -> np.ndarray:
    """Plain CAM of one normalised tile (1, C, H, W), at `size`, scaled to 0..1."""
    torch = _torch()
    with torch.no_grad():
        _, raw = net(x)
    return _normalise(torch, raw, size)


def advcam(net, x, size, params: CamParams) -> np.ndarray:
    """AdvCAM: CAMs accumulated over adversarial-climbing steps, scaled to 0..1."""
    torch = _torch()
    x0 = x.detach()
    with torch.no_grad():
        _, first = net(x0)
        peak = first.clamp(min=0).amax().clamp(min=1e-6)
        strong = (first.clamp(min=0) / peak > params.adv_mask).float()
    total = first.clamp(min=0).detach()
    xt = x0.clone()
    for _ in range(params.adv_steps):
        xt.requires_grad_(True)
        logit, raw = net(xt)
        reg = (strong * (raw.clamp(min=0) - first.clamp(min=0)).abs()).sum()
        objective = logit.sum() - params.adv_lambda * reg / strong.sum().clamp(min=1)
        (grad,) = torch.autograd.grad(objective, xt)
        with torch.no_grad():
            xt = xt + params.adv_step * grad / grad.abs().amax().clamp(min=1e-12)
            total = total + raw.clamp(min=0).detach()
    return _normalise(torch, total, size)


def _normalise(torch, raw, size) -> np.ndarray:
    m = torch.nn.functional.interpolate(raw.clamp(min=0)[:, None], size=size, mode="bilinear",
                                        align_corners=False)[0, 0]
    peak = float(m.max())
    return (m / peak).cpu().numpy() if peak > 0 else np.zeros(size, np.float32)
