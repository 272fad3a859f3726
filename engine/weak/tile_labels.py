"""Tile-level labels from weak labels: a tile with a point, touching a box, or inside an area tagged 'yes' is
positive; one inside an area tagged 'no' is negative; with points or boxes (taken as complete over the
labelled extent) a tile with none is negative too."""

from dataclasses import dataclass, field

import numpy as np

from ..core import windows


@dataclass
class WeakLabels:
    """Weak labels in the raster's CRS, as GeoJSON geometries."""

    points: list = field(default_factory=list)  # [(x, y)]
    boxes: list = field(default_factory=list)  # [GeoJSON polygon]
    tags: list = field(default_factory=list)  # [(GeoJSON polygon, True for buildings / False for none)]

    def empty(self) -> bool:
        return not (self.points or self.boxes or self.tags)


def pixel_points(labels: WeakLabels, transform) -> np.ndarray:
    """(N, 2) float rows, cols of the points."""
    if not labels.points:
        return np.zeros((0, 2))
    inv = ~transform
    xs, ys = zip(*labels.points)
    cols, rows = inv * (np.asarray(xs, float), np.asarray(ys, float))
    return np.stack([rows, cols], 1)


def rasterize(shapes, shape, transform, all_touched=False) -> np.ndarray:
    from rasterio.features import rasterize as rio_rasterize

    if not shapes:
        return np.zeros(shape, np.uint8)
    return rio_rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype="uint8",
                         all_touched=all_touched)


def tile_labels(width: int, height: int, transform, tile: int, labels: WeakLabels) -> list:
    """[(row, col, label)] for the tiles of the raster's grid (overlap 0); label 1, 0, or None (unknown)."""
    from rasterio.transform import Affine

    pts = pixel_points(labels, transform)
    tags = [(g, 1 if yes else 2) for g, yes in labels.tags]
    complete = bool(labels.points or labels.boxes)
    out = []
    for row in windows.tile_rows(height, width, tile):
        for win in row.windows:
            y, x = win.y, win.x
            shape, at = (win.height, win.width), transform * Affine.translation(x, y)
            label = 0 if complete else None
            if len(pts):
                inside = (pts[:, 0] >= y) & (pts[:, 0] < y + tile) & (pts[:, 1] >= x) & (pts[:, 1] < x + tile)
                label = 1 if inside.any() else label
            if labels.boxes and rasterize(labels.boxes, shape, at, all_touched=True).any():
                label = 1
            if tags:
                window = rasterize(tags, shape, at)
                if (window == 1).mean() > 0.5:
                    label = 1
                elif (window == 2).mean() > 0.5:
                    label = 0
            out.append((y, x, label))
    return out
