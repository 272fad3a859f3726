"""Mask raster -> clean building polygons, with GDAL Polygonize (exact pixel edges, streaming)."""

import os

import numpy as np

from .errors import BuildSegError
from .regularize import RegularizeParams, regularize
from .separate import split_blob

FIELDS = [("id", "int"), ("area_m2", "real"), ("perimeter_m", "real"), ("confidence", "real"), ("class", "str")]
DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".fgb": "FlatGeobuf",
           ".shp": "ESRI Shapefile"}


def driver_for(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in DRIVERS:
        raise BuildSegError(f"Cannot write polygons to '{ext}' files: use .gpkg, .geojson, .fgb or .shp.")
    return DRIVERS[ext]


class Measurer:
    """Areas and lengths in metres for geometries in `srs`; geographic ones via their UTM zone."""

    def __init__(self, srs):
        from osgeo import osr

        self.srs = srs.Clone()
        self.srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        self.geographic = bool(srs.IsGeographic())
        self.factor = 1.0 if self.geographic else (srs.GetLinearUnits() or 1.0)

    def _metric(self, geom):
        if not self.geographic:
            return geom
        from osgeo import osr

        c = geom.Centroid()
        lon, lat = c.GetX(), c.GetY()
        utm = osr.SpatialReference()
        utm.SetWellKnownGeogCS("WGS84")
        utm.SetUTM(int((lon + 180) // 6) % 60 + 1, lat >= 0)
        utm.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        g = geom.Clone()
        g.Transform(osr.CoordinateTransformation(self.srs, utm))
        return g

    def area(self, geom) -> float:
        return self._metric(geom).GetArea() * self.factor ** 2

    def perimeter(self, geom) -> float:
        return self._metric(geom).Boundary().Length() * self.factor


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


def polygonize(mask_path: str, prob_path: str, out_path: str, info, params, progress) -> tuple:
    """Write building polygons of `mask_path` to `out_path`; returns (count, total area m²)."""
    from osgeo import gdal, ogr

    driver = ogr.GetDriverByName(driver_for(out_path))
    target = info.class_index(params.target_class) if info.num_classes > 1 else 0
    target_id = info.classes[target]["id"]
    class_name = info.classes[target]["name"]
    ds = gdal.Open(mask_path)
    band = ds.GetRasterBand(1)
    srs = ds.GetSpatialRef()
    gt = ds.GetGeoTransform()
    px_area = abs(gt[1] * gt[5])
    measurer = Measurer(srs)
    mem = ogr.GetDriverByName("Memory").CreateDataSource("raw")
    raw = mem.CreateLayer("raw", srs=srs, geom_type=ogr.wkbPolygon)
    raw.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
    sel = _equal_band(mask_path, target_id)
    cb = _gdal_progress(progress, 0, 60)
    if gdal.Polygonize(band, sel.GetRasterBand(1), raw, 0, [], callback=cb) != 0:
        raise BuildSegError("Polygonizing the mask failed: " + gdal.GetLastErrorMsg())
    progress.check()
    # buildings go to a memory layer first: the confidence of all of them is computed in one pass
    layer = mem.CreateLayer("buildings", srs=srs, geom_type=ogr.wkbUnknown)
    kinds = {"int": ogr.OFTInteger, "real": ogr.OFTReal, "str": ogr.OFTString}
    for name, kind in FIELDS:
        layer.CreateField(ogr.FieldDefn(name, kinds[kind]))
    min_area_m2 = params.min_area or 0.0
    # min_area in the layer's own units, for dropping holes (approximate for geographic CRSs)
    unit_area = measurer.factor ** 2 if not measurer.geographic else 111_320.0 ** 2
    n_raw = raw.GetFeatureCount()
    layer.StartTransaction()
    gt = ds.GetGeoTransform()
    count, total_area = 0, 0.0
    for i, feat in enumerate(raw):
        if i % 200 == 0:
            progress.check()
            progress.set_progress(60 + 40.0 * i / max(n_raw, 1))
        if feat.GetField("value") != target_id:
            continue
        blob = feat.GetGeometryRef()
        pieces = split_blob(blob, gt, params.separation_h) if params.separate else [blob]
        for piece in pieces:
            geom = _clean(piece, min_area_m2 / unit_area if unit_area else 0.0, params.fill_holes, params.simplify)
            if params.regularize and not geom.IsEmpty():
                geom = regularize(geom, RegularizeParams(tolerance=abs(gt[1])))
            if geom is None or geom.IsEmpty():
                continue
            area = measurer.area(geom)
            if area < min_area_m2 or area < px_area * unit_area * 0.5:
                continue
            count += 1
            total_area += area
            out = ogr.Feature(layer.GetLayerDefn())
            out.SetField("id", count)
            out.SetField("area_m2", round(area, 2))
            out.SetField("perimeter_m", round(measurer.perimeter(geom), 2))
            out.SetField("class", class_name)
            if geom.GetGeometryType() not in (ogr.wkbPolygon, ogr.wkbMultiPolygon):
                geom = ogr.ForceToMultiPolygon(geom)
            out.SetGeometry(ogr.ForceToPolygon(geom) if geom.GetGeometryCount() == 1 and
                            geom.GetGeometryType() == ogr.wkbMultiPolygon else geom)
            layer.CreateFeature(out)
    layer.CommitTransaction()
    confidence = _confidence(layer, prob_path, count) if prob_path else None
    out_ds = driver.CreateDataSource(out_path)
    out_layer = out_ds.CreateLayer("buildings", srs=srs, geom_type=ogr.wkbPolygon)
    for name, kind in FIELDS:
        out_layer.CreateField(ogr.FieldDefn(name, kinds[kind]))
    out_layer.StartTransaction()
    layer.ResetReading()
    for feat in layer:
        progress.check()
        out = ogr.Feature(out_layer.GetLayerDefn())
        out.SetFrom(feat)
        if confidence is not None and np.isfinite(confidence[feat["id"]]):
            out.SetField("confidence", round(float(confidence[feat["id"]]), 4))
        out_layer.CreateFeature(out)
    out_layer.CommitTransaction()
    out_ds = None  # noqa: F841 - closes the file
    return count, total_area


def _confidence(layer, prob_path: str, count: int, strip: int = 512):
    """Mean probability inside every feature (indexed by its id), strip by strip: the ids are rasterized
    onto the probability grid with GDAL and averaged with one bincount per strip (flat memory)."""
    from osgeo import gdal

    prob = gdal.Open(prob_path)
    band = prob.GetRasterBand(1)
    nodata = band.GetNoDataValue()
    scale = 1 / 254.0 if band.DataType == gdal.GDT_Byte else 1.0
    width, height = prob.RasterXSize, prob.RasterYSize
    gt = prob.GetGeoTransform()
    sums, counts = np.zeros(count + 1), np.zeros(count + 1)
    for y in range(0, height, strip):
        h = min(strip, height - y)
        ids_ds = gdal.GetDriverByName("MEM").Create("", width, h, 1, gdal.GDT_Int32)
        ids_ds.SetGeoTransform((gt[0], gt[1], gt[2], gt[3] + y * gt[5], gt[4], gt[5]))
        ids_ds.SetProjection(prob.GetProjection())
        gdal.RasterizeLayer(ids_ds, [1], layer, options=["ATTRIBUTE=id"])
        ids = ids_ds.ReadAsArray()
        p = band.ReadAsArray(0, y, width, h).astype(np.float64)
        ok = ids > 0
        if nodata is not None:
            ok &= p != nodata
        sums += np.bincount(ids[ok], weights=p[ok], minlength=count + 1)
        counts += np.bincount(ids[ok], minlength=count + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts * scale


def _equal_band(mask_path, target_id):
    from osgeo import gdal

    src = gdal.Open(mask_path)
    vrt = gdal.GetDriverByName("VRT").Create("", src.RasterXSize, src.RasterYSize, 1, gdal.GDT_Byte)
    vrt.SetGeoTransform(src.GetGeoTransform())
    band = vrt.GetRasterBand(1)
    xml = f"""<ComplexSource resampling="nearest"><SourceFilename relativeToVRT="0">{mask_path}</SourceFilename>
<SourceBand>1</SourceBand><LUT>{','.join(f'{v}:{int(v == target_id)}' for v in range(256))}</LUT>
</ComplexSource>"""
    band.SetMetadataItem("source_0", xml, "new_vrt_sources")
    return vrt


def _gdal_progress(progress, start, end):
    def cb(frac, msg, data):
        progress.set_progress(start + (end - start) * frac)
        return 0 if progress.is_canceled() else 1

    return cb
