"""Training report: HTML with loss/IoU curves and a few validation tiles (PNG, embedded)."""

import base64
import html
import io

import numpy as np

from ..core.atomic import atomic_path
from .dataset import read_sample


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def _colour(ids, classes):
    rgb = np.zeros(ids.shape + (3,), np.uint8)
    for i, c in enumerate(classes):
        col = c.get("color", "#ffffff").lstrip("#")
        rgb[ids == i] = [int(col[k:k + 2], 16) for k in (0, 2, 4)]
    rgb[ids == 255] = [128, 128, 128]
    return rgb


def _display(img):
    x = img[:3] if img.shape[0] >= 3 else np.repeat(img[:1], 3, 0)
    lo, hi = np.percentile(x, 2), np.percentile(x, 98)
    return np.clip((x - lo) / max(hi - lo, 1e-6), 0, 1).transpose(1, 2, 0)


def training_report(path, history, info, scenes, vwin, model, bands, mean, std, n_tiles: int = 4):
    parts = [f"<h1>BuildSeg training report</h1><p>{html.escape(info.summary())}</p>"]
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError:
        plt = None
    if plt is not None and history:
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
        ep = [h["epoch"] for h in history]
        ax[0].plot(ep, [h["loss"] for h in history], marker="o")
        ax[0].set(title="training loss", xlabel="epoch")
        for key in sorted(k for k in history[0] if k.startswith("val_iou_")):
            ax[1].plot(ep, [h.get(key, np.nan) for h in history], marker="o", label=key[8:])
        ax[1].set(title="validation IoU", xlabel="epoch", ylim=(0, 1))
        ax[1].legend()
        parts.append(f'<img src="data:image/png;base64,{_png(fig)}">')
        plt.close(fig)
    if plt is not None and vwin:
        import torch

        rng = np.random.default_rng(0)
        pick = [vwin[i] for i in rng.choice(len(vwin), min(n_tiles, len(vwin)), replace=False)]
        fig, axes = plt.subplots(len(pick), 3, figsize=(9, 3 * len(pick)), squeeze=False)
        for row, (i, r, c) in zip(axes, pick):
            img, lab = read_sample(scenes[i], bands, r, c, scenes[i].tile, validation=True)
            with torch.inference_mode():
                x = torch.from_numpy(((img - mean) / std)[None].astype(np.float32))
                pred = model(x).argmax(1)[0].numpy()
            for a, im, title in zip(row, [_display(img), _colour(lab, info.classes), _colour(pred, info.classes)],
                                    ["image", "reference", "prediction"]):
                a.imshow(im)
                a.set_title(title)
                a.axis("off")
        parts.append(f'<h2>Validation tiles</h2><img src="data:image/png;base64,{_png(fig)}">')
        plt.close(fig)
    if history:
        keys = list(history[-1].keys())
        rows = "".join("<tr>" + "".join(f"<td>{h.get(k, ''):.4g}</td>" if isinstance(h.get(k), float)
                                        else f"<td>{h.get(k, '')}</td>" for k in keys) + "</tr>" for h in history)
        parts.append("<h2>Per-epoch metrics</h2><table border=1><tr>" +
                     "".join(f"<th>{k}</th>" for k in keys) + f"</tr>{rows}</table>")
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write("<!DOCTYPE html><html><head><meta charset='utf-8'><title>BuildSeg training report</title>"
                "</head><body>" + "".join(parts) + "</body></html>")
