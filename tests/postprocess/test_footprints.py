"""Regularized footprints on real reference polygons, and extraction -> regularize -> evaluate in a model."""

import json

import numpy as np
import pytest
from osgeo import ogr

from conftest import crop, dubai


def _geoms(path):
    ds = ogr.Open(str(path))
    return [(f.GetGeometryRef().Clone(), f.GetField("class") if f.GetFieldIndex("class") >= 0 else None)
            for f in ds.GetLayer(0)]


def test_regularized_polygons_stay_close_with_fewer_vertices(run_alg, tmp_path, tiny_model):
    from buildseg.engine.extract.inference import ExtractParams, extract
    from buildseg.engine.postprocess.regularize import hausdorff, vertex_count

    scene = crop(dubai("tile8_part7"), str(tmp_path / "s.tif"), 0, 0, 600, 500)
    extract(scene, tiny_model, out_polygons=str(tmp_path / "raw.gpkg"),
            params=ExtractParams(tile_size=128, separate=False))
    res = run_alg("buildseg:regularizefootprints", {"INPUT": str(tmp_path / "raw.gpkg"), "TOLERANCE": 1.0,
                                                    "OUTPUT": str(tmp_path / "reg.gpkg")})
    raw, reg = _geoms(tmp_path / "raw.gpkg"), _geoms(res["OUTPUT"])
    assert len(raw) == len(reg) > 5
    assert [c for _, c in raw] == [c for _, c in reg]  # attributes kept, in order
    assert sum(vertex_count(g) for g, _ in reg) < 0.5 * sum(vertex_count(g) for g, _ in raw)
    for (a, _), (b, _) in zip(raw, reg):
        assert b.IsValid() and hausdorff(a, b) <= 2.0 + 1e-6
    change = [abs(b.GetArea() - a.GetArea()) / a.GetArea() for (a, _), (b, _) in zip(raw, reg)]
    assert np.median(change) < 0.1


def test_stair_stepped_rotated_rectangle_becomes_a_rectangle():
    """A 30 x 14 m rectangle rotated 30 degrees and traced on a 1 m grid comes back as 4 right angles."""
    from rasterio.features import rasterize, shapes
    from rasterio.transform import from_origin

    from buildseg.engine.postprocess.regularize import RegularizeParams, regularize

    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    corners = np.array([[-15, -7], [15, -7], [15, 7], [-15, 7]]) @ np.array([[c, s], [-s, c]]) + [50, -50]
    rect = {"type": "Polygon", "coordinates": [corners.tolist() + [corners[0].tolist()]]}
    tr = from_origin(0, 0, 1, 1)
    mask = rasterize([(rect, 1)], out_shape=(100, 100), transform=tr)
    traced = [g for g, v in shapes(mask, mask=mask == 1, transform=tr)][0]
    geom = ogr.CreateGeometryFromJson(json.dumps(traced))
    out = regularize(geom, RegularizeParams(tolerance=1.0))
    pts = np.array(out.GetGeometryRef(0).GetPoints())[:-1, :2]
    assert len(pts) == 4
    edges = np.roll(pts, -1, 0) - pts
    cosines = [abs(np.dot(a, b)) / np.linalg.norm(a) / np.linalg.norm(b) for a, b in zip(edges, np.roll(edges, -1, 0))]
    assert max(cosines) < 1e-6
    angle = np.degrees(np.arctan2(edges[0, 1], edges[0, 0])) % 90
    assert min(abs(angle - 30), abs(angle - 60)) < 3
    assert out.GetArea() == pytest.approx(30 * 14, rel=0.1)


def test_geographic_layer_is_regularized_in_metres(run_alg, tmp_path):
    """Austin's real outlines in EPSG:4326: the default tolerance (1 m) is converted to degrees, so the area
    is kept as it is for the same outlines in metres (a tolerance of one degree would erase them)."""
    from osgeo import gdal

    from conftest import DATA

    src = str(DATA / "cities" / "austin" / "buildings.gpkg")
    gdal.VectorTranslate(str(tmp_path / "wgs84.gpkg"), src, dstSRS="EPSG:4326")
    gdal.VectorTranslate(str(tmp_path / "utm.gpkg"), src, dstSRS="EPSG:32614")
    areas = {}
    for name in ("wgs84", "utm"):
        res = run_alg("buildseg:regularizefootprints", {"INPUT": str(tmp_path / f"{name}.gpkg"),
                                                        "OUTPUT": str(tmp_path / f"{name}-reg.gpkg")})
        ds = ogr.Open(res["OUTPUT"])
        lyr = ds.GetLayer(0)
        lyr_area = 0.0
        from osgeo import osr

        utm = osr.SpatialReference()
        utm.ImportFromEPSG(32614)
        utm.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        for f in lyr:
            g = f.GetGeometryRef().Clone()
            srs = lyr.GetSpatialRef()
            srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
            g.Transform(osr.CoordinateTransformation(srs, utm))
            lyr_area += g.GetArea()
        areas[name] = lyr_area
    assert areas["utm"] > 10000  # m² of real buildings
    assert areas["wgs84"] == pytest.approx(areas["utm"], rel=0.03)


@pytest.mark.parametrize("lat, units", [(0.0, 1.0), (60.0, 2.0)])
def test_regularize_tolerance_in_web_mercator_follows_latitude(lat, units):
    """One metre is 1 Web Mercator unit at the equator and 2 at 60° N: the tolerance in metres is converted
    where the layer lies (before: 1 unit everywhere, half a metre at 60° N)."""
    import math

    from qgis.core import QgsCoordinateReferenceSystem, QgsProcessingContext, QgsProcessingFeedback, QgsRectangle

    from buildseg.processing_provider.regularize_footprints import _metres_to_map_units

    y = 6378137.0 * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    extent = QgsRectangle(1000, y - 500, 2000, y + 500)
    factor = _metres_to_map_units(QgsCoordinateReferenceSystem("EPSG:3857"), extent, QgsProcessingContext(),
                                  QgsProcessingFeedback())
    assert factor == pytest.approx(units, rel=0.01)


