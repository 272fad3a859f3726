"""Evaluate building extraction on real reference polygons."""

import csv
import json

import pytest
from osgeo import ogr

from conftest import DATA, crop, dubai, dubai_labels, qgis_process, recorder

REF = dubai_labels("tile8_part3")


def _metrics(path):
    return {r["metric"]: float(r["value"]) for r in csv.DictReader(open(path))}


def _statuses(path):
    ds = ogr.Open(path)  # keep the datasource alive while its layer is read
    return [f["status"] for f in ds.GetLayer(0)]


def _subset(tmp_path, keep):
    """A copy of the reference layer with only the features whose index is in `keep`."""
    src = ogr.Open(REF)
    layer = src.GetLayer(0)
    out_path = str(tmp_path / "subset.gpkg")
    out = ogr.GetDriverByName("GPKG").CreateDataSource(out_path)
    lyr = out.CreateLayer("buildings", srs=layer.GetSpatialRef(), geom_type=ogr.wkbMultiPolygon)
    n = 0
    for i, f in enumerate(layer):
        if i in keep:
            g = ogr.Feature(lyr.GetLayerDefn())
            g.SetGeometry(f.GetGeometryRef().Clone())
            lyr.CreateFeature(g)
            n += 1
    out = None  # noqa: F841
    return out_path, n


def test_reference_against_itself_is_perfect(run_alg, tmp_path):
    res = run_alg("buildseg:evaluate", {"PREDICTED_POLYGONS": REF, "LABELS": REF, "PIXEL_SIZE": 1.0,
                                        "OUTPUT_REPORT": str(tmp_path / "m.csv"), "OUTPUT": str(tmp_path / "e.gpkg")})
    m = _metrics(res["OUTPUT_REPORT"])
    for key in ("pixel_iou", "pixel_f1", "pixel_precision", "pixel_recall", "object_f1", "object_precision",
                "object_recall"):
        assert m[key] == pytest.approx(1.0), key
    assert m["object_fp"] == m["object_fn"] == 0 and m["count_error"] == 0
    assert set(_statuses(res["OUTPUT"])) == {"TP"}


def test_dropping_buildings_gives_the_hand_computed_scores(run_alg, tmp_path):
    ref_ds = ogr.Open(REF)
    n_ref = ref_ds.GetLayer(0).GetFeatureCount()
    keep = set(range(0, n_ref, 3))  # every third building predicted, exactly
    pred, n_pred = _subset(tmp_path, keep)
    res = run_alg("buildseg:evaluate", {"PREDICTED_POLYGONS": pred, "LABELS": REF, "PIXEL_SIZE": 1.0,
                                        "OUTPUT_REPORT": str(tmp_path / "m.csv"), "OUTPUT": str(tmp_path / "e.gpkg")})
    m = _metrics(res["OUTPUT_REPORT"])
    tp, fn = n_pred, n_ref - n_pred
    assert (m["object_tp"], m["object_fn"], m["object_fp"]) == (tp, fn, 0)
    assert m["object_f1"] == pytest.approx(2 * tp / (2 * tp + fn), abs=1e-6)
    assert m["object_precision"] == pytest.approx(1.0) and m["pixel_precision"] == pytest.approx(1.0)
    assert m["count_error"] == pytest.approx((n_pred - n_ref) / n_ref)
    statuses = _statuses(res["OUTPUT"])
    assert statuses.count("TP") == tp and statuses.count("FN") == fn


def test_mask_through_qgis_process_with_html_table(tmp_path, tiny_model):
    from buildseg.engine.extract.inference import ExtractParams, extract

    scene = crop(dubai("tile8_part3"), str(tmp_path / "s.tif"), 0, 0, 500, 400)
    extract(scene, tiny_model, out_mask=str(tmp_path / "mask.tif"), params=ExtractParams(tile_size=128))
    out = qgis_process("run", "buildseg:evaluate", "--json", "--", f"INPUT={tmp_path / 'mask.tif'}",
                       f"LABELS={REF}", "PER_TILE=true", f"OUTPUT_REPORT={tmp_path / 'm.html'}",
                       f"OUTPUT={tmp_path / 'e.gpkg'}")
    assert out.returncode == 0, out.stdout + out.stderr
    results = json.loads(out.stdout)["results"]
    assert 0 <= results["PIXEL_IOU"] <= 1 and results["PIXELS_EVALUATED"] == 500 * 400
    assert "pixel_iou_per_tile_mean" in (tmp_path / "m.html").read_text()


