"""The sliding-window grid, the one tile loop every stage walks (blending, blocks, CRF, pseudo-masks, tile
labels), and the blending window."""

from dataclasses import dataclass

import numpy as np


def starts(length: int, tile: int, overlap: int) -> list:
    """Tile origins covering [0, length): regular stride, the last one flush with the end."""
    if length <= tile:
        return [0]
    stride = max(1, tile - overlap)
    out = list(range(0, length - tile, stride))
    out.append(length - tile)
    return out


def cores(length: int, tile: int, overlap: int) -> list:
    """[(tile start, core start, core end)]: each pixel belongs to the core of exactly one tile."""
    origins = starts(length, tile, overlap)
    ends = [min(s + tile, length) for s in origins]
    bounds = [0] + [(origins[i + 1] + ends[i]) // 2 for i in range(len(origins) - 1)] + [length]
    return [(s, bounds[i], bounds[i + 1]) for i, s in enumerate(origins)]


@dataclass(frozen=True)
class Window:
    y: int  # the tile's origin (px)
    x: int
    height: int  # its size inside the raster (a tile at the edge is cut)
    width: int
    core: tuple  # (col0, col1): the columns this window alone owns


@dataclass(frozen=True)
class TileRow:
    y: int
    next_y: int  # where the next row of tiles starts (the raster's height after the last row)
    core: tuple  # (row0, row1): the rows this row of tiles alone owns
    windows: tuple


def tile_rows(height: int, width: int, tile: int, overlap: int = 0, region: tuple = None) -> list:
    """The rows of tile windows covering a raster, in reading order. `region` (row0, col0, row1, col1) keeps only
    the tiles that touch it, on the same global grid (so a block of a scene sees exactly the scene's tiles)."""
    r0, c0, r1, c1 = region or (0, 0, height, width)
    col_cores = [(x, a, b) for x, a, b in cores(width, tile, overlap) if x < c1 and x + tile > c0]
    rows = cores(height, tile, overlap)
    out = []
    for i, (y, a, b) in enumerate(rows):
        if y >= r1 or y + tile <= r0:
            continue
        wins = tuple(Window(y, x, min(tile, height - y), min(tile, width - x), (ca, cb)) for x, ca, cb in col_cores)
        out.append(TileRow(y, rows[i + 1][0] if i + 1 < len(rows) else height, (a, b), wins))
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
