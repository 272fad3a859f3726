"""Model inspection: a PNG sheet of the first convolution's kernels and per-layer weight statistics."""

import csv

import numpy as np

from ..core.atomic import atomic_path


def first_conv(model):
    import torch

    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d):
            return name, m
    return None, None


def kernel_sheet(model, png_path: str, cell: int = 32, columns: int = 16) -> tuple:
    """Write the first convolution's kernels as a grid (first three input bands as RGB, each kernel
    stretched on its own); returns (layer name, number of kernels)."""
    import cv2

    name, conv = first_conv(model)
    w = conv.weight.detach().float().cpu().numpy()  # (out, in, k, k)
    out_ch = w.shape[0]
    rows = -(-out_ch // columns)
    sheet = np.full((rows * (cell + 2) + 2, columns * (cell + 2) + 2, 3), 255, np.uint8)
    for i in range(out_ch):
        k = w[i, :3] if w.shape[1] >= 3 else np.repeat(w[i, :1], 3, 0)
        k = (k - k.min()) / max(float(k.max() - k.min()), 1e-12)
        img = cv2.resize((k.transpose(1, 2, 0) * 255).astype(np.uint8), (cell, cell),
                         interpolation=cv2.INTER_NEAREST)
        r, c = divmod(i, columns)
        sheet[2 + r * (cell + 2):2 + r * (cell + 2) + cell, 2 + c * (cell + 2):2 + c * (cell + 2) + cell] = img
    with atomic_path(png_path) as tmp:
        cv2.imwrite(tmp, sheet[:, :, ::-1])
    return name, out_ch


def weight_statistics(model) -> list:
    """One row per parameter tensor: name, shape, count, mean, std, min, max, share of near-zero weights."""
    rows = []
    for name, p in model.named_parameters():
        v = p.detach().float().cpu().numpy().ravel()
        rows.append({"layer": name, "shape": "x".join(map(str, p.shape)), "count": v.size,
                     "mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()), "max": float(v.max()),
                     "near_zero": float((np.abs(v) < 1e-3).mean())})
    return rows


def write_statistics(rows: list, csv_path: str) -> None:
    with atomic_path(csv_path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
