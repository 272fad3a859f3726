"""Any QGIS raster layer as engine input: pixels fetched through the layer's data provider, block by block.

File-backed GDAL layers keep the direct GDAL path (layers.raster_file). Other layers (XYZ, WMS, WCS, GDAL
rasters in /vsimem or behind a URL...) become an engine BlockSource on a grid chosen here: the requested
extent, in the layer's CRS (or a chosen one), at the model's ground resolution.
"""

import math
import os
import time

import numpy as np
from qgis.core import (
    Qgis,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDistanceArea,
    QgsPointXY,
    QgsProcessingException,
    QgsRasterProjector,
    QgsRectangle,
)

ARGB_TYPES = (Qgis.ARGB32, Qgis.ARGB32_Premultiplied)
NUMPY_TYPES = {Qgis.Byte: "uint8", Qgis.UInt16: "uint16", Qgis.Int16: "int16", Qgis.UInt32: "uint32",
               Qgis.Int32: "int32", Qgis.Float32: "float32", Qgis.Float64: "float64"}
BLOCK = 512  # px per request side
WARN_REQUESTS = 2000
MAX_PIXELS = 40000 * 40000
WARN_LIMIT = 5  # per-block warnings before only counting


def is_file_layer(layer) -> bool:
    path = layer.source().split("|")[0]
    return layer.providerType() == "gdal" and os.path.isfile(path)


def grid_crs(layer, target_crs, extent, context) -> QgsCoordinateReferenceSystem:
    """The chosen CRS, else the layer's when projected, else the UTM zone of the extent's centre."""
    if target_crs is not None and target_crs.isValid():
        if target_crs.isGeographic():
            raise QgsProcessingException("Choose a projected target CRS (metres), not a geographic one: the model "
                                         "runs at a ground resolution in metres.")
        return target_crs
    crs = layer.crs()
    if crs.isValid() and not crs.isGeographic():
        return crs
    return utm_crs(crs, extent, context)


