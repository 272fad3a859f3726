"""Train building model: from QGIS layers on real imagery, fine-tune, resume, cancel, bad input."""

import csv
import json
import os

import numpy as np
import pytest
import rasterio

from conftest import DATA, DUBAI, dubai, dubai_labels, polygon_labels, qgis_process, recorder

FAST = {"ALIGN_LABELS": False, "ARCHITECTURE": 0, "TILE_SIZE": 128, "TILES_PER_EPOCH": 32, "BATCH_SIZE": 8,
        "LEARNING_RATE": 0.003,
        "VAL_FRACTION": 0.25, "SEED": 3}


def _params(tmp_path, **extra):
    p = {"INPUT": [dubai("tile1_part1")], "LABELS": dubai_labels("tile1_part1"), "EPOCHS": 3,
         "OUTPUT_MODEL": str(tmp_path / "model.safetensors"), "OUTPUT_REPORT": str(tmp_path / "report.html"),
         "OUTPUT_METRICS": str(tmp_path / "metrics.csv"), **FAST}
    p.update(extra)
    return p


@pytest.fixture(autouse=True)
def small_unet(monkeypatch):
    """Keep the classic U-Net tiny in these tests (the registry default is the full 64-channel one)."""
    import dataclasses

    from buildseg.engine.models import registry

    small = dataclasses.replace(registry.ARCHITECTURES["unet"], defaults={"base": 8, "depth": 3})
    monkeypatch.setitem(registry.ARCHITECTURES, "unet", small)


def test_training_from_layers_learns_and_writes_outputs(run_alg, tmp_path):
    from buildseg.engine.models import modelfile

    res = run_alg("buildseg:trainmodel", _params(tmp_path))
    rows = list(csv.DictReader(open(res["OUTPUT_METRICS"])))
    losses = [float(r["loss"]) for r in rows]
    assert len(rows) == 3 and losses[-1] < losses[0]
    info = modelfile.read_info(res["OUTPUT_MODEL"])
    assert info.architecture == "unet" and info.bands == [1, 2, 3] and info.tile_size == 128
    assert info.resolution == pytest.approx(1.0) and len(info.mean) == 3 and info.std[0] > 1
    assert info.training["imagery_resolution_m"] == pytest.approx([1.0, 1.0])  # what MODEL=auto chooses by
    assert [c["name"] for c in info.classes] == ["background", "building"]
    assert info.training["epochs_run"] == 3 and "validation" in info.metrics
    assert 0 <= info.metrics["validation"]["iou"][1] <= 1
    model, _ = modelfile.load(res["OUTPUT_MODEL"])
    assert sum(p.numel() for p in model.parameters()) > 1000
    html = open(res["OUTPUT_REPORT"]).read()
    assert html.count("data:image/png;base64") == 2 and "Per-epoch metrics" in html
    assert not os.path.exists(res["OUTPUT_MODEL"] + ".ckpt")


def test_fine_tune_from_model_file(run_alg, tmp_path, tiny_model):
    from buildseg.engine.models import modelfile

    res = run_alg("buildseg:trainmodel", _params(tmp_path, MODEL=tiny_model, EPOCHS=1))
    info = modelfile.read_info(res["OUTPUT_MODEL"])
    base = modelfile.read_info(tiny_model)
    assert info.training["fine_tuned_from"] == os.path.basename(tiny_model)
    assert info.mean == base.mean and info.arch_params == base.arch_params


def test_labelled_area_makes_outside_ignored():
    from buildseg.engine.io.labels import IGNORE, PolygonLabels

    from conftest import polygon_labels

    labels = polygon_labels(dubai_labels("tile1_part1"))
    with rasterio.open(dubai("tile1_part1")) as src:
        tr = src.transform
    x0, y0 = tr * (0, 0)
    area = {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 200, y0], [x0 + 200, y0 - 300], [x0, y0 - 300],
                                                [x0, y0]]]}
    limited = PolygonLabels(labels.shapes, [area])
    full = labels.read(tr, 0, 0, 400, 400)
    part = limited.read(tr, 0, 0, 400, 400)
    assert (part[:300, :200] == full[:300, :200]).all()
    assert (part[:, 200:] == IGNORE).all() and (part[300:, :] == IGNORE).all()
    assert (full != IGNORE).all()


