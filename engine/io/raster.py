"""Windowed raster reading and tiled GeoTIFF writing (rasterio/GDAL, no QGIS)."""

from dataclasses import dataclass

import numpy as np

from ..core.errors import BuildSegError

GDAL_CACHE_BYTES = 64 * 2**20  # flat memory however large the scene


def _rasterio():
    import rasterio

    return rasterio


class _Source:
    """What RasterSource and BlockSource share (the engine's reader interface)."""

    name = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def crs_wkt(self) -> str:
        return self.crs.to_wkt() if self.crs else ""

    def bounds(self) -> tuple:
        """(left, bottom, right, top) in CRS units: the box around the four corners (a rotated grid too)."""
        xs, ys = zip(*[self.transform * (c, r) for c in (0, self.width) for r in (0, self.height)])
        return min(xs), min(ys), max(xs), max(ys)

    def pixel_size(self) -> tuple:
        """(x, y) size of a pixel in CRS units: the lengths of the transform's column and row vectors (a rotated
        raster's pixels are as large as a north-up one's)."""
        t = self.transform
        return float(np.hypot(t.a, t.d)), float(np.hypot(t.b, t.e))

    def unit_metres(self) -> float:
        """Metres on the ground in one unit of the CRS (sources that know their ground resolution)."""
        return self.ground_resolution() / self.pixel_size()[0]

    def check_bands(self, bands) -> None:
        bad = [b for b in bands if not 1 <= b <= self.count]
        if bad:
            raise BuildSegError(f"The raster {self.name} has {self.count} band(s); band(s) {bad} do not exist. "
                                "Choose bands in the band mapping that exist in the raster.")


class RasterSource(_Source):
    """A GDAL-readable raster: metadata plus `read(window)` with reflect padding at the edges."""

    def __init__(self, path: str):
        rasterio = _rasterio()
        from osgeo import gdal

        gdal.SetCacheMax(GDAL_CACHE_BYTES)
        self.path = self.name = path
        try:
            self.ds = rasterio.open(path)
        except Exception as exc:
            raise BuildSegError(f"Cannot open raster {path}: {exc}") from None
        self.width, self.height, self.count = self.ds.width, self.ds.height, self.ds.count
        self.dtype = self.ds.dtypes[0]
        self.nodata = self.ds.nodata
        self.crs = self.ds.crs
        self.transform = self.ds.transform
        self.colours = [c.name for c in self.ds.colorinterp]  # GDAL colour interpretation: red, green, gray…
        self._unit_metres = None
        self._mask_flags = None  # per band (rasterio MaskFlags), read at the first window

    def close(self):
        self.ds.close()

    def read(self, bands, row: int, col: int, height: int, width: int):
        """(float32 array (len(bands), height, width), bool valid mask (height, width)).

        The window may reach outside the raster: that part is filled by reflection
        and marked invalid, so edge tiles look natural to the model but never count.
        """
        from rasterio.windows import Window

        r0, c0 = max(row, 0), max(col, 0)
        r1, c1 = min(row + height, self.height), min(col + width, self.width)
        if r1 <= r0 or c1 <= c0:  # wholly off the raster: nothing valid
            return _outside(bands, height, width)
        win = Window(c0, r0, c1 - c0, r1 - r0)
        data = self.ds.read(list(bands), window=win, out_dtype="float32")
        return _finish_window(data, self._valid(bands, win), row, col, height, width, r0, c0, r1, c1)

    def _valid(self, bands, win) -> np.ndarray:
        """Where the window holds data: a pixel is nodata when every band is (a 0 in one band of RGB is real
        data). Bands without a mask need no read; bands sharing the dataset's mask, one."""
        from rasterio.enums import MaskFlags

        if self._mask_flags is None:
            self._mask_flags = self.ds.mask_flag_enums
        flags = [self._mask_flags[b - 1] for b in bands]
        shape = (int(win.height), int(win.width))
        if any(f == [MaskFlags.all_valid] for f in flags):  # one band always valid: every pixel is
            return np.ones(shape, bool)
        if all(MaskFlags.per_dataset in f for f in flags):  # one mask for all bands
            return self.ds.read_masks(bands[0], window=win) > 0
        valid = np.zeros(shape, bool)
        for b in bands:
            valid |= self.ds.read_masks(b, window=win) > 0
        return valid

    def overview(self, bands, shape):
        """The whole raster resampled to `shape` (rows, cols), float32 (quicklooks)."""
        return self.ds.read(list(bands), out_shape=(len(bands),) + tuple(shape)).astype(np.float32)

    def unit_metres(self) -> float:
        """Metres on the ground in one unit of the CRS, at the raster's centre (local_metres_per_unit)."""
        if self._unit_metres is None:
            x, y = self.transform * (self.width / 2, self.height / 2)
            self._unit_metres = local_metres_per_unit(self.crs, x, y)
        return self._unit_metres

    def ground_resolution(self) -> float:
        """Metres on the ground per pixel along x, at the raster's centre."""
        return self.pixel_size()[0] * self.unit_metres()

    def identity(self) -> str:
        import os

        return f"{os.path.abspath(self.path)}:{os.path.getmtime(self.path)}"


