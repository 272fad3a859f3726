"""Every model file training writes gets a STAC Item with the Machine Learning Model extension beside it,
validated with stac-model (the MLM extension's own pydantic implementation of its schema) and pystac."""

import json
import os

import pytest

from conftest import dubai, dubai_labels

stac_model = pytest.importorskip("stac_model.schema")
pystac = pytest.importorskip("pystac")


def _validate(item: dict, model_path: str):
    from buildseg.engine.models import modelfile

    info = modelfile.read_info(model_path)
    assert stac_model.SCHEMA_URI in item["stac_extensions"]
    props = stac_model.MLModelProperties.model_validate(
        {k: v for k, v in item["properties"].items() if k.startswith("mlm:")})
    assert props.name == os.path.splitext(os.path.basename(model_path))[0]
    assert [t.value if hasattr(t, "value") else t for t in props.tasks] == ["semantic-segmentation"]
    (inp,), (out,) = props.input, props.output
    assert inp.input.shape == [-1, info.in_channels, info.tile_size, info.tile_size]
    assert [s.mean for s in inp.value_scaling] == pytest.approx(info.mean)
    assert [s.stddev for s in inp.value_scaling] == pytest.approx(info.std)
    assert [c.name for c in out.classes] == [c["name"] for c in info.classes]
    assert props.total_parameters > 1000
    parsed = pystac.Item.from_dict(item)
    href = parsed.assets["weights"].href
    assert os.path.samefile(os.path.join(os.path.dirname(model_path), href), model_path)
    assert item["properties"]["gsd"] == pytest.approx(info.resolution)


def test_trained_model_gets_a_valid_mlm_item(run_alg, tmp_path):
    res = run_alg("buildseg:trainmodel", {
        "INPUT": [dubai("tile1_part1")], "LABELS": dubai_labels("tile1_part1"), "ARCHITECTURE": 2,
        "ALIGN_LABELS": False, "FROM_SCRATCH": True, "TILE_SIZE": 64, "EPOCHS": 1,
        "TILES_PER_EPOCH": 8, "BATCH_SIZE": 4,
        "OUTPUT_MODEL": str(tmp_path / "dubai.safetensors")})
    assert res["STAC_ITEM"] == str(tmp_path / "dubai.stac-item.json")
    item = json.loads((tmp_path / "dubai.stac-item.json").read_text())
    _validate(item, res["OUTPUT_MODEL"])
    assert item["properties"]["mlm:architecture"].startswith("unet-mobilenet")