def test_colour_coded_masks_convert_to_class_ids():
    """The Dubai colour masks map to the same ids as the class rasters."""
    from PIL import Image

    from buildseg.engine.io.labels import IGNORE, colours_to_ids, parse_palette

    palette = parse_palette((DATA / "dubai" / "classes.json").read_text())
    rgb = np.asarray(Image.open(DATA / "dubai" / "tiles" / "masks" / "tile8_part2.png").convert("RGB"))
    ids = colours_to_ids(rgb.transpose(2, 0, 1), palette)
    with rasterio.open(DUBAI / "tile8_part2_classes.tif") as ref:
        expected = ref.read(1)
    labelled = expected != 0
    assert (ids[labelled] == expected[labelled]).mean() > 0.999
    assert set(np.unique(ids)) <= {0, 1, 2, 3, 4, 5, IGNORE}
    assert parse_palette("#3c1098=1;132,41,246=2") == {(60, 16, 152): 1, (132, 41, 246): 2}


def test_label_raster_with_palette_trains(run_alg, tmp_path):
    """A colour-coded label raster on the image grid trains a multi-class model."""
    src = dubai("tile2_part3")
    colour = tmp_path / "colour.tif"
    with rasterio.open(DUBAI / "tile2_part3_classes.tif") as ids:
        profile = ids.profile
        classes = ids.read(1)
    colours = {1: (60, 16, 152), 2: (132, 41, 246), 3: (110, 193, 228), 4: (254, 221, 58), 5: (226, 169, 41)}
    rgb = np.zeros((3,) + classes.shape, np.uint8)
    for cid, c in colours.items():
        rgb[:, classes == cid] = np.array(c)[:, None]
    profile.update(count=3, nodata=None)
    with rasterio.open(colour, "w", **profile) as dst:
        dst.write(rgb)
    palette = ";".join(f"{r},{g},{b}={cid - 1}" for cid, (r, g, b) in colours.items())
    res = run_alg("buildseg:trainfrommasks", _params(tmp_path, INPUT=[src], LABELS=None, LABEL_RASTER=str(colour),
                                                 PALETTE=palette, EPOCHS=1))
    from buildseg.engine.models import modelfile

    assert modelfile.read_info(res["OUTPUT_MODEL"]).num_classes == 5


