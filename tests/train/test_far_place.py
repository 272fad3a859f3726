"""Learning an unfamiliar place: a fine-tune on imagery coarser than the model trains at the imagery's own
resolution and improves on its start; adaptation without labels changes only the normalisation statistics."""

import json

import numpy as np
import pytest

from conftest import DATA, DEFAULT_MODEL, recorder

AUSTIN = DATA / "cities" / "austin"
DUBAI = DATA / "dubai" / "scenes"


def dubai_far(tmp_path) -> tuple:
    """1024 px of Dubai Tile 8 (satellite, nominal 1 m, block outlines; never seen by the default model): (image,
    crs, train bounds, test bounds, outlines)."""
    from conftest import crop

    image = crop(str(DUBAI / "tile8_part1.tif"), str(tmp_path / "dubai.tif"), 0, 0, 1024, 1024)
    with rasterio_open(image) as src:
        crs, b = src.crs, src.bounds
    mid = (b.left + b.right) / 2
    return image, crs, (b.left, b.bottom, mid, b.top), (mid, b.bottom, b.right, b.top), \
        str(DUBAI / "tile8_part1_buildings.gpkg")


def rasterio_open(path):
    import rasterio

    return rasterio.open(path)


def box(bounds) -> dict:
    x0, y0, x1, y1 = bounds
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def area_layer(path, crs, bounds) -> str:
    from osgeo import ogr, osr

    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    lyr = ds.CreateLayer("area", osr.SpatialReference(wkt=crs.to_wkt()), ogr.wkbPolygon)
    f = ogr.Feature(lyr.GetLayerDefn())
    f.SetGeometry(ogr.CreateGeometryFromJson(json.dumps(box(bounds))))
    lyr.CreateFeature(f)
    ds = None
    return path


def building_iou(model, image, test_bounds, outlines, tmp_path, name) -> float:
    from buildseg.engine.evaluation.evaluate import EvalParams, evaluate, polygons_from_file
    from buildseg.engine.extract.inference import ExtractParams, extract

    aoi = [box(test_bounds)]
    mask, polygons = str(tmp_path / f"{name}.tif"), str(tmp_path / f"{name}.gpkg")
    extract(image, model, out_mask=mask, out_polygons=polygons, params=ExtractParams(aoi=aoi))
    with rasterio_open(mask) as m:
        crs, pixel = m.crs.to_wkt(), abs(m.transform.a)
    ref = [g for g, _ in polygons_from_file(outlines, crs)]
    pred = [g for g, _ in polygons_from_file(polygons, crs)]
    return evaluate(pred_shapes=pred, ref_shapes=ref, aoi=aoi, crs_wkt=crs, params=EvalParams(pixel_size=pixel))[
        "pixel_iou"]


def test_fine_tune_on_coarse_unseen_imagery_trains_at_its_resolution_and_beats_its_start(run_alg, tmp_path):
    from buildseg.engine.models import modelfile

    image, crs, train, test, outlines = dubai_far(tmp_path)
    out = str(tmp_path / "far.safetensors")
    feedback = recorder()
    res = run_alg("buildseg:trainmodel", {
        "INPUT": [image], "LABELS": outlines, "LABELLED_AREA": area_layer(str(tmp_path / "train.gpkg"), crs, train),
        "EPOCHS": 4, "TILES_PER_EPOCH": 64, "RESUME": False, "SEED": 0, "OUTPUT_MODEL": out}, feedback)
    log = "\n".join(feedback.lines)
    assert "the fine-tune trains at 1 m" in log, log
    assert res["BEST_EPOCH"] >= 1, log  # the fine-tune beat its start on validation
    info = modelfile.read_info(out)
    assert info.resolution == pytest.approx(1.0, abs=1e-3)  # extraction runs it on 1 m imagery as it is
    start = building_iou(DEFAULT_MODEL, image, test, outlines, tmp_path, "start")
    tuned = building_iou(out, image, test, outlines, tmp_path, "tuned")
    assert tuned > start + 0.05, (start, tuned, log)  # on the half it never saw


