"""Evaluate building extraction on real reference polygons."""

import csv
import json

import pytest
from osgeo import ogr

from conftest import crop, dubai, dubai_labels, qgis_process

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
