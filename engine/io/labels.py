"""Training labels per window: polygons rasterized on the fly, or a label raster.

IGNORE marks pixels that do not count in the loss: outside the labelled area,
nodata, uncertain pseudo-labels, unlabelled (black) pixels of colour masks.
"""

import numpy as np

from ..core.errors import BuildSegError
from ..core.options import IGNORE

GAP = 254  # background between touching buildings: counts as background, with a higher loss weight


def window_transform(transform, row: int, col: int):
    from rasterio.transform import Affine

    return transform * Affine.translation(col, row)


def geojson_bounds(geom: dict):
    """(minx, miny, maxx, maxy) of a GeoJSON geometry."""
    coords = np.asarray(list(_iter_coords(geom["coordinates"])), dtype=float)
    return coords[:, 0].min(), coords[:, 1].min(), coords[:, 0].max(), coords[:, 1].max()


def _iter_coords(c):
    if isinstance(c[0], (int, float)):
        yield c[:2]
    else:
        for part in c:
            yield from _iter_coords(part)


class PolygonLabels:
    """Polygons (GeoJSON dicts in the raster's CRS) with class ids; optional labelled area."""

    def __init__(self, shapes, labelled_area=None, gap_px: int = 0):
        self.gap_px = int(gap_px)  # > 0: mark GAP where two buildings come within this many pixels
        self.shapes = [(g, int(v)) for g, v in shapes]
        self.bounds = np.array([geojson_bounds(g) for g, _ in self.shapes]) if self.shapes else np.zeros((0, 4))
        self.area = list(labelled_area) if labelled_area else None
        self.area_bounds = np.array([geojson_bounds(g) for g in self.area]) if self.area else None

    def _select(self, bounds, minx, miny, maxx, maxy):
        if len(bounds) == 0:
            return np.zeros(0, bool)
        return (bounds[:, 0] <= maxx) & (bounds[:, 2] >= minx) & (bounds[:, 1] <= maxy) & (bounds[:, 3] >= miny)

    def read(self, transform, row, col, height, width) -> np.ndarray:
        from rasterio.features import rasterize
        from rasterio.transform import array_bounds

        tr = window_transform(transform, row, col)
        west, south, east, north = array_bounds(height, width, tr)
        minx, miny, maxx, maxy = min(west, east), min(south, north), max(west, east), max(south, north)
        sel = self._select(self.bounds, minx, miny, maxx, maxy)
        shapes = [self.shapes[i] for i in np.flatnonzero(sel)]
        out = rasterize(shapes, out_shape=(height, width), transform=tr, fill=0, dtype="uint8") if shapes \
            else np.zeros((height, width), np.uint8)
        if self.gap_px and len(shapes) > 1:
            ids = rasterize([(g, i + 1) for i, (g, _) in enumerate(shapes)], out_shape=(height, width),
                            transform=tr, fill=0, dtype="int32")
            out[contact_zone(ids, self.gap_px)] = GAP
        if self.area is not None:
            asel = self._select(self.area_bounds, minx, miny, maxx, maxy)
            area = [(self.area[i], 1) for i in np.flatnonzero(asel)]
            inside = rasterize(area, out_shape=(height, width), transform=tr, fill=0, dtype="uint8") if area \
                else np.zeros((height, width), np.uint8)
            out[inside == 0] = IGNORE
        return out

    def positive_centres(self):
        """Centres of the label polygons (for sampling windows with buildings)."""
        b = self.bounds
        return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1) if len(b) else b


def contact_zone(ids: np.ndarray, gap_px: int) -> np.ndarray:
    """Pixels within `gap_px` of two different instances (ids > 0): the gap that keeps them apart."""
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * gap_px + 1, 2 * gap_px + 1))
    ids = ids.astype(np.float32)  # exact for ids below 2**24
    high = cv2.dilate(ids, kernel)
    low = cv2.erode(np.where(ids > 0, ids, np.float32(2**24)), kernel)
    return (high > 0) & (low < 2**24) & (high != low)


def as_target(lab: np.ndarray) -> np.ndarray:
    """Labels as plain class ids: GAP becomes background."""
    return np.where(lab == GAP, 0, lab).astype(lab.dtype)


class AreaSplitLabels:
    """Labels kept only inside (validation) or only outside (training) a set of polygons; IGNORE elsewhere."""

    def __init__(self, labels, area, keep_inside: bool):
        self.labels, self.keep_inside, self.geoms = labels, keep_inside, list(area)
        self.area = PolygonLabels([(g, 1) for g in area])

    @property
    def validation(self):
        """The same split of the labels' validation view (see IncompleteLabels.validation)."""
        inner = getattr(self.labels, "validation", self.labels)
        return self if inner is self.labels else AreaSplitLabels(inner, self.geoms, self.keep_inside)

    def read(self, transform, row, col, height, width) -> np.ndarray:
        lab = self.labels.read(transform, row, col, height, width).copy()
        inside = self.area.read(transform, row, col, height, width) == 1
        lab[inside != self.keep_inside] = IGNORE
        return lab

    def positive_centres(self):
        return self.labels.positive_centres()