# a 92 x 169 m clip of a Massachusetts tile whose reference layer holds the whole tile's buildings
MASS_IMAGE = str(DATA / "fixtures" / "gdl-massachusetts" / "22978945_15_uint8_clipped.tif")
MASS_REF = str(DATA / "fixtures" / "gdl-massachusetts" / "22978945_15.gpkg")


def _exact_mask_and_extent(tmp_path):
    """The reference rasterized on the clip's grid (an exact prediction of the clip) and the clip's extent."""
    import rasterio

    from buildseg.engine.evaluation.evaluate import polygons_from_file, raster_extent, reference_from_polygons

    with rasterio.open(MASS_IMAGE) as src:
        mask = reference_from_polygons(polygons_from_file(MASS_REF, src.crs.to_wkt()), like=src)
        profile = dict(driver="GTiff", width=src.width, height=src.height, count=1, dtype="uint8", crs=src.crs,
                       transform=src.transform, nodata=255)
        srs = src.crs.to_wkt()
    with rasterio.open(tmp_path / "mask.tif", "w", **profile) as dst:
        dst.write(mask, 1)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(tmp_path / "extent.gpkg"))
    from osgeo import osr

    layer = ds.CreateLayer("extent", osr.SpatialReference(wkt=srs), ogr.wkbPolygon)
    f = ogr.Feature(layer.GetLayerDefn())
    f.SetGeometry(ogr.CreateGeometryFromJson(json.dumps(raster_extent(MASS_IMAGE))))
    layer.CreateFeature(f)
    ds = None  # noqa: F841 - closes the file
    return str(tmp_path / "mask.tif"), str(tmp_path / "extent.gpkg")


def test_a_reference_layer_larger_than_the_image_counts_only_the_buildings_on_it(run_alg, tmp_path):
    """A city-wide reference (OSM, a national layer) against the extraction of one image: the buildings beyond
    the image are not missed buildings, and a building cut by the image's edge is judged by its part on it."""
    mask, _ = _exact_mask_and_extent(tmp_path)
    ds = ogr.Open(MASS_REF)  # keep the datasource alive while its layer is read
    n_layer = ds.GetLayer(0).GetFeatureCount()
    res = run_alg("buildseg:evaluate", {"INPUT": mask, "LABELS": MASS_REF, "OUTPUT_REPORT": str(tmp_path / "m.csv"),
                                        "OUTPUT": str(tmp_path / "e.gpkg")})
    assert 0 < res["COUNT_REFERENCE"] < n_layer / 10  # the layer holds far more than the clip
    assert res["PIXEL_IOU"] == pytest.approx(1.0)
    assert res["OBJECT_FN"] == 0 and res["OBJECT_RECALL"] == pytest.approx(1.0)
    assert _statuses(res["OUTPUT"]).count("FN") == 0


