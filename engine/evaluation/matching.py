"""Building-level accuracy: one-to-one matching of predicted and reference polygons at IoU >= a threshold
(the SpaceNet metric), with TP / FP / FN features for a map."""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ObjectScores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    matches: list = field(default_factory=list)  # (pred index, ref index, iou)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self, n_pred: int, n_ref: int) -> dict:
        return {"object_tp": self.tp, "object_fp": self.fp, "object_fn": self.fn,
                "object_precision": self.precision, "object_recall": self.recall, "object_f1": self.f1,
                "count_predicted": n_pred, "count_reference": n_ref,
                "count_error": (n_pred - n_ref) / n_ref if n_ref else 0.0}


def match(pred, ref, threshold: float = 0.5) -> ObjectScores:
    """Greedy one-to-one matching by decreasing IoU of OGR polygons `pred` and `ref` (same CRS)."""
    pb = np.array([g.GetEnvelope() for g in pred]).reshape(-1, 4)  # minx, maxx, miny, maxy
    rb = np.array([g.GetEnvelope() for g in ref]).reshape(-1, 4)
    pairs = []
    for i, g in enumerate(pred):
        if len(rb) == 0:
            break
        near = np.flatnonzero((rb[:, 0] <= pb[i, 1]) & (rb[:, 1] >= pb[i, 0]) & (rb[:, 2] <= pb[i, 3]) &
                              (rb[:, 3] >= pb[i, 2]))
        for j in near:
            if not g.Overlaps(ref[j]) and not g.Within(ref[j]) and not g.Contains(ref[j]):
                continue  # disjoint or only touching: no area in common (and no GDAL warning about it)
            inter = g.Intersection(ref[j])
            if inter is None or inter.IsEmpty():
                continue
            a = inter.GetArea()
            union = g.GetArea() + ref[j].GetArea() - a
            iou = a / union if union > 0 else 0.0
            if iou >= threshold:
                pairs.append((iou, i, j))
    pairs.sort(reverse=True)
    used_p, used_r, out = set(), set(), ObjectScores()
    for iou, i, j in pairs:
        if i in used_p or j in used_r:
            continue
        used_p.add(i)
        used_r.add(j)
        out.matches.append((i, j, iou))
    out.tp = len(out.matches)
    out.fp = len(pred) - out.tp
    out.fn = len(ref) - out.tp
    return out