def utm_crs(crs, extent, context) -> QgsCoordinateReferenceSystem:
    """The UTM zone (WGS 84) of the centre of `extent` (in `crs`)."""
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    c = QgsCoordinateTransform(crs, wgs84, context.transformContext()).transform(extent.center())
    zone = int((c.x() + 180) // 6) % 60 + 1
    return QgsCoordinateReferenceSystem(f"EPSG:{(32600 if c.y() >= 0 else 32700) + zone}")


def requested_extent(alg, parameters, context, layer, aoi_source):
    """The EXTENT parameter, else the area of interest's extent, else the layer's (all in the layer's CRS)."""
    if parameters.get("EXTENT"):
        return alg.parameterAsExtent(parameters, "EXTENT", context, layer.crs())
    if aoi_source is not None:
        tr = QgsCoordinateTransform(aoi_source.sourceCrs(), layer.crs(), context.transformContext())
        return tr.transformBoundingBox(aoi_source.sourceExtent())
    return layer.extent()


def web_input(alg, parameters, context, feedback, layer, resolution_m, aoi_source=None):
    """(BlockSource, LayerFetcher, grid CRS) for a layer that is not a file, from EXTENT/TARGET_CRS/AOI."""
    if not resolution_m:
        resolution_m = 1.0
        feedback.reportError("The model does not record its ground resolution: fetching the layer at 1 m per "
                             "pixel.", fatalError=False)
    extent = requested_extent(alg, parameters, context, layer, aoi_source)
    target = alg.parameterAsCrs(parameters, "TARGET_CRS", context) if parameters.get("TARGET_CRS") else None
    crs = grid_crs(layer, target, extent, context)
    if crs != layer.crs():
        extent = QgsCoordinateTransform(layer.crs(), crs, context.transformContext()).transformBoundingBox(extent)
    native = native_grid(layer, crs, extent, resolution_m, context)
    source, fetcher = layer_source(layer, extent, crs, resolution_m, context, feedback, native)
    return source, fetcher, crs


def native_grid(layer, crs, extent, resolution_m, context):
    """(pixel size, origin) of the layer's own pixels (a zoom level of a tile service, a raster's pixel size)
    when one is within the engine's resampling tolerance of the model's resolution, else None: reading the
    service's pixels as they are avoids a resampling that changes the model's predictions."""
    from ..engine.io.resample import RATIO_TOLERANCE

    if crs != layer.crs():
        return None
    provider = layer.dataProvider()
    sizes = list(provider.nativeResolutions())
    if not sizes and provider.capabilities() & provider.Size:
        sizes = [layer.rasterUnitsPerPixelX()]
    factor = metres_per_unit(crs, extent, context)
    ratios = sorted((abs(math.log(s * factor / resolution_m)), s) for s in sizes if s > 0)
    if not ratios or ratios[0][0] > math.log(RATIO_TOLERANCE):
        return None
    origin = layer.extent()
    return ratios[0][1], (origin.xMinimum(), origin.yMaximum())


def metres_per_unit(crs, extent, context) -> float:
    """Ground metres per CRS unit at the extent's centre (about 0.9 for Web Mercator at 25° N)."""
    da = QgsDistanceArea()
    da.setSourceCrs(crs, context.transformContext())
    da.setEllipsoid("WGS84")
    c = extent.center()
    d = max(extent.width() / 10, 1e-6)
    metres = da.measureLine(QgsPointXY(c.x() - d / 2, c.y()), QgsPointXY(c.x() + d / 2, c.y()))
    return metres / d if metres > 0 else 1.0


class LayerFetcher:
    """Fetches windows of a grid through a (cloned) data provider; retries empty results, then counts them."""

    def __init__(self, layer, crs, origin, pixel, context, feedback, retries: int = 2):
        self.provider = layer.dataProvider().clone()
        self.iface = self.provider
        if crs != layer.crs():
            self.projector = QgsRasterProjector()
            self.projector.setCrs(layer.crs(), crs, context.transformContext())
            self.projector.setInput(self.provider)
            self.iface = self.projector
        self.argb = self.provider.dataType(1) in ARGB_TYPES
        self.count = 3 if self.argb else self.provider.bandCount()
        dtype = "uint8" if self.argb else NUMPY_TYPES.get(self.provider.dataType(1))
        if dtype is None:
            raise QgsProcessingException(f"The layer '{layer.name()}' has an unsupported pixel type: export it "
                                         "as a GeoTIFF first.")
        self.dtype = dtype
        self.x0, self.y1 = origin
        self.pixel = pixel
        self.feedback, self.retries, self.name = feedback, retries, layer.name()
        self.requests = self.empty_blocks = self.empty_pixels = self.pixels = 0

    def __call__(self, col, row, width, height, out_height, out_width):
        rect = QgsRectangle(self.x0 + col * self.pixel, self.y1 - (row + height) * self.pixel,
                            self.x0 + (col + width) * self.pixel, self.y1 - row * self.pixel)
        for attempt in range(self.retries + 1):
            data, valid = self._fetch(rect, out_width, out_height)
            if valid.all() or self.feedback.isCanceled():
                break
            time.sleep(0.2 * (attempt + 1))
        self.pixels += valid.size
        if not valid.all():
            self.empty_blocks += 1
            self.empty_pixels += int((~valid).sum())
            if self.empty_blocks <= WARN_LIMIT:
                self.feedback.reportError(
                    f"{self.name}: {100 * (~valid).mean():.0f}% of the block at pixel ({col}, {row}) came back "
                    f"empty after {self.retries + 1} request(s) (server error or no imagery): it is nodata "
                    "in the outputs.", fatalError=False)
        return data, valid

    def _fetch(self, rect, w, h):
        self.requests += 1
        if self.argb:
            block = self.iface.block(1, rect, w, h)
            if not block.isValid() or block.isEmpty():
                return np.zeros((3, h, w), np.uint8), np.zeros((h, w), bool)
            argb = np.frombuffer(bytes(block.data()), np.uint32).reshape(h, w)
            alpha = (argb >> 24).astype(np.float32)
            rgb = np.stack([(argb >> s) & 255 for s in (16, 8, 0)]).astype(np.float32)
            rgb = np.where(alpha > 0, np.clip(rgb * 255 / np.maximum(alpha, 1), 0, 255), 0)  # un-premultiply
            return rgb.astype(np.uint8), alpha > 0
        data = np.zeros((self.count, h, w), self.dtype)
        valid = np.zeros((h, w), bool)
        for b in range(1, self.count + 1):
            block = self.iface.block(b, rect, w, h)
            if not block.isValid() or block.isEmpty():
                continue
            arr = np.frombuffer(bytes(block.data()), self.dtype).reshape(h, w)
            data[b - 1] = arr
            ok = np.isfinite(arr) if arr.dtype.kind == "f" else np.ones((h, w), bool)
            if block.hasNoDataValue():
                ok &= arr != block.noDataValue()
            valid |= ok  # nodata only where every band is
        return data, valid

    def summary(self) -> str:
        if not self.empty_blocks:
            return ""
        return (f"{self.empty_blocks} block(s) of '{self.name}' came back empty or failed "
                f"({100 * self.empty_pixels / max(self.pixels, 1):.1f}% of the pixels, {self.requests} requests "
                "in all): those areas are nodata in the outputs, not 'no buildings'. Run again later to fill them.")


def layer_source(layer, extent, crs, resolution_m, context, feedback, native=None, what="input raster"):
    """(engine BlockSource over `extent` (QgsRectangle in `crs`) at `resolution_m`, its LayerFetcher).

    With `native` (pixel size, grid origin) the grid snaps to the layer's own pixels instead."""
    from ..engine.io.raster import BlockSource

    if layer is None or not layer.isValid():
        raise QgsProcessingException(f"The {what} could not be loaded: check the layer or its source.")
    if extent is None or extent.isEmpty():
        raise QgsProcessingException(f"The {what} '{layer.name()}' is not a file: choose an extent (EXTENT) or an "
                                     "area of interest to fetch its imagery for.")
    factor = metres_per_unit(crs, extent, context)
    pixel, (ox, oy) = native or (resolution_m / factor, (0.0, 0.0))
    ground = pixel * factor
    x0 = ox + math.floor(round((extent.xMinimum() - ox) / pixel, 6)) * pixel
    y1 = oy - math.floor(round((oy - extent.yMaximum()) / pixel, 6)) * pixel
    width = max(1, math.ceil(round((extent.xMaximum() - x0) / pixel, 6)))
    height = max(1, math.ceil(round((y1 - extent.yMinimum()) / pixel, 6)))
    if width * height > MAX_PIXELS:
        raise QgsProcessingException(
            f"The extent is {width} x {height} px at {ground:.2f} m per pixel: too large to fetch from "
            f"'{layer.name()}'. Choose a smaller extent or an area of interest.")
    fetcher = LayerFetcher(layer, crs, (x0, y1), pixel, context, feedback)
    blocks = math.ceil(width / BLOCK) * math.ceil(height / BLOCK)
    message = (f"Fetching '{layer.name()}' ({layer.providerType()}) over {width} x {height} px at "
               f"{ground:.2f} m per pixel in {crs.authid() or crs.description()}"
               f"{' (the layer’s own pixels)' if native else ''}: {blocks} block request(s).")
    if blocks > WARN_REQUESTS:
        feedback.reportError(message + " That is many requests for a web service: consider a smaller extent.",
                             fatalError=False)
    else:
        feedback.pushInfo(message)
    source = BlockSource(fetcher, width, height, fetcher.count, crs.toWkt(QgsCoordinateReferenceSystem.WKT2_2019),
                         (x0, pixel, 0.0, y1, 0.0, -pixel), ground, layer.source(), dtype=fetcher.dtype,
                         block=BLOCK)
    return source, fetcher
