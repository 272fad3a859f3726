"""The example graphical models in resources/models3 load in the Model Designer and run under qgis_process."""

import csv
import json

from conftest import ROOT, crop, dubai, dubai_labels, qgis_process

MODELS3 = ROOT / "resources" / "models3"


def _features(path) -> int:
    from osgeo import ogr

    ds = ogr.Open(str(path))
    return ds.GetLayer(0).GetFeatureCount()


def test_example_models_load_with_every_step(qgis_app):
    from qgis.core import QgsProcessingModelAlgorithm

    expected = {"extract_regularize_evaluate": {"extract", "regularize", "evaluate"},
                "prepare_train_extract": {"prepare_tiles", "train", "extract"}}
    assert {p.stem for p in MODELS3.glob("*.model3")} == expected.keys()
    for name, steps in expected.items():
        model = QgsProcessingModelAlgorithm()
        assert model.fromFile(str(MODELS3 / f"{name}.model3"))
        children = model.childAlgorithms()
        assert set(children) == steps
        assert all(c.algorithm() is not None for c in children.values())  # every BuildSeg algorithm resolves


def test_extract_regularize_evaluate_runs_headless(tiny_model, tmp_path):
    scene = crop(dubai("tile8_part7"), str(tmp_path / "s.tif"), 0, 0, 500, 400)
    out = qgis_process("run", MODELS3 / "extract_regularize_evaluate.model3", "--json", "--", f"raster={scene}",
                       f"model={tiny_model}", f"reference={dubai_labels('tile8_part7')}",
                       f"regularize:buildings={tmp_path / 'b.gpkg'}", f"evaluate:metrics={tmp_path / 'm.csv'}")
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["results"]["regularize:buildings"] == str(tmp_path / "b.gpkg")
    assert _features(tmp_path / "b.gpkg") > 0
    rows = {r["metric"]: r["value"] for r in csv.DictReader(open(tmp_path / "m.csv"))}
    assert 0 < float(rows["pixel_iou"]) <= 1 and "object_f1" in rows


def test_prepare_train_extract_runs_headless(tmp_path):
    scene = crop(dubai("tile1_part1"), str(tmp_path / "s.tif"), 0, 0, 768, 768)
    out = qgis_process("run", MODELS3 / "prepare_train_extract.model3", "--json", "--", f"raster={scene}",
                       f"labels={dubai_labels('tile1_part1')}", "epochs=1", "tiles_per_epoch=8",
                       f"train:model={tmp_path / 'm.safetensors'}", f"extract:buildings={tmp_path / 'b.gpkg'}")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    from buildseg.engine.models.modelfile import read_info

    info = read_info(str(tmp_path / "m.safetensors"))
    assert info.training["epochs_run"] == 1 and info.training["params"]["tile_size"] == 128
    assert (tmp_path / "b.gpkg").exists()