def test_ground_outside_an_extraction_area_does_not_count(run_alg, tmp_path):
    """Extraction with an area of interest writes nodata outside it: the reference's buildings there are not
    missed, and one cut by the area's edge is judged by its part inside."""
    import numpy as np
    import rasterio

    mask, _ = _exact_mask_and_extent(tmp_path)
    clip = run_alg("buildseg:evaluate", {"INPUT": mask, "LABELS": MASS_REF, "OUTPUT_REPORT": str(tmp_path / "a.csv")})
    with rasterio.open(mask, "r+") as ds:
        values = ds.read(1)
        values[:, : ds.width // 2] = 255  # the west half was not extracted
        ds.write(values, 1)
    east = run_alg("buildseg:evaluate", {"INPUT": mask, "LABELS": MASS_REF, "OUTPUT_REPORT": str(tmp_path / "b.csv")})
    assert 0 < east["COUNT_REFERENCE"] < clip["COUNT_REFERENCE"]  # only the buildings on the east half count
    assert east["OBJECT_FN"] == 0 and east["OBJECT_RECALL"] == pytest.approx(1.0)
    assert np.isclose(east["PIXEL_IOU"], 1.0)


def test_polygons_against_a_larger_reference_warn_unless_the_area_is_given(run_alg, tmp_path):
    mask, extent = _exact_mask_and_extent(tmp_path)
    run_alg("native:pixelstopolygons", {"INPUT_RASTER": mask, "RASTER_BAND": 1, "FIELD_NAME": "v",
                                       "OUTPUT": str(tmp_path / "cells.gpkg")})
    run_alg("native:extractbyexpression", {"INPUT": str(tmp_path / "cells.gpkg"), "EXPRESSION": '"v" = 1',
                                          "OUTPUT": str(tmp_path / "on.gpkg")})
    run_alg("native:dissolve", {"INPUT": str(tmp_path / "on.gpkg"), "OUTPUT": str(tmp_path / "d.gpkg")})
    run_alg("native:multiparttosingleparts", {"INPUT": str(tmp_path / "d.gpkg"), "OUTPUT": str(tmp_path / "p.gpkg")})
    common = {"PREDICTED_POLYGONS": str(tmp_path / "p.gpkg"), "LABELS": MASS_REF, "PIXEL_SIZE": 1.0}
    feedback = recorder()
    whole = run_alg("buildseg:evaluate", {**common, "OUTPUT_REPORT": str(tmp_path / "a.csv")}, feedback)
    assert any("lie beyond the predicted buildings' extent" in w for w in feedback.warnings), feedback.warnings
    assert whole["OBJECT_RECALL"] < 0.1  # the whole tile counts, as the warning says
    on_image = run_alg("buildseg:evaluate", {**common, "AOI": extent, "OUTPUT_REPORT": str(tmp_path / "b.csv")})
    assert on_image["OBJECT_RECALL"] == pytest.approx(1.0) and on_image["PIXEL_IOU"] > 0.9  # on a 1 m grid of its own


def test_unlabelled_pixels_cut_buildings_the_same_whatever_the_blocks(monkeypatch):
    """Against a class raster whose unlabelled pixels do not count (Dubai: class 0), buildings are cut to the
    counted area piece by piece, block by block (a whole-area GEOS predicate took 8 minutes on this scene);
    the blocks change nothing: the metrics are those of the area traced in one piece."""
    from buildseg.engine.evaluation import evaluate as ev
    from buildseg.engine.evaluation.evaluate import EvalParams, evaluate, polygons_from_file

    classes = dubai("tile8_part3")[:-4] + "_classes.tif"
    import rasterio

    with rasterio.open(classes) as src:
        crs = src.crs.to_wkt()
        unlabelled = (src.read(1) == 0).mean()
    assert 0.05 < unlabelled < 0.95  # a real mix of counted and unlabelled ground
    # every sixth reference building grown by 3 m as a prediction: many reach into unlabelled ground and are cut
    pred = [json.loads(ogr.CreateGeometryFromJson(json.dumps(g)).Buffer(3).ExportToJson())
            for g, _ in polygons_from_file(REF, crs)][::6]
    runs = {}
    for chunk in (10**6, 64):
        monkeypatch.setattr(ev, "COUNTED_CHUNK", chunk)
        runs[chunk] = evaluate(pred_shapes=pred, ref_raster=classes, params=EvalParams(ref_ignore=(0,)))
    whole, blocks = runs[10**6], runs[64]
    assert whole["count_predicted"] > 20 and 5 < whole["object_tp"] < whole["count_predicted"]
    for key in ("count_predicted", "count_reference", "object_tp", "object_fp", "object_fn", "pixels_evaluated"):
        assert blocks[key] == whole[key], key
    assert blocks["pixel_iou"] == whole["pixel_iou"] and blocks["object_f1"] == pytest.approx(whole["object_f1"])
