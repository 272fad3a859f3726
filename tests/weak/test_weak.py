"""Weak supervision on real Dubai imagery: pseudo-masks from points beat the raw CAM, and dense CRF sharpens a
blurred probability map."""

import json

import numpy as np
import pytest
import rasterio

from conftest import DATA, crop, dubai, dubai_labels


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """768 x 768 px of a Dubai image with built and empty areas, its reference mask and points on buildings."""
    d = tmp_path_factory.mktemp("weak")
    path = crop(dubai("tile7_part1"), str(d / "scene.tif"), 300, 300, 768, 768)
    from osgeo import ogr

    ds = ogr.Open(dubai_labels("tile7_part1"))
    layer = ds.GetLayer(0)
    shapes, points = [], []
    with rasterio.open(path) as src:
        bounds = src.bounds
        for f in layer:
            g = f.GetGeometryRef()
            p = g.PointOnSurface()
            shapes.append(json.loads(g.ExportToJson()))
            if bounds.left < p.GetX() < bounds.right and bounds.bottom < p.GetY() < bounds.top:
                points.append((p.GetX(), p.GetY()))
        from rasterio.features import rasterize

        reference = rasterize(shapes, out_shape=(src.height, src.width), transform=src.transform, dtype="uint8")
    pts = d / "points.gpkg"
    out = ogr.GetDriverByName("GPKG").CreateDataSource(str(pts))
    lyr = out.CreateLayer("points", srs=layer.GetSpatialRef(), geom_type=ogr.wkbPoint)
    for x, y in points:
        feat = ogr.Feature(lyr.GetLayerDefn())
        feat.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({x} {y})"))
        lyr.CreateFeature(feat)
    out = lyr = None
    return {"raster": path, "reference": reference, "points": points, "points_file": str(pts)}


def _iou(pred, ref) -> float:
    pred, ref = pred == 1, ref == 1
    return (pred & ref).sum() / max((pred | ref).sum(), 1)


def test_pseudo_masks_from_points_beat_the_raw_cam(scene, tmp_path):
    from buildseg.engine.weak.cam import CamParams
    from buildseg.engine.weak.pseudomasks import PseudoParams, generate
    from buildseg.engine.weak.tile_labels import WeakLabels

    params = PseudoParams(cam=CamParams(backbone="resnet18", tile_size=128, epochs=6, adv_steps=6), device="cpu")
    report = generate(scene["raster"], WeakLabels(points=scene["points"]), str(tmp_path / "pseudo.tif"),
                      str(tmp_path / "cam.tif"), params, keep_steps=True)
    ious = {k: _iou(m, scene["reference"]) for k, m in report["steps"].items()}
    print("IoU per step", ious)
    assert ious["crf"] > ious["cam"] + 0.02
    with rasterio.open(tmp_path / "pseudo.tif") as m, rasterio.open(scene["raster"]) as s:
        assert m.transform == s.transform and m.crs == s.crs and m.nodata == 255
        mask = m.read(1)
    assert set(np.unique(mask)) <= {0, 1, 255} and (mask == 1).any() and (mask == 0).any()
    ref = scene["reference"]
    print("precision of building", (ref[mask == 1] == 1).mean(), "of background", (ref[mask == 0] == 0).mean(),
          "shares", {v: (mask == v).mean() for v in (0, 1, 255)}, "ref share", ref.mean())
    # labelled building is far more often building than chance; labelled background is mostly background
    assert (ref[mask == 1] == 1).mean() > ref.mean() + 0.1 and (ref[mask == 0] == 0).mean() > 0.85


def test_crf_sharpens_a_blurred_probability_map(run_alg, tmp_path):
    """Las Vegas 0.3 m imagery with SpaceNet footprints (which follow the roofs): a blurred, too-wide probability
    map is pulled back to the roof edges. (Dubai's labels outline whole compounds, not roofs.)"""
    import cv2
    from osgeo import ogr
    from rasterio.features import rasterize

    folder = DATA / "fixtures" / "gdl-spacenet"
    raster = str(folder / "SpaceNet_AOI_2_Las_Vegas-056155973080_01_P001-WV03-RGB.tif")
    ds = ogr.Open(str(folder / "SpaceNet_AOI_2_Las_Vegas-056155973080_01_P001-WV03.gpkg"))
    shapes = [json.loads(f.GetGeometryRef().ExportToJson()) for f in ds.GetLayer(0)]
    with rasterio.open(raster) as src:
        ref = rasterize(shapes, out_shape=(src.height, src.width), transform=src.transform, dtype="uint8")
        profile = dict(src.profile, count=1, dtype="float32", nodata=-1)
    profile.pop("photometric", None)
    blurred = np.clip(cv2.GaussianBlur(ref.astype(np.float32), (0, 0), 5) * 0.75 + 0.3, 0, 1)
    prob = tmp_path / "blurred.tif"
    with rasterio.open(prob, "w", **profile) as dst:
        dst.write(blurred[None])
    res = run_alg("buildseg:refinecrf", {"INPUT": raster, "PROBABILITY": str(prob), "TILE_SIZE": 256,
                                         "OUTPUT_MASK": str(tmp_path / "refined.tif")})
    with rasterio.open(res["OUTPUT_MASK"]) as m:
        refined = m.read(1)
    before, after = _iou((blurred >= 0.5).astype(np.uint8), ref), _iou(refined, ref)
    print("blurred", before, "refined", after)
    assert after > before + 0.02


def test_pseudo_masks_algorithm_output_trains_a_model(run_alg, scene, tmp_path):
    res = run_alg("buildseg:pseudomasks", {
        "INPUT": scene["raster"], "LABELS": scene["points_file"], "TILE_SIZE": 128, "EPOCHS": 2,
        "ADV_STEPS": 2, "BACKBONE": 0, "OUTPUT": str(tmp_path / "pseudo.tif"), "OUTPUT_CAM": str(tmp_path / "c.tif"),
        "OUTPUT_REPORT": str(tmp_path / "report.json")})
    report = json.loads(open(res["OUTPUT_REPORT"]).read())
    assert report["tiles"]["positive"] > 0 and report["tiles"]["negative"] > 0
    with rasterio.open(res["OUTPUT_CAM"]) as c:
        assert 0 <= c.read(1).max() <= 1
    trained = run_alg("buildseg:trainfrommasks", {
        "INPUT": [scene["raster"]], "LABEL_RASTER": res["OUTPUT"], "ARCHITECTURE": 2, "TILE_SIZE": 128,
        "EPOCHS": 1, "TILES_PER_EPOCH": 8, "BATCH_SIZE": 4, "VAL_FRACTION": 0,
        "OUTPUT_MODEL": str(tmp_path / "m.safetensors")})
    from buildseg.engine.models.modelfile import read_info

    assert read_info(trained["OUTPUT_MODEL"]).training["epochs_run"] == 1
