"""Incomplete labels (OpenStreetMap misses sheds and new houses): with the option, unlabelled pixels where the
model sees a building are ignored instead of taught as background. Real Nairobi imagery and outlines, a
third of the outlines removed."""

import rasterio
from rasterio.features import rasterize

from conftest import DATA, DEFAULT_MODEL, crop, recorder


def test_missing_buildings_are_not_taught_as_background(tmp_path):
    from buildseg.engine.evaluate import polygons_from_file
    from buildseg.engine.inference import ExtractParams, extract
    from buildseg.engine.labels import IGNORE, IncompleteLabels, PolygonLabels

    image = crop(str(DATA / "cities" / "nairobi" / "image.tif"), str(tmp_path / "n.tif"), 3584, 0, 1024, 1024)
    with rasterio.open(image) as src:
        crs, transform, shape = src.crs.to_wkt(), src.transform, (src.height, src.width)
    shapes = [(g, 1) for g, _ in polygons_from_file(str(DATA / "cities" / "nairobi" / "buildings.gpkg"), crs)]
    kept, removed = [s for i, s in enumerate(shapes) if i % 3], [s for i, s in enumerate(shapes) if not i % 3]
    extract(image, DEFAULT_MODEL, out_probability=str(tmp_path / "p.tif"), params=ExtractParams(separate=False))
    plain = PolygonLabels(kept).read(transform, 0, 0, *shape)
    labels = IncompleteLabels(PolygonLabels(kept), str(tmp_path / "p.tif")).read(transform, 0, 0, *shape)
    missing = rasterize(removed, out_shape=shape, transform=transform, fill=0) == 1
    anywhere = rasterize(shapes, out_shape=shape, transform=transform, fill=0) == 1
    assert missing.sum() > 2000 and (plain[missing] == 0).all()  # without the option: taught as background
    assert (labels[missing] == IGNORE).mean() > 0.6  # with it: mostly left out of the loss
    assert (labels[~anywhere] == IGNORE).mean() < 0.1  # true background stays background
    assert ((labels == 1) == (plain == 1)).all()  # the labelled buildings are untouched


def test_training_option_runs_the_model_first(run_alg, tmp_path):
    image = crop(str(DATA / "cities" / "nairobi" / "image.tif"), str(tmp_path / "n.tif"), 3584, 0, 512, 512)
    feedback = recorder()
    res = run_alg("buildseg:trainmodel", {
        "INPUT": [image], "LABELS": str(DATA / "cities" / "nairobi" / "buildings.gpkg"), "INCOMPLETE_LABELS": True,
        "ALIGN_LABELS": False, "ARCHITECTURE": 2, "FROM_SCRATCH": True, "TILE_SIZE": 64, "EPOCHS": 1,
        "TILES_PER_EPOCH": 4, "BATCH_SIZE": 2, "VAL_FRACTION": 0, "OUTPUT_MODEL": str(tmp_path / "m.safetensors")},
        feedback=feedback)
    assert any("Labels are incomplete" in line for line in feedback.lines)
    assert (tmp_path / "m.safetensors").exists() and res["OUTPUT_MODEL"] == str(tmp_path / "m.safetensors")
