"""The bundled model: present, small, self-describing, and still accurate through the extraction algorithm."""

import os

import numpy as np
import rasterio

from conftest import DEFAULT_MODEL, DUBAI, dubai


def test_bundled_model_is_small_and_self_describing():
    from buildseg.engine import modelfile

    assert os.path.getsize(DEFAULT_MODEL) <= 25 * 2**20
    info = modelfile.read_info(DEFAULT_MODEL)
    assert info.in_channels == 3 and info.bands == [1, 2, 3] and info.resolution == 1.0
    assert [c["name"] for c in info.classes] == ["background", "building"]
    assert info.training["epochs_run"] > 0 and info.training["seconds"] > 0
    assert not any(r.startswith("tile8") for r in info.training["rasters"])  # never trained on the test group
    assert info.metrics["test"]["dubai_tile8_building_iou"] >= 0.6
    model, _ = modelfile.load(DEFAULT_MODEL)
    assert not model.training


def test_bundled_model_accuracy_on_dubai_test_images(run_alg, tmp_path):
    """Building IoU >= 0.5 on two Dubai Tile 8 images through buildseg:extractbuildings (default model)."""
    inter = union = 0
    for name in ("tile8_part3", "tile8_part7"):
        res = run_alg("buildseg:extractbuildings", {"INPUT": dubai(name), "OUTPUT_MASK": str(tmp_path / f"{name}.tif")})
        with rasterio.open(res["OUTPUT_MASK"]) as m, rasterio.open(DUBAI / f"{name}_classes.tif") as ref:
            pred, cls = m.read(1) == 1, ref.read(1)
        labelled = cls != 0
        truth = cls == 1
        inter += (pred & truth & labelled).sum()
        union += ((pred | truth) & labelled).sum()
    assert inter / union >= 0.5, inter / union
    assert np.isfinite(inter / union)