def test_cancel_keeps_best_model_and_resume_continues(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsProcessingFeedback

    from buildseg.engine.models import modelfile

    class CancelInThirdEpoch(QgsProcessingFeedback):
        def pushInfo(self, info):  # noqa: N802
            super().pushInfo(info)
            if info.startswith("Epoch 2/"):
                self.cancel()

    params = _params(tmp_path, EPOCHS=4)
    res = processing.run("buildseg:trainmodel", params, feedback=CancelInThirdEpoch())
    assert res["CANCELLED"] is True
    info = modelfile.read_info(params["OUTPUT_MODEL"])
    assert info.training["epochs_run"] == 2
    ckpt = params["OUTPUT_MODEL"] + ".ckpt"
    assert os.path.exists(ckpt)
    feedback = recorder()
    res = processing.run("buildseg:trainmodel", params, feedback=feedback)
    log = feedback.lines
    assert any("Resuming from checkpoint" in line and "after epoch 2" in line for line in log)
    assert [line.split(":")[0] for line in log if line.startswith("Epoch ")] == ["Epoch 3/4", "Epoch 4/4"]
    assert modelfile.read_info(params["OUTPUT_MODEL"]).training["epochs_run"] == 4
    assert not os.path.exists(ckpt)


def test_labels_in_another_crs_are_reprojected(run_alg, tmp_path):
    from osgeo import gdal

    wgs84 = str(tmp_path / "labels_4326.gpkg")
    gdal.VectorTranslate(wgs84, dubai_labels("tile1_part1"), dstSRS="EPSG:4326", format="GPKG")
    res = run_alg("buildseg:trainmodel", _params(tmp_path, LABELS=wgs84, EPOCHS=1))
    (tmp_path / "utm").mkdir()
    same = run_alg("buildseg:trainmodel", _params(tmp_path / "utm", EPOCHS=1))  # the labels in the raster's CRS
    losses = [float(next(csv.DictReader(open(r["OUTPUT_METRICS"])))["loss"]) for r in (res, same)]
    assert losses[0] == pytest.approx(losses[1], rel=0.02)  # the same pixels were taught: reprojected in place


def test_qgis_process_training(tmp_path):
    out = qgis_process("run", "buildseg:trainmodel", "--json", "--", f"INPUT={dubai('tile1_part1')}",
                       f"LABELS={dubai_labels('tile1_part1')}", "EPOCHS=1", "ARCHITECTURE=2", "TILE_SIZE=128",
                       "TILES_PER_EPOCH=16", "BATCH_SIZE=8", f"OUTPUT_MODEL={tmp_path / 'm.safetensors'}")
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["results"]["OUTPUT_MODEL"] == str(tmp_path / "m.safetensors")
    from buildseg.engine.models import modelfile

    assert modelfile.read_info(str(tmp_path / "m.safetensors")).architecture == "unet-mobilenet"


def test_export_onnx_matches_torch_and_keeps_metadata(run_alg, tiny_model, tmp_path):
    import onnx
    import onnxruntime as ort
    import torch

    from buildseg.engine.models import modelfile

    res = run_alg("buildseg:exportonnx", {"MODEL": tiny_model, "OUTPUT": str(tmp_path / "m.onnx")})
    proto = onnx.load(res["OUTPUT"])
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["buildseg"]) == json.loads(modelfile.read_info(tiny_model).to_json())
    model, info = modelfile.load(tiny_model)
    session = ort.InferenceSession(res["OUTPUT"], providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[1:] == [3, info.tile_size, info.tile_size]  # fixed size, free batch
    x = np.random.default_rng(0).normal(size=(2, 3, info.tile_size, info.tile_size)).astype(np.float32)
    ref = torch.softmax(model(torch.from_numpy(x)), 1).detach().numpy()
    assert np.allclose(session.run(None, {"image": x})[0], ref, atol=1e-4)


def test_prepare_tiles_then_train_on_the_folder(run_alg, tmp_path):
    res = run_alg("buildseg:preparetiles", {
        "INPUT": [dubai("tile1_part1")], "LABELS": dubai_labels("tile1_part1"), "TILE_SIZE": 128, "MODE": 0,
        "STRIDE": 128, "SPLIT": "0.7,0.3,0", "SEED": 1, "OUTPUT": str(tmp_path / "tiles")})
    assert res["TRAIN_TILES"] > 20 and res["VAL_TILES"] > 5 and res["TEST_TILES"] == 0
    images = sorted((tmp_path / "tiles" / "train" / "images").iterdir())
    masks = sorted((tmp_path / "tiles" / "train" / "masks").iterdir())
    assert [p.name for p in images] == [p.name for p in masks]
    with rasterio.open(images[0]) as img, rasterio.open(masks[0]) as m, rasterio.open(dubai("tile1_part1")) as src:
        assert img.count == 3 and img.crs == src.crs and m.dtypes[0] == "uint8"
        row, col = (int(v) for v in images[0].stem.split("_r")[1].split("_c"))
        assert img.transform == src.transform * rasterio.Affine.translation(col, row)
        assert (img.read() == src.read(window=rasterio.windows.Window(col, row, 128, 128))).all()
    total = sum(len(list((tmp_path / "tiles" / s / "masks").iterdir())) for s in ("train", "val"))
    assert total == res["TRAIN_TILES"] + res["VAL_TILES"]
    out = run_alg("buildseg:trainfrommasks", {**_params(tmp_path, EPOCHS=1), "INPUT": None, "LABELS": None,
                                          "DATASET_FOLDER": str(tmp_path / "tiles")})
    from buildseg.engine.models import modelfile

    info = modelfile.read_info(out["OUTPUT_MODEL"])
    assert info.training["rasters"][0].startswith("tile1_part1_r") and "iou" in info.metrics["validation"]


def test_validation_area_holds_out_its_labels(run_alg, tmp_path):
    from qgis.core import QgsFeature, QgsGeometry, QgsRectangle, QgsVectorLayer

    from buildseg.engine.io.labels import IGNORE, AreaSplitLabels
    from buildseg.engine.models import modelfile

    from conftest import polygon_labels

    with rasterio.open(dubai("tile1_part1")) as src:
        b, tr = src.bounds, src.transform
    rect = QgsRectangle(b.left, b.bottom, (b.left + b.right) / 2, b.top)  # the western half
    layer = QgsVectorLayer("Polygon?crs=EPSG:32640", "val", "memory")
    f = QgsFeature()
    f.setGeometry(QgsGeometry.fromRect(rect))
    layer.dataProvider().addFeatures([f])
    res = run_alg("buildseg:trainmodel", _params(tmp_path, EPOCHS=1, VALIDATION_AREA=layer))
    assert "iou" in modelfile.read_info(res["OUTPUT_MODEL"]).metrics["validation"]
    labels = polygon_labels(dubai_labels("tile1_part1"))
    area = [{"type": "Polygon", "coordinates": [[[rect.xMinimum(), rect.yMinimum()], [rect.xMaximum(),
             rect.yMinimum()], [rect.xMaximum(), rect.yMaximum()], [rect.xMinimum(), rect.yMaximum()],
             [rect.xMinimum(), rect.yMinimum()]]]}]
    half = int(round((rect.xMaximum() - b.left) / tr.a))
    train = AreaSplitLabels(labels, area, keep_inside=False).read(tr, 0, 0, 300, 2 * half)
    val = AreaSplitLabels(labels, area, keep_inside=True).read(tr, 0, 0, 300, 2 * half)
    full = labels.read(tr, 0, 0, 300, 2 * half)
    assert (train[:, :half - 1] == IGNORE).all() and (train[:, half + 1:] == full[:, half + 1:]).all()
    assert (val[:, half + 1:] == IGNORE).all() and (val[:, :half - 1] == full[:, :half - 1]).all()


def test_bundled_model_is_the_default_start_when_it_fits(run_alg, tmp_path):
    from buildseg.engine.models import modelfile
    from buildseg.engine.models.registry import ARCHITECTURES

    from conftest import DEFAULT_MODEL

    arch = list(ARCHITECTURES).index(modelfile.read_info(DEFAULT_MODEL).architecture)
    res = run_alg("buildseg:trainmodel", _params(tmp_path, ARCHITECTURE=arch, EPOCHS=1, TILES_PER_EPOCH=8))
    info = modelfile.read_info(res["OUTPUT_MODEL"])
    assert info.training["fine_tuned_from"] == "buildings-default.safetensors"
    assert info.mean == modelfile.read_info(DEFAULT_MODEL).mean
    res = run_alg("buildseg:trainmodel", _params(tmp_path, ARCHITECTURE=arch, EPOCHS=1, TILES_PER_EPOCH=8,
                                                 FROM_SCRATCH=True, OUTPUT_MODEL=str(tmp_path / "scratch.safetensors")))
    assert modelfile.read_info(res["OUTPUT_MODEL"]).training["fine_tuned_from"] is None


def _dimmed(src_path, out_path, gain):
    """A float32 copy of `src_path` with every band multiplied by `gain` (zeros stay zeros)."""
    with rasterio.open(src_path) as src:
        profile = {**src.profile, "dtype": "float32", "compress": "deflate"}
        profile.pop("photometric", None)
        data = src.read().astype(np.float32) * np.float32(gain)
    with rasterio.open(out_path, "w", **profile) as dst:
        dst.write(data)
    return str(out_path)


def _probability(model, raster, out):
    from buildseg.engine.extract.inference import ExtractParams, extract

    extract(raster, model, out_probability=str(out), params=ExtractParams(overlap=0))
    with rasterio.open(out) as p:
        return p.read(1).astype(np.float32)


def _described_as_scene_standardised(model, info):
    """Its STAC MLM description (valid by the extension's own implementation) gives no fixed scaling and names the
    scene's statistics; the Deepness/GeoDeep export, which bakes one normalisation in, is refused."""
    from stac_model.schema import MLModelProperties

    from buildseg.engine.core.errors import BuildSegError
    from buildseg.engine.models import modelfile, onnx_interop, stac
    from buildseg.engine.models.onnx_export import export_onnx

    item = stac.mlm_item(model, info, 1000)
    (inp,) = MLModelProperties.model_validate(
        {k: v for k, v in item["properties"].items() if k.startswith("mlm:")}).input
    assert inp.value_scaling is None and "scene's own" in inp.pre_processing_function.expression
    with pytest.raises(BuildSegError, match="Export it in the BuildSeg profile"):
        onnx_interop.export_deepness(modelfile.load(model)[0], info, model + ".onnx")
    export_onnx(modelfile.load(model)[0], info, model + ".onnx")  # the BuildSeg profile keeps it
    assert modelfile.read_info(model + ".onnx").normalisation == "scene"


def test_scene_normalisation_trains_and_runs_on_each_scene_own_statistics(run_alg, tmp_path, tiny_model):
    """A model trained with scene normalisation records it and sees the same scene whatever its brightness: a
    copy of the imagery at 60 % brightness gives the same probabilities (the model of the training data's
    statistics, `tiny_model`, trained alike, changes its answer on it). Its fine-tunes keep it."""
    from buildseg.engine.models import modelfile
    from buildseg.engine.train import loop
    from buildseg.engine.train.dataset import Scene

    model = str(tmp_path / "scene.safetensors")
    scenes = [Scene(dubai(n), polygon_labels(dubai_labels(n))) for n in ("tile1_part1", "tile2_part1")]
    loop.train(scenes, model, loop.TrainParams(
        architecture="unet", arch_params={"base": 8, "depth": 3}, tile_size=128, epochs=4, tiles_per_epoch=64,
        batch_size=8, lr=3e-3, val_fraction=0.0, seed=1, ema_decay=0.0, sensor_augment=True, best_epoch=False,
        scene_normalisation=True), resolution=1.0)
    info = modelfile.read_info(model)
    assert info.normalisation == "scene" and info.mean == [0.0] * 3 and info.std == [1.0] * 3
    assert "each scene standardised" in info.summary()
    _described_as_scene_standardised(model, info)
    scene = dubai("tile1_part1")
    dim = _dimmed(scene, tmp_path / "dim.tif", 0.6)
    base = _probability(model, scene, tmp_path / "p.tif")
    assert base.std() > 0.02  # the model says something
    assert np.abs(_probability(model, dim, tmp_path / "p_dim.tif") - base).max() < 0.02
    usual = _probability(tiny_model, scene, tmp_path / "u.tif")
    assert np.abs(_probability(tiny_model, dim, tmp_path / "u_dim.tif") - usual).max() > 0.1
    (tmp_path / "t").mkdir()
    (tmp_path / "f").mkdir()
    tuned = run_alg("buildseg:trainmodel", _params(tmp_path / "t", MODEL=model, EPOCHS=1))
    assert modelfile.read_info(tuned["OUTPUT_MODEL"]).normalisation == "scene"
    fresh = run_alg("buildseg:trainmodel", _params(tmp_path / "f", EPOCHS=1, SCENE_NORMALISATION=True))
    assert modelfile.read_info(fresh["OUTPUT_MODEL"]).normalisation == "scene"
