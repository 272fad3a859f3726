"""Mask raster -> clean building polygons, with GDAL Polygonize (exact pixel edges, streaming)."""

import os

import numpy as np

from ..core.device import cpu_threads
from ..core.errors import BuildSegError
from ..io.raster import local_metres_per_unit
from .regularize import RegularizeParams, regularize
from .separate import split_blob

FIELDS = [("id", "int"), ("area_m2", "real"), ("perimeter_m", "real"), ("confidence", "real"), ("class", "str"),
          ("model", "str"), ("model_sha", "str"), ("image", "str"), ("res_m", "real")]  # provenance: see
PROVENANCE = ("model", "model_sha", "image", "res_m")  # inference.provenance
DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".fgb": "FlatGeobuf",
           ".shp": "ESRI Shapefile"}
MAX_BLOB_THREADS = 4  # threads that split touching buildings, at most (never more than the run's CPU threads)


def driver_for(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in DRIVERS:
        raise BuildSegError(f"Cannot write polygons to '{ext}' files: use .gpkg, .geojson, .fgb or .shp.")
    return DRIVERS[ext]


class Measurer:
    """Areas and lengths in metres for geometries in `srs`: geographic ones via their UTM zone, projected ones
    by the CRS's metres per unit where they are (Web Mercator's shrink with latitude: io.raster
    local_metres_per_unit, cached per 2 km cell)."""

    def __init__(self, srs):
        from osgeo import osr
        from rasterio.crs import CRS

        self.srs = srs.Clone()
        self.srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        self.geographic = bool(srs.IsGeographic())
        self.factor = 1.0 if self.geographic else (srs.GetLinearUnits() or 1.0)
        self.crs = None if self.geographic else CRS.from_wkt(srs.ExportToWkt())
        self.distorted = None  # whether the CRS stretches the ground (told at the first geometry)
        self.cells = {}  # projected CRSs: metres per unit by 2 km cell
        self.zones = {}  # geographic CRSs: the transformation to each UTM zone met

    def unit(self, geom) -> float:
        """Metres in one CRS unit at `geom` (projected CRSs)."""
        if self.distorted is False or self.crs is None:
            return self.factor
        c = geom.Centroid()
        cell = (round(c.GetX() * self.factor / 2000), round(c.GetY() * self.factor / 2000))
        if cell not in self.cells:
            self.cells[cell] = local_metres_per_unit(self.crs, c.GetX(), c.GetY())
            self.distorted = self.distorted or self.cells[cell] != self.factor
        return self.cells[cell]

    def _metric(self, geom):
        if not self.geographic:
            return geom
        from osgeo import osr

        c = geom.Centroid()
        zone = (int((c.GetX() + 180) // 6) % 60 + 1, c.GetY() >= 0)
        if zone not in self.zones:
            utm = osr.SpatialReference()
            utm.SetWellKnownGeogCS("WGS84")
            utm.SetUTM(*zone)
            utm.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
            self.zones[zone] = osr.CoordinateTransformation(self.srs, utm)
        g = geom.Clone()
        g.Transform(self.zones[zone])
        return g

    def area(self, geom) -> float:
        return self._metric(geom).GetArea() * (1.0 if self.geographic else self.unit(geom) ** 2)

    def perimeter(self, geom) -> float:
        return self._metric(geom).Boundary().Length() * (1.0 if self.geographic else self.unit(geom))


def _clean(geom, min_area_units: float, fill_holes: bool, simplify: float):
    """Drop small holes (or all, with fill_holes), simplify, make valid."""
    from osgeo import ogr

    out = ogr.Geometry(ogr.wkbPolygon)
    for i in range(geom.GetGeometryCount()):
        ring = geom.GetGeometryRef(i)
        if i > 0:
            if fill_holes:
                continue
            hole = ogr.Geometry(ogr.wkbPolygon)
            hole.AddGeometry(ring)
            if hole.GetArea() < min_area_units:
                continue
        out.AddGeometry(ring)
    if simplify > 0:
        out = out.SimplifyPreserveTopology(simplify)
    if not out.IsValid():
        out = out.MakeValid()
    return out


class StripPolygonizer:
    """Building polygons of a mask handed over in strips of rows, top to bottom (flat memory).

    Each strip's 4-connected components are labelled and traced with GDAL Polygonize (exact pixel edges);
    components cut by the strip's lower edge wait for the next strip and are joined with the components they
    share an edge with there, so every building comes out whole, exactly as if the mask were traced at once.
    The confidence of a building is the mean probability of its pixels, summed from the same labels.
    """

    def __init__(self, out_path: str, srs_wkt: str, geotransform, height: int, info, params, provenance=None):
        from osgeo import ogr, osr

        target = info.class_index(params.target_class) if info.num_classes > 1 else 0
        self.class_name = info.classes[target]["name"]
        self.target_id = info.classes[target]["id"]
        self.params, self.gt, self.height = params, tuple(geotransform), height
        self.srs = osr.SpatialReference()
        self.srs.ImportFromWkt(srs_wkt)
        self.measurer = Measurer(self.srs)
        self.px_area = abs(self.gt[1] * self.gt[5] - self.gt[2] * self.gt[4])
        self.ds = ogr.GetDriverByName(driver_for(out_path)).CreateDataSource(out_path)
        if self.ds is None:
            raise BuildSegError(f"Cannot create {out_path}: " + gdal_error())
        self.layer = self.ds.CreateLayer("buildings", srs=self.srs, geom_type=ogr.wkbPolygon)
        kinds = {"int": ogr.OFTInteger, "real": ogr.OFTReal, "str": ogr.OFTString}
        for name, kind in FIELDS:
            self.layer.CreateField(ogr.FieldDefn(name, kinds[kind]))
        # fields set by index (by name GDAL's Python wrapper searches each time; a shapefile cuts names to 10
        # characters): the new layer holds FIELDS in order
        self.field = {name: i for i, (name, _) in enumerate(FIELDS)}
        metadata = {k: v for k, v in (provenance or {}).items() if v is not None}
        self.provenance = {k: v for k, v in metadata.items() if k in PROVENANCE}  # fields of every polygon
        if metadata:  # the layer's metadata (GeoPackage: gpkg_metadata, shown by QGIS), with the fit check's
            self.layer.SetMetadata({f"BUILDSEG_{k.upper()}": str(v) for k, v in metadata.items()})
        self.layer.StartTransaction()
        self.row = 0
        self.open = {}  # group id -> [geometries, probability sum, pixel count] of buildings cut by the last edge
        self.bottom = None  # group ids along the last strip's lower edge (0: none)
        self.count, self.area = 0, 0.0
        self.pool = None  # threads that split blobs (made when a strip finishes two)

    def add(self, building: np.ndarray, probability: np.ndarray = None) -> None:
        """The next rows: `building` (rows, width) bool; `probability` float in 0..1, NaN where unknown."""
        from rasterio import Env

        with Env.from_defaults():  # one GDAL environment for the strip (rasterio would make one per building)
            self._add(building, probability)

    def _add(self, building: np.ndarray, probability: np.ndarray = None) -> None:
        import cv2

        n, labels, boxes, _ = cv2.connectedComponentsWithStats(building.astype(np.uint8), connectivity=4,
                                                              ltype=cv2.CV_32S)
        h = building.shape[0]
        last = self.row + h >= self.height
        flat = labels.ravel().astype(np.intp)
        if probability is None:
            sums, counts = np.full(n, np.nan), np.ones(n)
        else:
            p = probability.ravel()
            unknown = ~np.isfinite(p)
            if unknown.any():  # pixels without a probability are left out of the means
                p = np.where(unknown, 0, p)
                counts = np.bincount(flat, weights=~unknown, minlength=n)
            else:
                counts = boxes[:, cv2.CC_STAT_AREA]  # every pixel known: the components' areas
            sums = np.bincount(flat, weights=p, minlength=n)
        parts = {("c", label): [[geom], sums[label], counts[label], [self._crop(labels, label, boxes, probability)]]
                 for label, geom in self._trace(labels)}
        parts.update({("o", gid): group for gid, group in self.open.items()})
        roots = _Joiner(parts)
        if self.bottom is not None:  # components sharing an edge across the seam are one building
            seam = (self.bottom > 0) & (labels[0] > 0)
            for gid, label in set(zip(self.bottom[seam].tolist(), labels[0][seam].tolist())):
                roots.join(("o", gid), ("c", label))
        touching = set() if last else {("c", v) for v in np.unique(labels[-1]).tolist() if v}
        self.open, group_of, finished = {}, {}, []
        for members in roots.groups().values():
            merged = [sum((parts[m][0] for m in members), []), sum(parts[m][1] for m in members),
                      sum(parts[m][2] for m in members), sum((parts[m][3] for m in members), [])]
            if touching.intersection(members):
                self.open[len(self.open) + 1] = merged
                group_of.update({m[1]: len(self.open) for m in members if m[0] == "c"})
            else:
                finished.append((_union(merged[0], 1e-6 * abs(self.gt[1])),
                                 merged[1] / merged[2] if merged[2] else np.nan, merged[3]))
        self._emit(finished)
        lut = np.zeros(n, np.int64)
        for label, gid in group_of.items():
            lut[label] = gid
        self.bottom = lut[labels[-1]]
        self.row += h

    def _trace(self, labels):
        """(label, polygon) of every component of one strip, in map coordinates."""
        from osgeo import gdal, ogr

        gt = self.gt
        mem = gdal.GetDriverByName("MEM").Create("", labels.shape[1], labels.shape[0], 1, gdal.GDT_Int32)
        mem.SetGeoTransform((gt[0] + self.row * gt[2], gt[1], gt[2], gt[3] + self.row * gt[5], gt[4], gt[5]))
        band = mem.GetRasterBand(1)
        band.WriteArray(labels)
        vec = ogr.GetDriverByName("Memory").CreateDataSource("strip")
        layer = vec.CreateLayer("strip", srs=self.srs, geom_type=ogr.wkbPolygon)
        layer.CreateField(ogr.FieldDefn("label", ogr.OFTInteger))
        if gdal.Polygonize(band, band, layer, 0, []) != 0:  # the band as its own mask: background is skipped
            raise BuildSegError("Polygonizing the mask failed: " + gdal_error())
        return [(feat.GetField(0), feat.GetGeometryRef().Clone()) for feat in layer]

    def _crop(self, labels, label, boxes, probability):
        """(first row, first column, the component's pixels, their probabilities or None) in its bounding box,
        kept while the building is open: separation works on these pixels (not on the polygon drawn again), and
        each part of a split building gets the mean probability of its own pixels."""
        if not self.params.separate:  # never split: the blob's mean is the building's
            return None
        x, y, w, h = boxes[label][:4]
        window = (slice(y, y + h), slice(x, x + w))
        return (self.row + y, x, labels[window] == label,
                None if probability is None else probability[window].astype(np.float32))

    def _mean_inside(self, piece, crops) -> float:
        """The mean probability of the pixels whose centres lie in `piece` (NaN: none known)."""
        from osgeo import gdal, ogr

        gt, total, count = self.gt, 0.0, 0
        for row, col, pixels, prob in crops:
            mem = gdal.GetDriverByName("MEM").Create("", pixels.shape[1], pixels.shape[0], 1, gdal.GDT_Byte)
            mem.SetGeoTransform((gt[0] + col * gt[1] + row * gt[2], gt[1], gt[2],
                                 gt[3] + col * gt[4] + row * gt[5], gt[4], gt[5]))
            vec = ogr.GetDriverByName("Memory").CreateDataSource("piece")
            layer = vec.CreateLayer("piece", srs=self.srs, geom_type=ogr.wkbPolygon)
            feat = ogr.Feature(layer.GetLayerDefn())
            feat.SetGeometry(piece)
            layer.CreateFeature(feat)
            gdal.RasterizeLayer(mem, [1], layer, burn_values=[1])
            inside = (mem.GetRasterBand(1).ReadAsArray() == 1) & pixels & np.isfinite(prob)
            total, count = total + float(prob[inside].sum()), count + int(inside.sum())
        return total / count if count else np.nan

    def _emit(self, finished) -> None:
        """Write the buildings of finished blobs ((polygon, mean probability, pixel crops) each), numbered in
        that order; the blobs are split in worker threads when there are several."""
        if not finished:
            return
        blobs, confidences, crops = zip(*finished)
        # square metres in one square unit of the layer, for dropping holes (approximate for geographic CRSs)
        units = [111_320.0 ** 2 if self.measurer.geographic else self.measurer.unit(blob) ** 2 for blob in blobs]
        pool = self._workers() if len(blobs) > 1 else None
        for unit, pieces in zip(units, (pool.map if pool else map)(self._pieces, blobs, confidences, crops, units)):
            for geom, confidence in pieces:
                self._write(geom, confidence, unit)

    def _workers(self):
        """Threads that split blobs (OpenCV, scikit-image's flooding and GEOS run without Python's lock), as
        many as the run's CPU threads up to MAX_BLOB_THREADS; None with one, or without separation."""
        threads = min(MAX_BLOB_THREADS, cpu_threads(self.params.threads))
        if self.pool is None and self.params.separate and threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(threads, thread_name_prefix="buildseg-blobs")
        return self.pool

    def _pieces(self, blob, confidence: float, crops, unit_area: float) -> list:
        """(polygon, confidence) of each building of one blob: split at narrow waists, each part with its own
        pixels' mean probability, small holes dropped, simplified, squared up."""
        params, gt = self.params, self.gt
        pieces = split_blob(blob, gt, params.separation_h, params.separation_neck, crops) if params.separate \
            else [(blob, None)]
        split = len(pieces) > 1 and crops and all(c[3] is not None for c in crops)
        out = []
        for piece, pixels in pieces:
            if split:  # each building its own pixels' mean, not the whole blob's
                confidence = _mean_of(pixels, crops) if pixels else self._mean_inside(piece, crops)
            geom = _clean(piece, (params.min_area or 0.0) / unit_area, params.fill_holes, params.simplify)
            if params.regularize and not geom.IsEmpty():
                geom = regularize(geom, RegularizeParams(tolerance=abs(gt[1])))
            if geom is not None and not geom.IsEmpty():
                out.append((geom, confidence))
        return out

    def _write(self, geom, confidence: float, unit_area: float) -> None:
        """One building feature, unless smaller than the minimum area or half a pixel (this thread only: the
        measurer caches, the layer is written in order)."""
        from osgeo import ogr

        min_area_m2 = self.params.min_area or 0.0
        area = self.measurer.area(geom)
        if area < min_area_m2 or area < self.px_area * unit_area * 0.5:
            return
        self.count += 1
        self.area += area
        out = ogr.Feature(self.layer.GetLayerDefn())
        field = self.field
        out.SetField(field["id"], self.count)
        out.SetField(field["area_m2"], round(area, 2))
        out.SetField(field["perimeter_m"], round(self.measurer.perimeter(geom), 2))
        out.SetField(field["class"], self.class_name)
        for k, v in self.provenance.items():
            out.SetField(field[k], v)
        if np.isfinite(confidence):
            out.SetField(field["confidence"], round(float(confidence), 4))
        if geom.GetGeometryType() not in (ogr.wkbPolygon, ogr.wkbMultiPolygon):
            geom = ogr.ForceToMultiPolygon(geom)
        out.SetGeometry(ogr.ForceToPolygon(geom) if geom.GetGeometryCount() == 1 and
                        geom.GetGeometryType() == ogr.wkbMultiPolygon else geom)
        self.layer.CreateFeature(out)

    def close(self) -> tuple:
        """Finish the file; returns (building count, total area m²)."""
        if self.open:
            raise BuildSegError("The mask ended before its last rows were polygonized.")
        self._stop_workers()
        self.layer.CommitTransaction()
        self.layer, self.ds = None, None
        return self.count, self.area

    def discard(self) -> None:
        """Give the file up unfinished (after an error or a cancel)."""
        self._stop_workers()
        self.layer, self.ds = None, None

    def _stop_workers(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None


class _Joiner:
    """Union-find over the keys of a dict."""

    def __init__(self, keys):
        self.parent = {k: k for k in keys}

    def find(self, k):
        while self.parent[k] != k:
            self.parent[k] = self.parent[self.parent[k]]
            k = self.parent[k]
        return k

    def join(self, a, b) -> None:
        self.parent[self.find(a)] = self.find(b)

    def groups(self) -> dict:
        out = {}
        for k in self.parent:
            out.setdefault(self.find(k), []).append(k)
        return out


def _mean_of(part, crops) -> float:
    """The mean probability of a part's pixels (first row, first column, bool pixels on the mask grid) over the
    blob's `crops`, summed crop by crop as _mean_inside sums the pixels whose centres lie in its polygon (the
    same pixels: the polygon was traced from them). NaN: none known."""
    r0, c0, pixels = part
    total, count = 0.0, 0
    for row, col, crop, prob in crops:
        window = np.zeros(crop.shape, bool)  # the part's pixels over this crop
        top, left = max(row, r0), max(col, c0)
        bottom, right = min(row + crop.shape[0], r0 + pixels.shape[0]), min(col + crop.shape[1], c0 + pixels.shape[1])
        if bottom > top and right > left:
            window[top - row:bottom - row, left - col:right - col] = pixels[top - r0:bottom - r0, left - c0:right - c0]
        inside = window & crop & np.isfinite(prob)
        total, count = total + float(prob[inside].sum()), count + int(inside.sum())
    return total / count if count else np.nan


def _union(geoms, tolerance: float):
    """One polygon of parts traced in consecutive strips (sharing edges on the seams)."""
    from osgeo import ogr

    if len(geoms) == 1:
        return geoms[0]
    multi = ogr.Geometry(ogr.wkbMultiPolygon)
    for g in geoms:
        multi.AddGeometry(g)
    merged = multi.UnionCascaded()
    # the seams leave vertices in the middle of straight edges: drop them (a tiny tolerance keeps the shape);
    # normalizing first starts each ring at a corner, which simplifying keeps
    return merged.Normalize().Simplify(tolerance)


def gdal_error() -> str:
    from osgeo import gdal

    return gdal.GetLastErrorMsg()


def polygonize(mask_path: str, prob_path: str, out_path: str, info, params, progress, strip: int = 512,
               provenance=None) -> tuple:
    """Write building polygons of the mask raster `mask_path` to `out_path`, reading it in strips of rows;
    confidences from `prob_path` when given. Returns (count, total area m²)."""
    from osgeo import gdal

    ds = gdal.Open(mask_path)
    band = ds.GetRasterBand(1)
    prob_ds = gdal.Open(prob_path) if prob_path else None
    prob_band = prob_ds.GetRasterBand(1) if prob_ds else None
    width, height = ds.RasterXSize, ds.RasterYSize
    poly = StripPolygonizer(out_path, ds.GetProjection(), ds.GetGeoTransform(), height, info, params, provenance)
    for y in range(0, height, strip):
        progress.check()
        progress.set_progress(100.0 * y / height)
        h = min(strip, height - y)
        poly.add(band.ReadAsArray(0, y, width, h) == poly.target_id,
                 _probability(prob_band, y, width, h) if prob_band else None)
    return poly.close()


def _probability(band, y: int, width: int, h: int) -> np.ndarray:
    """Rows of a probability raster as float 0..1, NaN on nodata (uint8 rasters are scaled by 1/254)."""
    from osgeo import gdal

    raw = band.ReadAsArray(0, y, width, h)
    p = raw.astype(np.float32) / (254.0 if band.DataType == gdal.GDT_Byte else 1.0)
    nodata = band.GetNoDataValue()
    if nodata is not None:
        p[raw == nodata] = np.nan
    return p
