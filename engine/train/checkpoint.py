"""Checkpoints of a training run (atomic, resumable, tied to their run by a fingerprint) and its per-epoch CSV."""

import csv
import os
from dataclasses import asdict

import numpy as np

from ..core.atomic import atomic_path


def checkpoint_path(model_path: str) -> str:
    return model_path + ".ckpt"


def run_fingerprint(scenes, params) -> str:
    """What makes a checkpoint belong to a run: the rasters (path, size, time), the labels and the parameters
    that shape training (not device, threads or resume)."""
    import hashlib
    import json

    h = hashlib.sha256()
    for s in scenes:
        st = os.stat(s.raster)
        h.update(f"{os.path.abspath(s.raster)}|{st.st_size}|{int(st.st_mtime)}|{s.role}|".encode())
        h.update(_labels_signature(s.labels).encode())
    keep = {k: v for k, v in asdict(params).items() if k not in ("device", "threads", "resume", "fit_check",
                                                                         "keep_better_start")}
    h.update(json.dumps(keep, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _labels_signature(labels) -> str:
    inner = getattr(labels, "labels", None)
    if inner is not None and hasattr(labels, "threshold"):  # IncompleteLabels
        return "incomplete:" + _labels_signature(inner)
    if inner is not None:  # AreaSplitLabels
        return "split:" + _labels_signature(inner) + _labels_signature(labels.area)
    if hasattr(labels, "bounds"):  # PolygonLabels
        area = labels.area_bounds if labels.area_bounds is not None else np.zeros(0)
        return f"poly:{len(labels.shapes)}:{labels.bounds.round(3).tobytes().hex()[:4000]}:{area.sum():.3f}:" \
               f"{labels.gap_px}:{sorted({v for _, v in labels.shapes})}"
    ds = getattr(labels, "ds", None)  # RasterLabels
    return f"raster:{ds.name if ds is not None else type(labels).__name__}"


def _save_checkpoint(torch, path, run, epoch):
    import json

    state = {"model": run.model.state_dict(), "optimizer": run.opt.state_dict(), "epoch": epoch,
             "history": json.dumps(run.history), "kept": json.dumps(run.kept), "kept_state": run.kept_state or {},
             "start": json.dumps(run.start), "start_state": run.start_state or {}, "peak": json.dumps(run.peak),
             "spent": torch.tensor(float(run.budget.spent())), "fingerprint": run.fingerprint,
             "ema": run.ema.state_dict() if run.ema is not None else {}}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _load_checkpoint(torch, path, run) -> tuple:
    """(epochs done, seconds spent) of this run's checkpoint, its state restored into `run`; (0, 0) when the
    checkpoint is another run's or unreadable."""
    import json

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("fingerprint", "") != run.fingerprint:
            run.progress.warn(f"The checkpoint {path} belongs to another run (other rasters, labels or "
                              "parameters): starting afresh; it will be replaced.")
            return 0, 0.0
        run.model.load_state_dict(state["model"])
        run.opt.load_state_dict(state["optimizer"])
        if run.ema is not None and state.get("ema"):
            run.ema.load_state_dict(state["ema"])
        run.kept, run.kept_state = json.loads(state["kept"]), state["kept_state"] or None
        run.start, run.start_state = json.loads(state["start"]), state["start_state"] or None
        run.peak, run.history = json.loads(state["peak"]), json.loads(state["history"])
    except Exception as exc:
        run.progress.warn(f"Ignoring the unreadable checkpoint {path} ({exc}); starting afresh.")
        return 0, 0.0
    epoch = int(state["epoch"])
    run.progress.info(f"Resuming from checkpoint {path} after epoch {epoch}.")
    return epoch, float(state["spent"])


def write_csv(path: str, history: list) -> None:
    keys = sorted({k for row in history for k in row}, key=lambda k: (k != "epoch", k))
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
