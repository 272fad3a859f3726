"""Inter-pixel relations (IRN, Ahn et al. CVPR 2019, the building-extraction variant of Fang & Zheng 2022):
confident foreground and background regions of the CAMs give pixel-pair labels (same region or not); a boundary
network on the classifier's features learns where relations break; CAMs then spread by a random walk whose
transitions follow the learned affinities, filling buildings up to their edges."""

from dataclasses import dataclass

import numpy as np

from ..core.errors import Cancelled

STRIDE = 4  # the relation grid: one node per 4 x 4 pixels


@dataclass
class IrnParams:
    fg_threshold: float = 0.30  # CAM above: confident building
    bg_threshold: float = 0.05  # CAM below: confident background
    radius: int = 5  # nodes: pairs within this distance are related
    epochs: int = 3
    lr: float = 1e-3
    beta: float = 10.0  # affinity sharpening in the random walk
    walk_steps: int = 64
    seed: int = 0


def offsets(radius: int) -> list:
    """Half of the (dy, dx) within the radius (the other half is symmetric)."""
    return [(dy, dx) for dy in range(0, radius + 1) for dx in range(-radius, radius + 1)
            if (dy > 0 or dx > 0) and dy * dy + dx * dx <= radius * radius]


def _shift(a, dy, dx):
    """b[..., y, x] = a[..., y + dy, x + dx] where defined; also the validity mask."""
    h, w = a.shape[-2:]
    out = a.new_zeros(a.shape) if hasattr(a, "new_zeros") else np.zeros_like(a)
    ok = np.zeros((h, w), bool)
    ys, ye = max(0, -dy), min(h, h - dy)
    xs, xe = max(0, -dx), min(w, w - dx)
    out[..., ys:ye, xs:xe] = a[..., ys + dy:ye + dy, xs + dx:xe + dx]
    ok[ys:ye, xs:xe] = True
    return out, ok


def build_head(channels: list):
    """Boundary head: 1x1 projections of the stride-4, 8 and 16 features, fused to one boundary map."""
    from torch import nn

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.ModuleList([nn.Sequential(nn.Conv2d(c, 32, 1, bias=False), nn.GroupNorm(4, 32),
                                                     nn.ReLU()) for c in channels])
            self.fuse = nn.Conv2d(32 * len(channels), 1, 1)

        def forward(self, feats, size):
            import torch

            ups = [nn.functional.interpolate(p(f), size=size, mode="bilinear", align_corners=False)
                   for p, f in zip(self.proj, feats)]
            return torch.sigmoid(self.fuse(torch.cat(ups, 1)))[:, 0]

    return Head()


def relation_labels(cam_small: np.ndarray, params: IrnParams):
    """Per node: 1 confident building, 0 confident background, -1 unsure."""
    lab = np.full(cam_small.shape, -1, np.int8)
    lab[cam_small >= params.fg_threshold] = 1
    lab[cam_small <= params.bg_threshold] = 0
    return lab


def affinities(boundary, offs):
    """(B, K, h, w) affinity of each node of (B, h, w) boundary maps with its neighbour at each offset:
    1 - the strongest boundary on the way (ends and middle)."""
    import torch

    out = []
    for dy, dx in offs:
        far, _ = _shift(boundary, dy, dx)
        mid, _ = _shift(boundary, dy // 2, dx // 2)
        out.append(1 - torch.maximum(torch.maximum(boundary, far), mid))
    return torch.stack(out, 1)


def train_head(net, head, samples, params: IrnParams, device, progress):
    """Fit the boundary head on [(normalised tile tensor, CAM at full size)] with the classifier frozen."""
    import torch

    offs = offsets(params.radius)
    opt = torch.optim.AdamW(head.parameters(), lr=params.lr, weight_decay=1e-4)
    head.to(device).train()
    rng = np.random.default_rng(params.seed)
    for epoch in range(params.epochs):
        total, n = 0.0, 0
        for i in rng.permutation(len(samples)):
            if progress.is_canceled():
                raise Cancelled()
            x, cam_full = samples[i]
            h, w = x.shape[-2] // STRIDE, x.shape[-1] // STRIDE
            lab = torch.from_numpy(relation_labels(_pool(cam_full, h, w), params))
            with torch.no_grad():
                feats, _ = net.features(x.to(device))
            boundary = head(feats[1:4], (h, w))[0]
            aff = affinities(boundary[None], offs)[0]
            losses = []
            for k, (dy, dx) in enumerate(offs):
                other, ok = _shift(lab, dy, dx)
                ok = torch.from_numpy(ok) & (lab >= 0) & (other >= 0)
                same_fg = ok & (lab == 1) & (other == 1)
                same_bg = ok & (lab == 0) & (other == 0)
                differ = ok & (lab != other)
                a = aff[k].clamp(1e-5, 1 - 1e-5)
                for sel, value in ((same_fg, -torch.log(a)), (same_bg, -torch.log(a)), (differ, -torch.log(1 - a))):
                    if sel.any():
                        losses.append(value[sel].mean())
            if not losses:
                continue
            loss = sum(losses) / len(losses)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n = total + float(loss.detach()), n + 1
        progress.info(f"Relation network epoch {epoch + 1}/{params.epochs}: loss {total / max(n, 1):.4f}")
    return head.eval()


def _pool(cam_full: np.ndarray, h: int, w: int) -> np.ndarray:
    """Mean of each STRIDE x STRIDE cell."""
    c = cam_full[:h * STRIDE, :w * STRIDE]
    return c.reshape(h, STRIDE, w, STRIDE).mean((1, 3))


def random_walk(net, head, x, cam_full: np.ndarray, params: IrnParams, device) -> np.ndarray:
    """The CAM propagated along the learned affinities, at full size, 0..1."""
    import torch

    offs = offsets(params.radius)
    h, w = x.shape[-2] // STRIDE, x.shape[-1] // STRIDE
    with torch.no_grad():
        feats, _ = net.features(x.to(device))
        boundary = head(feats[1:4], (h, w))[0]
        aff = affinities(boundary[None], offs)[0].cpu().numpy() ** params.beta  # (K, h, w)
    n = h * w
    idx = np.arange(n).reshape(h, w)
    rows, cols, vals = [idx.ravel()], [idx.ravel()], [np.ones(n)]
    for k, (dy, dx) in enumerate(offs):
        other, ok = _shift(idx, dy, dx)
        a = aff[k][ok]
        rows += [idx[ok], other[ok]]
        cols += [other[ok], idx[ok]]
        vals += [a, a]
    from scipy.sparse import coo_matrix, diags

    m = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsr()
    t = diags(1.0 / np.asarray(m.sum(1)).ravel()) @ m
    v = _pool(cam_full, h, w).ravel().astype(np.float64)
    for _ in range(params.walk_steps):
        v = t @ v
    out = torch.nn.functional.interpolate(torch.from_numpy(v.reshape(1, 1, h, w).astype(np.float32)),
                                          size=cam_full.shape, mode="bilinear", align_corners=False)[0, 0].numpy()
    peak = out.max()
    return out / peak if peak > 0 else out
