"""Incomplete labels (OpenStreetMap misses sheds and new houses): with the option, unlabelled pixels where the
model sees a building are ignored instead of taught as background (real Nairobi imagery and outlines, a
third of the outlines removed); stale outlines (over bare ground) are found and set aside; the labelled area is
estimated when none is given."""

import numpy as np
import pytest
import rasterio
from rasterio.features import rasterize

from conftest import DATA, DEFAULT_MODEL, crop, recorder


def test_missing_buildings_are_not_taught_as_background(tmp_path):
    from buildseg.engine.evaluation.evaluate import polygons_from_file
    from buildseg.engine.extract.inference import ExtractParams, extract
    from buildseg.engine.io.labels import IGNORE, IncompleteLabels, PolygonLabels

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
    from buildseg.engine.train.dataset import Scene, read_sample

    scene = Scene(image, IncompleteLabels(PolygonLabels(kept), str(tmp_path / "p.tif"))).open()
    _, train = read_sample(scene, [1, 2, 3], 0, 0, shape[0])
    _, val = read_sample(scene, [1, 2, 3], 0, 0, shape[0], validation=True)
    assert (train == labels).all()  # training ignores what the model sees and the labels miss
    assert (val == plain).all()  # validation scores on the labels as given: the start model is not spared


def _place(place, tmp_path):
    """(image, CRS, transform, shape, building shapes, labelled area mask, model probability raster)."""
    from buildseg.engine.evaluation.evaluate import polygons_from_file
    from buildseg.engine.extract.inference import ExtractParams, extract

    image = str(DATA / "cities" / place / "image.tif")
    with rasterio.open(image) as src:
        crs, transform, shape = src.crs.to_wkt(), src.transform, (src.height, src.width)
    shapes = [(g, 1) for g, _ in polygons_from_file(str(DATA / "cities" / place / "buildings.gpkg"), crs)]
    area = [(g, 1) for g, _ in polygons_from_file(str(DATA / "cities" / place / "labelled_area.gpkg"), crs)]
    inside = rasterize(area, out_shape=shape, transform=transform, fill=0) == 1
    prob = str(tmp_path / f"{place}.tif")
    extract(image, DEFAULT_MODEL, out_probability=prob, params=ExtractParams(separate=False))
    return image, crs, transform, shape, shapes, inside, prob


def _ground_squares(inside, shapes, transform, shape, count, seed=0, side=6.0):
    """House-sized squares (`side` m) on labelled ground, their edges at least 6 m from any labelled building:
    stand-ins for demolished or misplaced outlines."""
    import cv2

    res = abs(transform.a)
    reach = int((6 + side / 2) / res)
    near = cv2.dilate((rasterize(shapes, out_shape=shape, transform=transform, fill=0) == 1).astype(np.uint8),
                      np.ones((2 * reach + 1,) * 2, np.uint8)) > 0
    ys, xs = np.nonzero(inside & ~near)
    out, h = [], side / 2
    for k in np.random.default_rng(seed).choice(len(ys), count, replace=False):
        x, y = transform * (xs[k] + 0.5, ys[k] + 0.5)
        out.append(({"type": "Polygon", "coordinates": [[[x - h, y + h], [x + h, y + h], [x + h, y - h],
                                                         [x - h, y - h], [x - h, y + h]]]}, 1))
    return out


@pytest.mark.parametrize("place", ["austin", "kampala"])
def test_stale_outlines_over_bare_ground_are_found(tmp_path, place):
    from buildseg.engine.train.label_review import stale_labels

    _, _, transform, shape, shapes, inside, prob = _place(place, tmp_path)
    fakes = _ground_squares(inside, shapes, transform, shape, 20)
    flagged = {s.index for s in stale_labels(shapes + fakes, prob)}
    assert sum(i >= len(shapes) for i in flagged) >= 0.7 * len(fakes)  # most stale outlines found
    assert sum(i < len(shapes) for i in flagged) <= 0.1 * len(shapes)  # few real buildings flagged
    sheds = _ground_squares(inside, shapes, transform, shape, 20, seed=1, side=4.0)
    assert not stale_labels(sheds, prob)  # 16 m2: too small to judge, never flagged


