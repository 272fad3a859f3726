"""Training tiles sampled straight from rasters + labels, split spatially into train/val."""

from dataclasses import dataclass

import numpy as np

from ..core.errors import BuildSegError
from ..io.labels import IGNORE, PolygonLabels, as_target
from ..io.raster import RasterSource


@dataclass
class Scene:
    """One raster with its labels; `val_cols` is the first tile column of its validation strip."""

    raster: str
    labels: object  # PolygonLabels or RasterLabels
    role: str = "train"  # train | val | both (split by a column strip) | area (split by a validation area)
    split_x: int = None  # role both: pixels x >= split_x are validation (a strip at the east of the labels)
    split_y: int = None  # role both: pixels y >= split_y are validation (a strip at the south)
    extent: tuple = None  # (row0, row1, col0, col1): the labelled part of the raster, in pixels
    val_labels: object = None  # labels for validation windows (role == area)
    scale: float = 1.0  # raster pixels per model pixel: windows are read at the model's ground resolution

    def open(self):
        self.src = RasterSource(self.raster)
        return self


def native(scene: Scene, size: int) -> int:
    """The raster pixels that `size` model pixels span."""
    return max(1, int(round(size * scene.scale)))


def split_scenes(scenes, val_fraction: float, tile: int, seed: int):
    """Spatially separated validation: whole scenes when there are enough, else a strip of each, cut from the
    end of its labelled part along that part's longer side, as wide as holds `val_fraction` of its labelled
    area (labelled patches scattered over the raster: a strip of the extent could hold all or none of them)."""
    if val_fraction <= 0 or any(s.role in ("val", "area") for s in scenes):  # no split, or one given
        return scenes
    rng = np.random.default_rng(seed)
    n_val = int(round(len(scenes) * val_fraction))
    if len(scenes) >= 5 and n_val >= 1:
        for i in rng.permutation(len(scenes))[:n_val]:
            scenes[i].role = "val"
        return scenes
    for s in scenes:
        r0, r1, c0, c1 = s.extent = labelled_extent(s)
        vertical = (c1 - c0) >= (r1 - r0)  # a strip across the longer side
        start, end = (c0, c1) if vertical else (r0, r1)
        n = native(s, tile)
        strip = labelled_strip(s, vertical, val_fraction) or max(n, int(round((end - start) * val_fraction / n)) * n)
        if end - start - strip < n:
            continue  # too small to split: all training
        s.role = "both"
        if vertical:
            s.split_x = end - strip
        else:
            s.split_y = end - strip
    return scenes


def labelled_strip(scene: Scene, vertical: bool, share: float, most: int = 1024) -> int:
    """The width in pixels, from the end of the labelled extent (columns when `vertical`, else rows), of the
    strip holding `share` of the labelled area (rasterized at most `most` cells a side); None without one."""
    r0, r1, c0, c1 = scene.extent
    length = (c1 - c0) if vertical else (r1 - r0)
    area = labelled_area(scene.labels)
    if not area:
        return None
    f, cells = area_cells(scene, area, (r0, r1, c0, c1), most)
    profile = cells.sum(axis=0 if vertical else 1)[::-1].cumsum()  # labelled cells from the end inwards
    if profile[-1] == 0:
        return None
    return min(length, (int(np.searchsorted(profile, share * profile[-1])) + 1) * f)


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


def train_extent(scene: Scene):
    """(row0, row1, col0, col1) pixels training windows may use."""
    h, w = scene.src.height, scene.src.width
    if scene.role != "both":
        return 0, h, 0, w
    return 0, scene.split_y or h, 0, scene.split_x or w


MAX_VALIDATION_TILES = 64  # validation costs the same every epoch: beyond this, an evenly spread subset


def val_windows(scenes, tile: int, min_labelled: float = 0.1, most: int = MAX_VALIDATION_TILES):
    """Grid windows (scene index, row, col) over validation areas that hold labels; at most `most`, evenly spread
    over all of them (a fixed subset, the same every epoch)."""
    from ..extract.windows import starts

    out = []
    for i, s in enumerate(scenes):
        if s.role == "train":
            continue
        r0, r1, c0, c1 = s.extent or (0, s.src.height, 0, s.src.width)
        if s.role == "both":  # the strip beyond the split, within the labelled part
            r0, c0 = s.split_y or r0, s.split_x or c0
        elif s.role != "area":
            r0, r1, c0, c1 = 0, s.src.height, 0, s.src.width
        labels = validation_labels(s)
        need = 0.25 if s.role == "area" else min_labelled  # area: windows mostly inside the validation area
        n = native(s, tile)
        for r in starts(r1 - r0, n, 0):
            for c in starts(c1 - c0, n, 0):
                lab = labels.read(s.src.transform, r0 + r, c0 + c, n, n)
                if (lab != IGNORE).mean() >= need:
                    out.append((i, r0 + r, c0 + c))
    if len(out) > most:
        out = [out[k] for k in np.linspace(0, len(out) - 1, most).round().astype(int)]
    return out


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
    lab = as_target(lab) if validation else lab.copy()
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
        f, cells = area_cells(s, area, train_extent(s), most, all_touched=True)
        return f, cells.astype(bool), np.argwhere(cells)

    @staticmethod
    def _pixel_centres(s, ground):
        c = s.labels.positive_centres()
        if c is None or len(c) == 0:
            return None
        inv = ~s.src.transform
        cols, rows = inv * (c[:, 0], c[:, 1])
        y0, y1, x0, x1 = train_extent(s)
        keep = (cols >= x0) & (cols < x1) & (rows >= y0) & (rows < y1)
        if ground is not None:  # buildings outside the labelled area are not taught
            f, cells, _ = ground
            keep[keep] = cells[((rows[keep] - y0) // f).astype(int), ((cols[keep] - x0) // f).astype(int)]
        return np.stack([rows[keep], cols[keep]], 1) if keep.any() else None

    def sample(self, size: int = None, out: int = None):
        """A window of `size` model pixels (default: the tile) delivered as `out` x `out` pixels."""
        cover = size or self.tile
        i = self.rng.choice(len(self.scenes), p=self.weights)
        s = self.scenes[i]
        size = native(s, cover)
        y0, y1, x0, x1 = train_extent(s)
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
