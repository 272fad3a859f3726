"""Confusion matrices and the scores derived from them."""

import numpy as np

from ..io.labels import IGNORE


def confusion(pred: np.ndarray, ref: np.ndarray, num_classes: int) -> np.ndarray:
    """num_classes x num_classes counts (rows: reference, columns: prediction), IGNORE skipped."""
    ok = (ref != IGNORE) & (ref < num_classes)
    idx = ref[ok].astype(np.int64) * num_classes + pred[ok].astype(np.int64)
    return np.bincount(idx, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def scores(cm: np.ndarray) -> dict:
    """Per-class IoU, F1, precision, recall, plus overall accuracy and means."""
    tp = np.diag(cm).astype(float)
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = tp / (tp + fp + fn)
        f1 = 2 * tp / (2 * tp + fp + fn)
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
    total = cm.sum()
    return {
        "iou": np.nan_to_num(iou).tolist(), "f1": np.nan_to_num(f1).tolist(),
        "precision": np.nan_to_num(precision).tolist(), "recall": np.nan_to_num(recall).tolist(),
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "mean_iou": float(np.nanmean(iou)) if total else 0.0,
        "support": cm.sum(1).astype(int).tolist(),  # reference pixels per class
    }