@pytest.mark.parametrize("place", ["austin", "kampala"])
def test_labelled_area_is_estimated_where_labels_are(tmp_path, place):
    """Only the west half of the labelled area is labelled: the estimate keeps to it and covers most of it."""
    from buildseg.engine.train.label_review import estimate_labelled_area

    _, _, transform, shape, shapes, inside, prob = _place(place, tmp_path)
    cols = np.nonzero(inside.any(axis=0))[0]
    mid = (cols.min() + cols.max()) // 2
    x_mid = (transform * (mid, 0))[0]
    west = [s for s in shapes if np.mean([c[0] for c in s[0]["coordinates"][0]]) < x_mid]
    truth = inside.copy()
    truth[:, mid:] = False
    est = estimate_labelled_area(west, prob)
    got = rasterize([(g, 1) for g in est], out_shape=shape, transform=transform, fill=0) == 1
    assert (got & truth).sum() >= 0.85 * got.sum()  # the estimate stays in the labelled half
    assert (got & truth).sum() >= 0.6 * truth.sum()  # and covers most of it
    from buildseg.engine.io.labels import IGNORE

    assert estimate_labelled_area([(g, IGNORE) for g, _ in west], prob) == []  # every outline stale: no area


def test_training_option_runs_the_model_first(run_alg, tmp_path):
    """With incomplete labels the model runs first: stale outlines go to their layer (and out of training), the
    labelled area is estimated, and the starting model's fit is recorded in the new model."""
    import json

    from osgeo import gdal, ogr

    image = crop(str(DATA / "cities" / "nairobi" / "image.tif"), str(tmp_path / "n.tif"), 3584, 0, 512, 512)
    labels = str(tmp_path / "labels.gpkg")
    with rasterio.open(image) as src:
        transform, shape, crs = src.transform, (src.height, src.width), src.crs.to_wkt()
    gdal.VectorTranslate(labels, str(DATA / "cities" / "nairobi" / "buildings.gpkg"), dstSRS=crs,
                         layerName="buildings")
    ds = ogr.Open(labels, 1)
    layer = ds.GetLayer(0)
    shapes = [(json.loads(f.GetGeometryRef().ExportToJson()), 1) for f in layer]
    from buildseg.engine.extract.inference import ExtractParams, extract  # outlines planted where the model sees ground

    extract(image, DEFAULT_MODEL, out_probability=str(tmp_path / "p.tif"), params=ExtractParams(separate=False))
    with rasterio.open(str(tmp_path / "p.tif")) as p:
        ground = p.read(1) < 0.02
    fakes = _ground_squares(ground, shapes, transform, shape, 2)
    for geom, _ in fakes:
        feat = ogr.Feature(layer.GetLayerDefn())
        feat.SetGeometry(ogr.CreateGeometryFromJson(json.dumps(geom)))
        layer.CreateFeature(feat)
    ds = layer = None
    feedback = recorder()
    res = run_alg("buildseg:trainmodel", {
        "INPUT": [image], "LABELS": labels, "INCOMPLETE_LABELS": True,
        "ALIGN_LABELS": False, "ARCHITECTURE": 2, "FROM_SCRATCH": True, "TILE_SIZE": 64, "EPOCHS": 1,
        "TILES_PER_EPOCH": 4, "BATCH_SIZE": 2, "VAL_FRACTION": 0, "OUTPUT_MODEL": str(tmp_path / "m.safetensors"),
        "OUTPUT_STALE_LABELS": str(tmp_path / "stale.gpkg")}, feedback=feedback)
    assert any("Labels are incomplete" in line for line in feedback.lines)
    assert any("labelled area estimated" in line for line in feedback.lines)
    assert (tmp_path / "m.safetensors").exists() and res["OUTPUT_MODEL"] == str(tmp_path / "m.safetensors")
    stale = ogr.Open(res["OUTPUT_STALE_LABELS"])
    found = [f.GetGeometryRef().Centroid() for f in stale.GetLayer(0)]
    for geom, _ in fakes:  # both planted outlines are reported, each with the model's view inside it
        c = ogr.CreateGeometryFromJson(json.dumps(geom)).Centroid()
        assert any(abs(c.GetX() - f.GetX()) < 0.5 and abs(c.GetY() - f.GetY()) < 0.5 for f in found)
    assert len(found) <= 2 + 0.1 * len(shapes)
    assert all(0 <= f["mean_prob"] < 0.2 and f["pixels"] > 0 for f in stale.GetLayer(0))
    from buildseg.engine.models.modelfile import read_info

    fit = read_info(str(tmp_path / "m.safetensors")).training["fit_check"]
    assert fit["fit_score"] == res["FIT_SCORE"] and fit["raster"] == "n.tif" and 0 <= fit["fit_score"] <= 1