DEGREE_M = 111319.49  # metres in a degree of longitude at the equator (WGS 84)


def metres_per_unit(crs) -> float:
    """Metres in one linear unit of a (rasterio) CRS; 1 when unknown. A geographic CRS's unit is a degree: the
    equator's degree here, measured where a raster lies by local_metres_per_unit."""
    from rasterio.errors import CRSError

    if crs and crs.is_geographic:
        return DEGREE_M
    try:
        factor = crs.linear_units_factor[1] if crs and crs.linear_units_factor else 1.0
    except CRSError:  # no linear unit defined
        return 1.0
    return factor or 1.0


DISTORTION = 0.01  # a projection stretching the ground by more than this is measured, not taken at its word


def utm_crs(lon: float, lat: float):
    """The (rasterio) CRS of the WGS 84 UTM zone holding a point."""
    from rasterio.crs import CRS

    return CRS.from_epsg((32600 if lat >= 0 else 32700) + int((lon + 180) // 6) % 60 + 1)


def local_metres_per_unit(crs, x: float, y: float) -> float:
    """Metres on the ground in one unit of `crs` around (x, y): a projected CRS's nominal unit, unless the
    projection stretches the ground there by more than 1 % (Web Mercator away from the equator, where one unit
    is cos(latitude) metres: 0.64 m at 50°), then measured in the local UTM zone; a geographic CRS's degree,
    measured there (the geometric mean of a degree east and a degree north: a square degree's side)."""
    nominal = metres_per_unit(crs)
    if not crs:
        return nominal
    try:
        from rasterio.warp import transform

        lon, lat = transform(crs, "EPSG:4326", [x], [y])
        utm = utm_crs(lon[0], lat[0])
        half = 50.0 / nominal  # 100 m nominally, across the point, along x and along y
        xs, ys = transform(crs, utm, [x - half, x + half, x, x], [y, y, y - half, y + half])
        east, north = np.hypot(xs[1] - xs[0], ys[1] - ys[0]), np.hypot(xs[3] - xs[2], ys[3] - ys[2])
        along = np.sqrt(east * north) if crs.is_geographic else (east + north) / 2
        measured = float(along / (2 * half))
        if crs.is_geographic and np.isfinite(measured):
            return measured
    except Exception:  # a CRS without a way to WGS 84 (a local engineering grid): its word it is
        return nominal
    return measured if np.isfinite(measured) and abs(measured / nominal - 1) > DISTORTION else nominal


def _outside(bands, height: int, width: int):
    """A window that lies wholly off the raster: zeros, none of them valid."""
    return np.zeros((len(bands), height, width), np.float32), np.zeros((height, width), bool)


def _finish_window(data, valid, row, col, height, width, r0, c0, r1, c1):
    """NaN/inf -> invalid 0, then reflect-pad the part of the window outside the raster (marked invalid)."""
    finite = np.isfinite(data).all(axis=0)
    valid &= finite
    if not finite.all():
        data = np.where(np.isfinite(data), data, 0.0).astype("float32")
    pads = ((r0 - row, row + height - r1), (c0 - col, col + width - c1))
    if any(p for pair in pads for p in pair):
        mode = "reflect" if min(data.shape[1:]) > 1 else "edge"
        data = np.pad(data, ((0, 0),) + pads, mode=mode)
        valid = np.pad(valid, pads, mode="constant", constant_values=False)
    return data, valid


class BlockSource(_Source):
    """A raster read through a callback, block by block, with a small LRU cache (web and in-memory layers).

    `fetch(col, row, width, height, out_height, out_width)` returns (data (count, out_h, out_w), valid mask)
    for a window of the grid, resampled to the out shape; windows always lie inside the grid. The grid is
    chosen by the caller at the model's ground resolution, so no resampling happens in the engine.
    Same interface as RasterSource: width, height, count, dtype, nodata, crs, transform, read().
    """

    def __init__(self, fetch, width: int, height: int, count: int, crs_wkt: str, transform: tuple,
                 ground_resolution: float, name: str, dtype: str = "uint8", block: int = 512, cache_rows: int = 3):
        from rasterio.crs import CRS
        from rasterio.transform import Affine

        self.fetch, self.name, self.block = fetch, name, block
        self.path = None
        self.width, self.height, self.count, self.dtype = width, height, count, dtype
        self.nodata = None
        self.crs = CRS.from_wkt(crs_wkt)
        self.transform = Affine.from_gdal(*transform)
        self._resolution = ground_resolution
        self._cache = {}
        self._capacity = cache_rows * (-(-width // block)) + 2
        self.blocks_fetched = 0

    def close(self):
        self._cache.clear()

    def ground_resolution(self) -> float:
        return self._resolution

    def identity(self) -> str:
        return f"{self.name}:{tuple(self.transform)[:6]}:{self.width}x{self.height}"

    def _block(self, by: int, bx: int):
        key = (by, bx)
        hit = self._cache.pop(key, None)
        if hit is None:
            r, c = by * self.block, bx * self.block
            h, w = min(self.block, self.height - r), min(self.block, self.width - c)
            hit = self.fetch(c, r, w, h, h, w)
            self.blocks_fetched += 1
            if len(self._cache) >= self._capacity:
                self._cache.pop(next(iter(self._cache)))
        self._cache[key] = hit  # most recently used last
        return hit

    def read(self, bands, row: int, col: int, height: int, width: int):
        r0, c0 = max(row, 0), max(col, 0)
        r1, c1 = min(row + height, self.height), min(col + width, self.width)
        if r1 <= r0 or c1 <= c0:  # wholly off the grid: nothing valid
            return _outside(bands, height, width)
        idx = [b - 1 for b in bands]
        data = np.zeros((len(idx), r1 - r0, c1 - c0), np.float32)
        valid = np.zeros((r1 - r0, c1 - c0), bool)
        b = self.block
        for by in range(r0 // b, (r1 - 1) // b + 1):
            for bx in range(c0 // b, (c1 - 1) // b + 1):
                bdata, bvalid = self._block(by, bx)
                ys, xs = max(r0, by * b), max(c0, bx * b)
                ye, xe = min(r1, (by + 1) * b), min(c1, (bx + 1) * b)
                src = np.s_[ys - by * b:ye - by * b, xs - bx * b:xe - bx * b]
                dst = np.s_[ys - r0:ye - r0, xs - c0:xe - c0]
                data[(slice(None),) + dst] = bdata[idx][(slice(None),) + src]
                valid[dst] = bvalid[src]
        return _finish_window(data, valid, row, col, height, width, r0, c0, r1, c1)

    def overview(self, bands, shape):
        data, _ = self.fetch(0, 0, self.width, self.height, shape[0], shape[1])
        return data[[b - 1 for b in bands]].astype(np.float32)


def spread_windows(src, grid: int, size: int) -> list:
    """(row, col, size) of up to `grid` x `grid` square windows spread evenly over the raster, none repeated
    (deterministic: every process of a run reads the same)."""
    size = min(size, src.width, src.height)
    rows = sorted(set(np.linspace(0, src.height - size, grid).astype(int).tolist()))
    cols = sorted(set(np.linspace(0, src.width - size, grid).astype(int).tolist()))
    return [(r, c, size) for r in rows for c in cols]


def valid_share(src, bands, grid: int = 12, size: int = 32) -> float:
    """The share of valid pixels in `grid` x `grid` small windows spread evenly over the raster: how much of it
    holds imagery (a drone strip or a clipped scene is mostly nodata), in a few milliseconds."""
    return float(np.mean([src.read(bands, r, c, n, n)[1].mean() for r, c, n in spread_windows(src, grid, size)]))


def open_source(raster):
    """A RasterSource for a path; a source object (BlockSource...) is returned as it is."""
    return RasterSource(raster) if isinstance(raster, str) else raster


def src_path(raster) -> str:
    """The file behind a path or a source ('' for sources without one)."""
    return raster if isinstance(raster, str) else (getattr(raster, "path", None) or "")


def crop_to_file(path: str, row: int, col: int, height: int, width: int, out: str, half_turn: bool = False):
    """Copy a window of the raster at `path` (clipped to it; its mask too, when it has one) into the GeoTIFF
    `out`; returns the window's transform. `half_turn`: the pixels turned by 180 degrees (on the same
    georeferencing: a scratch copy, for the model-fit check's agreement measure)."""
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(path) as ds:
        window = Window(col, row, min(width, ds.width - col), min(height, ds.height - row))
        transform = ds.window_transform(window)
        profile = dict(ds.profile, width=int(window.width), height=int(window.height), transform=transform,
                       driver="GTiff")
        for key in ("blockxsize", "blockysize", "tiled"):
            profile.pop(key, None)
        data, masks = ds.read(window=window), ds.read_masks(1, window=window)
    if half_turn:
        data, masks = data[:, ::-1, ::-1].copy(), masks[::-1, ::-1].copy()
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data)
        if masks.min() == 0:
            dst.write_mask(masks)
    return transform


def window_vrt(path: str, bounds, out: str) -> str:
    """A VRT (nothing copied) of the pixels of the raster at `path` inside `bounds` (minx, miny, maxx, maxy in
    the raster's CRS), widened to whole pixels and clipped to the raster: extraction over a map extent."""
    import math

    import rasterio
    from osgeo import gdal
    from rasterio.windows import from_bounds

    with rasterio.open(path) as ds:
        w = from_bounds(*bounds, transform=ds.transform)
        col0, row0 = max(0, math.floor(w.col_off + 1e-6)), max(0, math.floor(w.row_off + 1e-6))
        col1 = min(ds.width, math.ceil(w.col_off + w.width - 1e-6))
        row1 = min(ds.height, math.ceil(w.row_off + w.height - 1e-6))
    if col1 <= col0 or row1 <= row0:
        raise BuildSegError(f"The extent {tuple(round(b, 2) for b in bounds)} does not overlap the raster {path}: "
                            "choose an extent over it (or leave the extent empty for the whole raster).")
    ds = gdal.Translate(out, path, format="VRT", srcWin=[col0, row0, col1 - col0, row1 - row0])
    if ds is None:
        raise BuildSegError(f"Cannot make a window of {path}: " + gdal.GetLastErrorMsg())
    ds = None
    return out


def materialize(source, path: str, progress=None, strip: int = 512) -> str:
    """Copy a source (e.g. a web layer on a chosen grid) into a tiled GeoTIFF with an internal mask."""
    import rasterio
    from rasterio.windows import Window

    profile = {"driver": "GTiff", "width": source.width, "height": source.height, "count": source.count,
               "dtype": source.dtype, "crs": source.crs, "transform": source.transform, "tiled": True,
               "blockxsize": 256, "blockysize": 256, "compress": "deflate", "BIGTIFF": "IF_SAFER"}
    bands = list(range(1, source.count + 1))
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "w", **profile) as dst:
        for y in range(0, source.height, strip):
            if progress:
                progress.check()
                progress.set_progress(100 * y / source.height)
            h = min(strip, source.height - y)
            data, valid = source.read(bands, y, 0, h, source.width)
            dst.write(data.astype(source.dtype), window=Window(0, y, source.width, h))
            dst.write_mask((valid * 255).astype(np.uint8), window=Window(0, y, source.width, h))
    return path


@dataclass(frozen=True)
class Grid:
    """A raster grid: size, CRS and transform (what RowWriter needs of the raster it writes like)."""

    width: int
    height: int
    crs: object
    transform: object


class RowWriter:
    """Writes a GeoTIFF top to bottom in strips of whole 256-px blocks (no block is rewritten)."""

    BLOCK = 256

    def __init__(self, path: str, like: "RasterSource | Grid", dtype: str, nodata, count: int = 1):
        rasterio = _rasterio()
        profile = {
            "driver": "GTiff", "width": like.width, "height": like.height, "count": count,
            "dtype": dtype, "nodata": nodata, "crs": like.crs, "transform": like.transform,
            "tiled": True, "blockxsize": self.BLOCK, "blockysize": self.BLOCK,
            "compress": "deflate", "zlevel": 1, "predictor": 3 if dtype.startswith("float") else 2,
            "BIGTIFF": "IF_SAFER",
        }
        self.ds = rasterio.open(path, "w", **profile)
        self.width, self.height, self.count, self.dtype = like.width, like.height, count, dtype
        self.pending = []
        self.pending_rows = 0
        self.row = 0

    def write_rows(self, rows: np.ndarray) -> None:
        """Append rows (count, n, width) below those already written."""
        if rows.ndim == 2:
            rows = rows[None]
        self.pending.append(rows.astype(self.dtype, copy=False))
        self.pending_rows += rows.shape[1]
        full = (self.pending_rows // self.BLOCK) * self.BLOCK
        if full and (self.row + self.pending_rows < self.height):
            self._flush(full)
        elif self.row + self.pending_rows >= self.height:
            self._flush(self.pending_rows)

    def _flush(self, n: int) -> None:
        from rasterio.windows import Window

        block = np.concatenate(self.pending, axis=1)
        self.ds.write(block[:, :n], window=Window(0, self.row, self.width, n))
        self.row += n
        rest = block[:, n:]
        self.pending = [rest] if rest.shape[1] else []
        self.pending_rows = rest.shape[1]

    def close(self) -> None:
        if self.pending_rows:
            self._flush(self.pending_rows)
        self.ds.close()
