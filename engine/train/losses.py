"""Segmentation losses; every one ignores IGNORE pixels."""

import torch
from torch.nn import functional as F

from ..core.errors import BuildSegError
from ..core.options import LOSSES
from ..io.labels import GAP, IGNORE

GAP_WEIGHT = 5.0  # loss weight of the background pixels between touching buildings (labels.GAP)


def dice_loss(logits, target, ignore=IGNORE, eps=1.0):
    probs = torch.softmax(logits, 1)
    valid = (target != ignore).unsqueeze(1)
    onehot = F.one_hot(target.clamp_max(logits.shape[1] - 1).long(), logits.shape[1]).permute(0, 3, 1, 2)
    probs, onehot = probs * valid, onehot * valid
    inter = (probs * onehot).sum((0, 2, 3))
    denom = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return 1 - ((2 * inter + eps) / (denom + eps)).mean()


def focal_loss(logits, target, weight=None, gamma=2.0, ignore=IGNORE):
    ce = F.cross_entropy(logits, target.long(), weight=weight, ignore_index=ignore, reduction="none")
    pt = torch.exp(-ce)
    valid = target != ignore
    return ((1 - pt) ** gamma * ce)[valid].mean() if valid.any() else ce.sum() * 0


def gap_weighted_ce(logits, target, gap, weight=None):
    """Cross-entropy with the gaps between touching buildings weighted GAP_WEIGHT times."""
    valid = target != IGNORE
    if not valid.any():
        return logits.sum() * 0
    ce = F.cross_entropy(logits, target.long(), weight=weight, ignore_index=IGNORE, reduction="none")
    pixel_w = 1.0 + (GAP_WEIGHT - 1.0) * gap.to(ce.dtype)
    if weight is not None:
        pixel_w = pixel_w * weight[target.clamp_max(logits.shape[1] - 1).long()]
    pixel_w = pixel_w * valid
    return (ce * pixel_w).sum() / pixel_w.sum().clamp_min(1e-6)


def make_loss(name: str, class_weights=None):
    if name not in LOSSES:
        raise BuildSegError(f"Unknown loss '{name}': use {', '.join(LOSSES)}.")

    def loss(logits, target):
        w = class_weights.to(logits.device) if class_weights is not None else None
        gap = target == GAP
        target = torch.where(gap, torch.zeros_like(target), target)
        if name == "focal":
            return focal_loss(logits, target, w)
        ce = gap_weighted_ce(logits, target, gap, w)
        if name == "ce":
            return ce
        d = dice_loss(logits, target)
        return d if name == "dice" else ce + d

    return loss


def deep_supervision(loss_fn, output, target, aux_weight: float = 0.4):
    """Loss on the main output plus weighted side outputs when a model returns (main, [aux, ...])."""
    if isinstance(output, (tuple, list)):
        main, aux = output
        total = loss_fn(main, target)
        for a in aux:
            a = F.interpolate(a, size=target.shape[-2:], mode="bilinear", align_corners=False)
            total = total + aux_weight * loss_fn(a, target)
        return total, main
    return loss_fn(output, target), output