class IncompleteLabels:
    """Labels known to miss buildings (free footprints: sheds, new houses): an unlabelled pixel where the model
    sees a building (probability >= `threshold`, a raster on the image grid) is ignored instead of being
    taught as background."""

    def __init__(self, labels, probability: str, threshold: float = 0.5):
        import rasterio

        self.labels, self.threshold = labels, threshold
        self.ds = rasterio.open(probability)
        # validation scores on the labels as given: ignoring where the starting model sees buildings would
        # spare the starting model every false positive by construction, so no fine-tune could beat it
        self.validation = labels

    def read(self, transform, row, col, height, width) -> np.ndarray:
        from rasterio.windows import Window

        lab = self.labels.read(transform, row, col, height, width).copy()
        r0, c0 = max(row, 0), max(col, 0)
        r1, c1 = min(row + height, self.ds.height), min(col + width, self.ds.width)
        if r1 > r0 and c1 > c0:
            p = self.ds.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
            part = lab[r0 - row:r1 - row, c0 - col:c1 - col]
            part[(part == 0) & (p >= self.threshold) & (p <= 1)] = IGNORE
        return lab

    def positive_centres(self):
        return self.labels.positive_centres()


class RasterLabels:
    """A label raster on the image grid: class ids, or RGB colours mapped by a palette."""

    def __init__(self, path: str, palette: dict = None, ignore_values=(), class_map: dict = None):
        import rasterio

        self.ds = rasterio.open(path)
        self.palette = palette  # {(r, g, b): class_id}
        self.ignore_values = set(ignore_values)
        self.class_map = class_map  # {raw id: training id}
        if palette is None and self.ds.count != 1:
            raise BuildSegError(f"The label raster {path} has {self.ds.count} bands: give a colour palette "
                                "(colour-coded masks) or use a single-band raster of class ids.")
        if self.ds.nodata is not None:
            self.ignore_values.add(int(self.ds.nodata))
        self.binary_255 = palette is None and class_map is None and is_binary_255(self.ds)
        if self.binary_255:  # WHU / Inria / Massachusetts style: building = 255
            self.class_map = {0: 0, 255: 1}
            self.ignore_values.discard(255)

    def read(self, transform, row, col, height, width) -> np.ndarray:
        from rasterio.windows import Window

        r0, c0 = max(row, 0), max(col, 0)
        r1, c1 = min(row + height, self.ds.height), min(col + width, self.ds.width)
        out = np.full((height, width), IGNORE, np.uint8)
        if r1 <= r0 or c1 <= c0:
            return out
        data = self.ds.read(window=Window(c0, r0, c1 - c0, r1 - r0))
        out[r0 - row:r1 - row, c0 - col:c1 - col] = self.convert(data)
        return out

    def convert(self, data: np.ndarray) -> np.ndarray:
        if self.palette is not None:
            return colours_to_ids(data, self.palette)
        ids = data[0].astype(np.int64)
        out = np.full(ids.shape, IGNORE, np.uint8)
        if self.class_map:
            for raw, new in self.class_map.items():
                out[ids == raw] = new
        else:
            ok = (ids >= 0) & (ids < IGNORE)
            out[ok] = ids[ok]
        for v in self.ignore_values:
            out[ids == v] = IGNORE
        return out

    def positive_centres(self):
        return None


def is_binary_255(ds) -> bool:
    """Whether a one-band raster is a 0/255 building mask (read decimated: cheap for large rasters)."""
    if ds.count != 1 or ds.dtypes[0] != "uint8":
        return False
    h, w = min(ds.height, 1024), min(ds.width, 1024)
    values = set(np.unique(ds.read(1, out_shape=(h, w))).tolist())
    return 255 in values and values <= {0, 255}


def colours_to_ids(rgb: np.ndarray, palette: dict) -> np.ndarray:
    """(3, H, W) colour mask -> class ids; colours not in the palette become IGNORE."""
    key = (rgb[0].astype(np.int64) << 16) | (rgb[1].astype(np.int64) << 8) | rgb[2].astype(np.int64)
    out = np.full(key.shape, IGNORE, np.uint8)
    for (r, g, b), cid in palette.items():
        out[key == ((r << 16) | (g << 8) | b)] = cid
    return out


def parse_palette(text: str) -> dict:
    """'#3c1098=1, 132,41,246=2' or a JSON {id: {"rgb": [r,g,b]}} -> {(r,g,b): id}."""
    import json

    text = text.strip()
    if not text:
        return None
    if text.startswith("{"):
        data = json.loads(text)
        return {tuple(int(c) for c in v["rgb"]): int(k) for k, v in data.items()}
    out = {}
    for item in text.split(";") if ";" in text else text.split(" "):
        if not item.strip():
            continue
        colour, cid = item.rsplit("=", 1)
        colour = colour.strip()
        if colour.startswith("#"):
            rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        else:
            rgb = tuple(int(c) for c in colour.split(","))
        out[rgb] = int(cid)
    return out