def test_adaptation_changes_only_normalisation_statistics_and_is_reproducible():
    import rasterio
    import torch

    from buildseg.engine.extract.adapt import adapt_normalisation, batch_norms
    from buildseg.engine.models import modelfile

    model, info = modelfile.load(DEFAULT_MODEL)
    mean = np.asarray(info.mean, np.float32)[:, None, None]
    std = np.asarray(info.std, np.float32)[:, None, None]
    with rasterio.open(AUSTIN / "image.tif") as src:
        tiles = [((src.read([1, 2, 3], window=((r, r + 256), (c, c + 256))).astype(np.float32) - mean) / std)[None]
                 for r in (0, 360, 720) for c in (0, 360, 720)]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    adapted = []
    for _ in range(2):
        m, _ = modelfile.load(DEFAULT_MODEL)
        assert adapt_normalisation(m, tiles, batch=4) == len(batch_norms(m)) > 0
        adapted.append(m.state_dict())
    stats = {k for k in before if k.endswith(("running_mean", "running_var"))}
    changed = {k for k in before if not torch.equal(before[k], adapted[0][k]) and k not in stats}
    assert changed <= {k for k in before if k.endswith("num_batches_tracked")}, changed  # weights untouched
    assert sum(not torch.equal(before[k], adapted[0][k]) for k in stats) > len(stats) // 2
    assert all(torch.equal(adapted[0][k], adapted[1][k]) for k in before)  # reproducible


def test_extraction_with_adaptation_is_reproducible_and_differs_only_through_the_statistics(tmp_path):
    import rasterio

    from buildseg.engine.extract.inference import ExtractParams, extract

    from conftest import crop

    scene = crop(str(AUSTIN / "image.tif"), str(tmp_path / "crop.tif"), 0, 0, 512, 512)
    probs = {}
    for name, adapt in (("plain", False), ("a1", True), ("a2", True)):
        path = str(tmp_path / f"{name}.tif")
        extract(scene, DEFAULT_MODEL, out_probability=path, params=ExtractParams(adapt=adapt))
        with rasterio.open(path) as p:
            probs[name] = p.read(1)
    assert np.array_equal(probs["a1"], probs["a2"])
    assert not np.array_equal(probs["plain"], probs["a1"])
    assert np.corrcoef(probs["plain"].ravel(), probs["a1"].ravel())[0, 1] > 0.5  # the same model, restated


@pytest.mark.parametrize("pixel, native, expected", [(1.0, True, 1.0), (0.8, True, 0.8), (0.6, True, None),
                                                     (1.0, False, None), (0.3, True, None)])
def test_training_resolution_is_the_imagery_s_when_much_coarser_than_the_model(tmp_path, pixel, native, expected):
    """A fine-tune of the 0.3 m default trains at the imagery's own resolution from 2.5x coarser (0.6 m and 0.3 m
    imagery are read at the model's), unless switched off."""
    import rasterio
    from rasterio.transform import from_origin

    from buildseg.engine.core.progress import Progress
    from buildseg.engine.models import modelfile
    from buildseg.engine.train.dataset import Scene
    from buildseg.engine.train.loop import TrainParams, _training_resolution

    path = str(tmp_path / "scene.tif")
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8", crs="EPSG:32632",
                       transform=from_origin(500000, 4000000, pixel, pixel)) as dst:
        dst.write(np.zeros((3, 64, 64), np.uint8))
    scene = Scene(path, None).open()
    params = TrainParams(init_model=DEFAULT_MODEL, native_resolution=native)
    got = _training_resolution(params, modelfile.read_info(DEFAULT_MODEL), [scene], Progress())
    assert got == (pytest.approx(expected) if expected else None)


def test_a_budgeted_run_that_stopped_improving_early_says_why():
    from types import SimpleNamespace

    from buildseg.engine.core.progress import Progress
    from buildseg.engine.train.budget import TimeBudget
    from buildseg.engine.train.loop import _explain_learning

    class Log(Progress):
        def __init__(self):
            self.lines = []

        def info(self, message):
            self.lines.append(message)

    def run(peak, budget=30.0, scores=None):
        log = Log()
        history = [{"seconds": 120.0 * (e + 1), "val_score": (scores or [None] * 12)[e]} for e in range(12)]
        _explain_learning(SimpleNamespace(budget=TimeBudget(budget), progress=log, peak={"epoch": peak},
                                          history=history))
        return log.lines

    assert any("peaked at epoch 3 of 12 (after 6 min)" in line for line in run(3))
    assert run(10) == [] and run(3, budget=0) == []  # still improving late; epoch runs say nothing
    # Austin's 30-minute run: best late, yet its last third no better than its 4th epoch: a plateau, explained
    austin = [0.71, 0.71, 0.73, 0.75, 0.74, 0.73, 0.74, 0.74, 0.74, 0.75, 0.74, 0.74]
    assert any("last third validated 0.742 against 0.750 at epoch 4" in line for line in run(10, scores=austin))
    rising = [0.5 + 0.01 * e for e in range(12)]
    assert run(12, scores=rising) == []