@pytest.mark.parametrize("strip", [64, 13])  # the pair in one strip, and cut across strips
def test_each_part_of_a_split_building_gets_its_own_confidence(tmp_path, strip):
    """Two houses touching through a narrow waist are separated; each footprint's confidence is the mean
    probability of its own pixels, not of the pair (the pair's mean sat between them)."""
    from osgeo import ogr

    from buildseg.engine.extract.inference import ExtractParams
    from buildseg.engine.models.modelfile import DEFAULT_CLASSES, ModelInfo
    from buildseg.engine.postprocess.vectorize import StripPolygonizer

    mask = np.zeros((64, 80), bool)
    mask[10:40, 5:35] = mask[10:40, 45:75] = True
    mask[23:27, 35:45] = True  # a 4 px waist between two 30 px houses
    prob = np.where(mask, 0.6, 0.1).astype(np.float32)
    prob[:, 40:] = np.where(mask[:, 40:], 0.95, 0.1)
    info = ModelInfo(architecture="unet", in_channels=3, classes=[dict(c) for c in DEFAULT_CLASSES])
    out = str(tmp_path / f"pair{strip}.gpkg")
    poly = StripPolygonizer(out, _utm_wkt(), (500000.0, 0.5, 0, 4000000.0, 0, -0.5), 64, info,
                            ExtractParams(min_area=1.0))
    for r in range(0, 64, strip):
        poly.add(mask[r:r + strip], prob[r:r + strip])
    assert poly.close()[0] == 2
    ds = ogr.Open(out)
    conf = sorted(round(f["confidence"], 2) for f in ds.GetLayer(0))
    assert conf[0] == pytest.approx(0.6, abs=0.02) and conf[1] == pytest.approx(0.95, abs=0.02), conf


def _utm_wkt() -> str:
    from osgeo import osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32632)
    return srs.ExportToWkt()


def test_distance_transform_equals_scipys(monkeypatch):
    """The blob distance transform separation uses (OpenCV's, squared and rooted again) is scipy's, value for
    value, on 400 blobs up to 400 px across; past EXACT_CV_DISTANCE it is scipy's own."""
    import cv2
    from scipy import ndimage

    from buildseg.engine.postprocess import separate

    rng = np.random.default_rng(11)
    for trial in range(400):
        h_, w_ = rng.integers(5, 400, 2)
        img = np.zeros((h_ + 2, w_ + 2), np.uint8)
        for _ in range(rng.integers(1, 6)):
            y, x, a, b = rng.integers(1, h_), rng.integers(1, w_), *rng.integers(2, 120, 2)
            cv2.ellipse(img, (int(x), int(y)), (int(a), int(b)), float(rng.integers(0, 180)), 0, 360, 1, -1)
        img[0], img[-1], img[:, 0], img[:, -1] = 0, 0, 0, 0
        monkeypatch.setattr(separate, "EXACT_CV_DISTANCE", 5.0 if trial % 4 == 0 else 1000.0)
        assert np.array_equal(separate.edt(img), ndimage.distance_transform_edt(img)), trial


def test_h_maxima_markers_equal_scikit_images(monkeypatch):
    """The faster markers of touching buildings are scikit-image's h-maxima markers, value for value, on 1,500
    blobs of rectangles, rotated ellipses and ragged edges at four heights (None where those hold one marker at
    most); blobs of both kinds, large ones, and blobs handed to h_maxima (too many plateau heights) are met."""
    import cv2
    from scipy import ndimage
    from skimage.measure import label
    from skimage.morphology import h_maxima

    from buildseg.engine.postprocess import separate

    rng = np.random.default_rng(7)
    one = several = large = 0
    for trial in range(1500):
        h_, w_ = rng.integers(8, 110, 2)
        img = np.zeros((h_ + 2, w_ + 2), np.uint8)
        for _ in range(rng.integers(1, 5)):
            y, x, a, b = rng.integers(1, h_), rng.integers(1, w_), *rng.integers(2, 30, 2)
            if rng.random() < 0.5:
                img[y:y + a, x:x + b] = 1
            else:
                cv2.ellipse(img, (int(x), int(y)), (int(a), int(b)), float(rng.integers(0, 180)), 0, 360, 1, -1)
        if rng.random() < 0.5:
            img |= (rng.random(img.shape) < 0.03).astype(np.uint8)
        img[0], img[-1], img[:, 0], img[:, -1] = 0, 0, 0, 0
        n, labels = cv2.connectedComponents(img, connectivity=4)
        if n < 2:
            continue
        blob = labels == 1
        dist = ndimage.distance_transform_edt(blob)
        h = (2.0, 1.5, 3.0, 1.0)[trial % 4]
        expected = label(h_maxima(dist, h) & blob)
        monkeypatch.setattr(separate, "MAX_LEVELS", 1 if trial % 5 == 0 else 48)  # every fifth: h_maxima's path
        markers = separate.h_maxima_markers(dist, h, blob)
        if markers is None:
            one += 1
            assert expected.max() <= 1, (trial, h)
        else:
            several += 1
            large += dist.size > 6000
            assert np.array_equal(markers, expected), (trial, h)
    assert one > 300 and several > 50 and large > 5
