"""Windowed raster reading and tiled GeoTIFF writing (rasterio/GDAL, no QGIS)."""

import numpy as np

from .errors import BuildSegError

GDAL_CACHE_BYTES = 64 * 2**20  # flat memory however large the scene


def _rasterio():
    import rasterio

    return rasterio


class RasterSource:
    """A GDAL-readable raster: metadata plus `read(window)` with reflect padding at the edges."""

    def __init__(self, path: str):
        rasterio = _rasterio()
        from osgeo import gdal

        gdal.SetCacheMax(GDAL_CACHE_BYTES)
        self.path = path
        try:
            self.ds = rasterio.open(path)
        except Exception as exc:
            raise BuildSegError(f"Cannot open raster {path}: {exc}") from None
        self.width, self.height, self.count = self.ds.width, self.ds.height, self.ds.count
        self.dtype = self.ds.dtypes[0]
        self.nodata = self.ds.nodata
        self.crs = self.ds.crs
        self.transform = self.ds.transform

    def close(self):
        self.ds.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def crs_wkt(self) -> str:
        return self.crs.to_wkt() if self.crs else ""

    def pixel_size(self) -> tuple:
        return abs(self.transform.a), abs(self.transform.e)

    def check_bands(self, bands) -> None:
        bad = [b for b in bands if not 1 <= b <= self.count]
        if bad:
            raise BuildSegError(f"The raster {self.path} has {self.count} band(s); band(s) {bad} do not exist. "
                                "Choose bands in the band mapping that exist in the raster.")

    def read(self, bands, row: int, col: int, height: int, width: int):
        """(float32 array (len(bands), height, width), bool valid mask (height, width)).

        The window may reach outside the raster: that part is filled by reflection
        and marked invalid, so edge tiles look natural to the model but never count.
        """
        from rasterio.windows import Window

        r0, c0 = max(row, 0), max(col, 0)
        r1, c1 = min(row + height, self.height), min(col + width, self.width)
        win = Window(c0, r0, c1 - c0, r1 - r0)
        data = self.ds.read(list(bands), window=win, out_dtype="float32")
        # a pixel is nodata when every band is (a 0 in one band of RGB is real data)
        valid = np.zeros(data.shape[1:], bool)
        for b in bands:
            valid |= self.ds.read_masks(b, window=win) > 0
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


class RowWriter:
    """Writes a GeoTIFF top to bottom in strips of whole 256-px blocks (no block is rewritten)."""

    BLOCK = 256

    def __init__(self, path: str, like: RasterSource, dtype: str, nodata, count: int = 1):
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
