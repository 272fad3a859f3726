"""Training tiles sampled straight from rasters + labels, split spatially into train/val."""

import numpy as np

from ..core.errors import BuildSegError
from ..core.windows import starts
from ..io.labels import IGNORE, PolygonLabels, as_target
from ..io.scene import Scene


def native(scene: Scene, size: int) -> int:
    """The raster pixels that `size` model pixels span."""
    return max(1, int(round(size * scene.scale)))


def split_scenes(scenes, val_fraction: float, tile: int, seed: int):
    """Spatially separated validation: whole scenes when there are enough, else blocks of half a tile held out
    of each scene's labelled part, spread over all of it in a lattice (every `1 / val_fraction`-th labelled
    block, the lattice's phase chosen to hold `val_fraction` of the labelled area): validation represents the
    whole labelled area, not one end of it (a strip at one end of a small place is one neighbourhood: on Dubai's
    1 m test its two tiles scored a fine-tune 0.05 against its start's 0.13 while the unseen half said 0.43
    against 0.27; six half-tile blocks said 0.58 against 0.19)."""
    if val_fraction <= 0 or any(s.role in ("val", "area") for s in scenes):  # no split, or one given
        return scenes
    rng = np.random.default_rng(seed)
    n_val = int(round(len(scenes) * val_fraction))
    if len(scenes) >= 5 and n_val >= 1:
        for i in rng.permutation(len(scenes))[:n_val]:
            scenes[i].role = "val"
        return scenes
    for s in scenes:
        s.extent = labelled_extent(s)
        s.holdout = HeldOut.choose(s, max(1, native(s, tile) // 2), val_fraction)
        if s.holdout is not None:
            s.role = "both"
    return scenes


class HeldOut:
    """Blocks of `size` raster pixels from `origin` (row, col): those set in `grid` are validation's only."""

    def __init__(self, origin: tuple, size: int, grid: np.ndarray):
        self.origin, self.size, self.grid = origin, size, grid

    @classmethod
    def choose(cls, scene: Scene, size: int, share: float) -> "HeldOut | None":
        """Every p-th labelled block (p = 1 / share) in a lattice over the scene's labelled extent (a block
        counts when a tenth of it is labelled imagery); None when fewer than two blocks hold labels (too small
        to split: all training)."""
        r0, r1, c0, c1 = scene.extent
        shares = block_shares(scene, size)
        for i, j in np.argwhere(shares > 0):  # labelled imagery only: not labels over no-data
            shares[i, j] *= scene.src.read([1], r0 + i * size, c0 + j * size, size, size)[1].mean()
        labelled = shares >= 0.1
        if labelled.sum() < 2:
            return None
        p = max(2, int(round(1 / share)))
        rows, cols = np.indices(shares.shape)
        lattice = (rows + max(1, p // 2) * cols) % p  # neighbours in a row or a column differ: spread evenly
        want = share * shares[labelled].sum()
        phase = min(range(p), key=lambda k: abs(shares[labelled & (lattice == k)].sum() - want))
        grid = labelled & (lattice == phase)
        if not grid.any():  # a small area the lattice missed: its most labelled block
            grid = np.zeros_like(labelled)
            grid[np.unravel_index(np.argmax(shares), shares.shape)] = True
        if grid.sum() == labelled.sum():
            return None
        return cls((r0, c0), size, grid)

    def mask(self, row: int, col: int, height: int, width: int) -> np.ndarray:
        """bool (height, width): the window's pixels inside held-out blocks."""
        r = (np.arange(row, row + height) - self.origin[0]) // self.size
        c = (np.arange(col, col + width) - self.origin[1]) // self.size
        gh, gw = self.grid.shape
        ok_r, ok_c = (r >= 0) & (r < gh), (c >= 0) & (c < gw)
        out = np.zeros((height, width), bool)
        out[np.ix_(ok_r, ok_c)] = self.grid[np.ix_(r[ok_r], c[ok_c])]
        return out

    def holds(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """bool per pixel position (row, col): inside a held-out block."""
        r = ((np.asarray(rows) - self.origin[0]) // self.size).astype(int)
        c = ((np.asarray(cols) - self.origin[1]) // self.size).astype(int)
        ok = (r >= 0) & (r < self.grid.shape[0]) & (c >= 0) & (c < self.grid.shape[1])
        out = np.zeros(r.shape, bool)
        out[ok] = self.grid[r[ok], c[ok]]
        return out

    def blocks(self):
        """(row, col) raster pixel origins of the held-out blocks."""
        return [(self.origin[0] + i * self.size, self.origin[1] + j * self.size) for i, j in np.argwhere(self.grid)]


def block_shares(scene: Scene, size: int) -> np.ndarray:
    """The labelled share of each block of `size` pixels over the scene's labelled extent: of the labelled-area
    polygons where there are some, else of the labels' non-ignored pixels."""
    r0, r1, c0, c1 = scene.extent
    gh, gw = -(-(r1 - r0) // size), -(-(c1 - c0) // size)
    area = labelled_area(scene.labels)
    if area:
        from rasterio.features import rasterize
        from rasterio.transform import Affine

        k = 4  # cells a block side
        cells = rasterize([(g, 1) for g in area], out_shape=(gh * k, gw * k), fill=0, dtype="uint8",
                          transform=scene.src.transform * Affine.translation(c0, r0) * Affine.scale(size / k))
        return cells.reshape(gh, k, gw, k).mean(axis=(1, 3))
    out = np.zeros((gh, gw))
    for i in range(gh):
        for j in range(gw):
            lab = scene.labels.read(scene.src.transform, r0 + i * size, c0 + j * size, size, size)
            out[i, j] = (lab != IGNORE).mean()
    return out


def _polygon_labels(labels):
    """The PolygonLabels inside any wrapper (incomplete labels, a validation area split); None for raster labels."""
    while labels is not None and not isinstance(labels, PolygonLabels):
        labels = getattr(labels, "labels", None)
    return labels


def labelled_area(labels):
    """The labelled-area polygons of polygon labels, through any wrapper; None without one (raster labels, or
    labels complete everywhere)."""
    poly = _polygon_labels(labels)
    return poly.area if poly is not None else None


def area_cells(scene: Scene, area, extent: tuple, most: int, all_touched: bool = False) -> tuple:
    """(f, cells): the polygons `area` rasterized over `extent` (row0, row1, col0, col1) of the raster in cells
    of f x f pixels, at most `most` cells a side."""
    from rasterio.features import rasterize
    from rasterio.transform import Affine

    r0, r1, c0, c1 = extent
    f = max(1, int(np.ceil(max(r1 - r0, c1 - c0) / most)))
    shape = (max(1, -(-(r1 - r0) // f)), max(1, -(-(c1 - c0) // f)))
    return f, rasterize([(g, 1) for g in area], out_shape=shape, fill=0, dtype="uint8", all_touched=all_touched,
                        transform=scene.src.transform * Affine.translation(c0, r0) * Affine.scale(f))


def labelled_extent(scene: Scene) -> tuple:
    """(row0, row1, col0, col1) pixels of the raster where labels count: the labelled area's bounds, else the
    whole raster."""
    h, w = scene.src.height, scene.src.width
    poly = _polygon_labels(scene.labels)
    bounds = poly.area_bounds if poly is not None else None
    if bounds is None or not len(bounds):
        return 0, h, 0, w
    inv = ~scene.src.transform
    xs = [bounds[:, 0].min(), bounds[:, 2].max()]
    ys = [bounds[:, 1].min(), bounds[:, 3].max()]
    cols, rows = zip(*[inv * (x, y) for x in xs for y in ys])
    clip = lambda v, hi: int(min(max(v, 0), hi))  # noqa: E731
    return clip(np.floor(min(rows)), h), clip(np.ceil(max(rows)), h), clip(np.floor(min(cols)), w), \
        clip(np.ceil(max(cols)), w)


MAX_VALIDATION_TILES = 64  # validation costs the same every epoch: beyond this, an evenly spread subset


def val_windows(scenes, tile: int, min_labelled: float = 0.1, most: int = MAX_VALIDATION_TILES):
    """Grid windows (scene index, row, col) over validation areas that hold labels; at most `most`, evenly spread
    over all of them (a fixed subset, the same every epoch)."""
    out = []
    for i, s in enumerate(scenes):
        if s.role == "train":
            continue
        n = native(s, tile)
        if s.role == "both":  # each held-out block, in windows of its own or one centred on it
            b = s.holdout.size
            need = min_labelled * min(1.0, (b / n) ** 2)
            origins = [(r0 + r, c0 + c) for r0, c0 in s.holdout.blocks() for r in _block_starts(b, n)
                       for c in _block_starts(b, n)]
        else:
            r0, r1, c0, c1 = s.extent if s.role == "area" and s.extent else (0, s.src.height, 0, s.src.width)
            need = 0.25 if s.role == "area" else min_labelled  # area: windows mostly inside the validation area
            origins = [(r0 + r, c0 + c) for r in starts(r1 - r0, n, 0) for c in starts(c1 - c0, n, 0)]
        for r, c in origins:
            if r >= s.src.height or c >= s.src.width or r + n <= 0 or c + n <= 0:
                continue  # the part of an edge block beyond the raster
            labelled = validation_read(s, r, c, n) != IGNORE
            if (labelled & s.src.read([1], r, c, n, n)[1]).mean() >= need:
                out.append((i, r, c))  # labels there, on imagery (not on no-data)
    if len(out) > most:
        out = [out[k] for k in np.linspace(0, len(out) - 1, most).round().astype(int)]
    return out


def _block_starts(block: int, n: int) -> list:
    """Window origins, relative to a block of `block` pixels, covering it with windows of `n`: a grid inside it,
    or one window centred on it when windows are larger."""
    return starts(block, n, 0) if n <= block else [(block - n) // 2]


def validation_read(scene: Scene, row: int, col: int, n: int) -> np.ndarray:
    """The labels validation scores a window on (held-out blocks only, where the scene has them)."""
    return holdout_masked(scene, validation_labels(scene).read(scene.src.transform, row, col, n, n), row, col,
                          validation=True)


def holdout_masked(scene: Scene, lab: np.ndarray, row: int, col: int, validation: bool) -> np.ndarray:
    """`lab` (a window's labels from (row, col)) with the pixels the other side of the split ignored: held-out
    blocks for training, everything else for validation."""
    if scene.role == "both" and scene.holdout is not None:
        held = scene.holdout.mask(row, col, *lab.shape)
        lab[~held if validation else held] = IGNORE
    return lab


def validation_labels(scene: Scene):
    """The labels validation scores on: the validation area's (role area), in their validation view."""
    labels = scene.val_labels if scene.role == "area" and scene.val_labels is not None else scene.labels
    return getattr(labels, "validation", labels)


def read_sample(scene: Scene, bands, row, col, size, validation: bool = False, out: int = None):
    """(image float32 (B, out, out), labels uint8 (out, out)) with nodata -> IGNORE: `size` model pixels from
    the raster pixel (row, col), resampled once to `out` pixels (default `size`) when the raster's pixels differ."""
    n, out = native(scene, size), out or size
    img, valid = scene.src.read(bands, row, col, n, n)
    labels = validation_labels(scene) if validation else scene.labels
    lab = labels.read(scene.src.transform, row, col, n, n)
    lab = holdout_masked(scene, as_target(lab) if validation else lab.copy(), row, col, validation)
    lab[~valid] = IGNORE
    if n != out:
        import cv2

        img, lab = resized(img, lab, out, cv2.INTER_AREA if n > out else cv2.INTER_LINEAR)
    return img, lab


def resized(img, lab, size: int, interpolation: int):
    """A sample brought to size x size: image bands by `interpolation`, labels by nearest neighbour."""
    import cv2

    img = np.stack([cv2.resize(b, (size, size), interpolation=interpolation) for b in img])
    return img, cv2.resize(lab, (size, size), interpolation=cv2.INTER_NEAREST)


class RandomWindows:
    """Random training windows; `positive_share` of them centred near a labelled building, the rest on labelled
    ground (anywhere in the training extent when no labelled area is given). A window off the labelled area
    teaches nothing: its pixels are all ignored."""

    def __init__(self, scenes, bands, tile: int, positive_share: float = 0.5, seed: int = 0):
        self.scenes = [s for s in scenes if s.role != "val"]
        if not self.scenes:
            raise BuildSegError("No training area is left after the validation split: lower the validation "
                                "fraction or add rasters.")
        self.bands, self.tile, self.share = bands, tile, positive_share
        self.rng = np.random.default_rng(seed)
        self.ground = [self._labelled_ground(s) for s in self.scenes]
        weights = np.array([(len(g[2]) * g[0] ** 2 if g else s.src.width * s.src.height) / s.scale ** 2
                            for s, g in zip(self.scenes, self.ground)], float)  # model px of labelled ground
        if not weights.sum():
            raise BuildSegError("The labelled area lies outside the training part of every raster: draw it over "
                                "the imagery, or lower the validation fraction.")
        self.weights = weights / weights.sum()
        self.centres = [self._pixel_centres(s, g) for s, g in zip(self.scenes, self.ground)]

    @staticmethod
    def _labelled_ground(s, most: int = 512):
        """(f, cells, their (row, col) indices): the labelled area over the training extent in cells of f x f
        pixels (none set when it lies elsewhere); None without a labelled area."""
        area = labelled_area(s.labels)
        if not area:
            return None
        f, cells = area_cells(s, area, (0, s.src.height, 0, s.src.width), most, all_touched=True)
        cells = cells.astype(bool)
        if s.holdout is not None:  # cells whose centre is held out for validation are not drawn
            rows, cols = (np.indices(cells.shape) + 0.5) * f
            cells &= ~s.holdout.holds(rows, cols)
        return f, cells, np.argwhere(cells)

    @staticmethod
    def _pixel_centres(s, ground):
        c = s.labels.positive_centres()
        if c is None or len(c) == 0:
            return None
        inv = ~s.src.transform
        cols, rows = inv * (c[:, 0], c[:, 1])
        keep = (cols >= 0) & (cols < s.src.width) & (rows >= 0) & (rows < s.src.height)
        if ground is not None:  # buildings outside the labelled area (or held out for validation) are not taught
            f, cells, _ = ground
            keep[keep] = cells[(rows[keep] // f).astype(int), (cols[keep] // f).astype(int)]
        if s.holdout is not None:
            keep &= ~s.holdout.holds(rows, cols)
        return np.stack([rows[keep], cols[keep]], 1) if keep.any() else None

    def sample(self, size: int = None, out: int = None):
        """A window of `size` model pixels (default: the tile) delivered as `out` x `out` pixels."""
        cover = size or self.tile
        i = self.rng.choice(len(self.scenes), p=self.weights)
        s = self.scenes[i]
        size = native(s, cover)
        y0, y1, x0, x1 = 0, s.src.height, 0, s.src.width
        centres = self.centres[i]
        ground = self.ground[i]
        if centres is not None and self.rng.random() < self.share:
            r, c = centres[self.rng.integers(len(centres))]
            row = int(r - size / 2 + self.rng.integers(-size // 4, size // 4 + 1))
            col = int(c - size / 2 + self.rng.integers(-size // 4, size // 4 + 1))
        elif ground is not None:  # centred on a random point of the labelled area
            f, _, labelled = ground
            r, c = labelled[self.rng.integers(len(labelled))]
            row = int(y0 + (r + self.rng.random()) * f - size / 2)
            col = int(x0 + (c + self.rng.random()) * f - size / 2)
        else:
            row = int(self.rng.integers(y0, max(y0 + 1, y1 - size + 1)))
            col = int(self.rng.integers(x0, max(x0 + 1, x1 - size + 1)))
        row = min(max(row, y0), max(y0, y1 - size))
        col = min(max(col, x0), max(x0, x1 - size))
        return read_sample(s, self.bands, row, col, cover, out=out)


def band_statistics(scenes, bands, tile: int, samples: int = 64, seed: int = 0):
    """Per-band mean and std over valid pixels of random windows of the training rasters."""
    rng = np.random.default_rng(seed)
    sums = np.zeros(len(bands))
    sq = np.zeros(len(bands))
    n = 0
    for _ in range(samples):
        s = scenes[rng.integers(len(scenes))]
        row = int(rng.integers(0, max(1, s.src.height - tile + 1)))
        col = int(rng.integers(0, max(1, s.src.width - tile + 1)))
        img, valid = s.src.read(bands, row, col, tile, tile)
        v = img[:, valid].astype(np.float64)
        sums += v.sum(1)
        sq += (v ** 2).sum(1)
        n += v.shape[1]
    if n == 0:
        raise BuildSegError("The training rasters hold no valid pixels (all nodata).")
    mean = sums / n
    std = np.sqrt(np.maximum(sq / n - mean ** 2, 1e-12))
    return mean.tolist(), np.maximum(std, 1e-6).tolist()


def footprints_wgs84(scenes) -> list:
    """[west, south, east, north] in WGS84 of each raster that has a CRS: where the model learnt (its STAC item's
    geometry)."""
    from rasterio.crs import CRS
    from rasterio.warp import transform_bounds

    out = []
    for s in scenes:
        wkt = s.src.crs_wkt
        if not wkt:
            continue
        try:
            box = transform_bounds(CRS.from_wkt(wkt), "EPSG:4326", *s.src.bounds())
            out.append([round(v, 6) for v in box])
        except Exception:  # nosec B110 - a CRS PROJ cannot bring to WGS84: no footprint, not a failed run
            pass
    return out
