"""The sliding-window grid and the blending window."""

import numpy as np


def starts(length: int, tile: int, overlap: int) -> list:
    """Tile origins covering [0, length): regular stride, the last one flush with the end."""
    if length <= tile:
        return [0]
    stride = max(1, tile - overlap)
    out = list(range(0, length - tile, stride))
    out.append(length - tile)
    return out


def blend_window(tile: int, overlap: int) -> np.ndarray:
    """2-D weights: 1 in the middle, a smooth sin^2 ramp over the overlap margin, never 0."""
    w = np.ones(tile, dtype=np.float32)
    margin = min(overlap, tile // 2)
    if margin > 0:
        ramp = np.sin(0.5 * np.pi * (np.arange(margin, dtype=np.float32) + 0.5) / margin) ** 2
        w[:margin] = ramp
        w[-margin:] = ramp[::-1]
    w = np.maximum(w, 1e-3)
    return np.outer(w, w)
