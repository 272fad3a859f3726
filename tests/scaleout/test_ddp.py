"""Training with DDP under torchrun (gloo on CPU): equal to one process with the doubled batch, and after a rank
crashes the same command resumes from the checkpoint to the same end."""

import json
import os
import subprocess
import sys

import pytest

from conftest import _PLUGINS, dubai, dubai_labels

PARAMS = {"architecture": "unet", "arch_params": {"base": 8, "depth": 2, "norm": "none"}, "tile_size": 64,
          "epochs": 2, "tiles_per_epoch": 16, "lr": 2e-3, "loss": "ce", "val_fraction": 0.0, "seed": 5,
          "threads": 1, "device": "cpu"}


def _config(tmp_path, name, batch):
    config = {"scenes": [{"raster": dubai("tile1_part1"), "labels": {"vector": dubai_labels("tile1_part1")}}],
              "out_model": str(tmp_path / f"{name}.safetensors"), "resolution": 1.0,
              "params": dict(PARAMS, batch_size=batch)}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config))
    return str(path), config["out_model"]


def _torchrun(config, env=None, expect_failure=False):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
           "--max-restarts=0", "-m", "buildseg.engine.scaleout.train_cli", config]
    full_env = dict(os.environ, PYTHONPATH=str(_PLUGINS), OMP_NUM_THREADS="1", **(env or {}))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=full_env)
    assert (proc.returncode != 0) == expect_failure, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _weights(path):
    from buildseg.engine.models import modelfile

    model, _ = modelfile.load(path)
    return model.state_dict()


def _allclose(a, b, atol):
    assert a.keys() == b.keys()
    worst = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    assert worst <= atol, f"largest weight difference {worst}"


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    config, model = _config(tmp, "ddp", batch=2)
    log = _torchrun(config)
    assert log.count("Epoch 2/2") == 1  # two ranks trained, rank 0 alone reports
    return model, log


def test_two_ranks_equal_one_process_with_double_batch(ddp_run, tmp_path):
    from buildseg.engine.scaleout.train_cli import run

    ddp_model, log = ddp_run
    config, single = _config(tmp_path, "single", batch=4)
    run(json.loads(open(config).read()))
    _allclose(_weights(ddp_model), _weights(single), atol=1e-4)
    from buildseg.engine.models import modelfile

    init = modelfile.build_model(modelfile.read_info(single)).state_dict()  # the weights did move
    assert max(float((init[k] - _weights(single)[k]).abs().max()) for k in init) > 1e-3
    assert not os.path.exists(ddp_model + ".ckpt")


def test_crashed_rank_then_rerun_resumes_to_the_same_end(ddp_run, tmp_path):
    """Rank 1 dies in epoch 2; running the same torchrun command again (what --max-restarts does) resumes from
    rank 0's checkpoint of epoch 1 and ends where the uninterrupted run ended."""
    ddp_model, _ = ddp_run
    config, model = _config(tmp_path, "crash", batch=2)
    marker = tmp_path / "crashed"
    crashed = _torchrun(config, env={"BUILDSEG_CRASH": f"1,1,1,{marker}"}, expect_failure=True)
    assert marker.exists() and os.path.exists(model + ".ckpt") and not os.path.exists(model), crashed[-2000:]
    log = _torchrun(config)
    assert "Resuming from checkpoint" in log and "after epoch 1" in log
    _allclose(_weights(model), _weights(ddp_model), atol=1e-6)


def test_training_algorithm_emits_a_working_torchrun_command(run_alg, tmp_path):
    res = run_alg("buildseg:trainmodel", {
        "INPUT": [dubai("tile1_part1")], "LABELS": dubai_labels("tile1_part1"), "ARCHITECTURE": 0,
        "ALIGN_LABELS": False, "FROM_SCRATCH": True, "TILE_SIZE": 64, "EPOCHS": 1,
        "TILES_PER_EPOCH": 8, "BATCH_SIZE": 2,
        "VAL_FRACTION": 0, "TORCHRUN_PROCESSES": 2, "OUTPUT_MODEL": str(tmp_path / "m.safetensors")})
    cmd = res["TORCHRUN_COMMAND"]
    assert "--nproc-per-node=2" in cmd and not (tmp_path / "m.safetensors").exists()
    config = json.loads(open(res["TORCHRUN_CONFIG"]).read())
    config["params"]["arch_params"] = {"base": 8, "depth": 2}  # keep the U-Net tiny here
    open(res["TORCHRUN_CONFIG"], "w").write(json.dumps(config))
    cmd = cmd.replace("torchrun", f"{sys.executable} -m torch.distributed.run", 1)
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=600,  # noqa: S602 - our command
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    from buildseg.engine.models.modelfile import read_info

    assert read_info(str(tmp_path / "m.safetensors")).training["epochs_run"] == 1


def test_configuration_entries_read_back_as_the_scenes_written(tmp_path):
    """scene_entry and scene_from are one symmetric pair: polygon labels (shapes, labelled area, gap) and a
    colour-coded label raster come back as they went in, through JSON."""
    import json

    import numpy as np
    import rasterio

    from buildseg.engine.io.labels import PolygonLabels, RasterLabels
    from buildseg.engine.scaleout.train_cli import scene_entry, scene_from
    from buildseg.engine.train.dataset import Scene

    from conftest import DUBAI, polygon_labels

    raster = dubai("tile2_part2")
    colour_mask = str(tmp_path / "colours.tif")  # the class raster as a colour-coded mask
    with rasterio.open(str(DUBAI / "tile2_part2_classes.tif")) as ids:
        rgb = np.zeros((3,) + ids.shape, np.uint8)
        for colour, cid in (((60, 16, 152), 1), ((132, 41, 246), 2)):
            rgb[:, ids.read(1) == cid] = np.array(colour, np.uint8)[:, None]
        profile = dict(ids.profile, count=3, nodata=None)
    with rasterio.open(colour_mask, "w", **profile) as out:
        out.write(rgb)
    polygons = polygon_labels(dubai_labels("tile2_part2"))
    with rasterio.open(raster) as src:
        b = src.bounds
    area = [{"type": "Polygon", "coordinates": [[[b.left, b.bottom], [b.right, b.bottom], [b.right, b.top],
                                                 [b.left, b.bottom]]]}]  # the lower-right half labelled
    palette = {(60, 16, 152): 1, (132, 41, 246): 0}  # building; land as background
    scenes = [Scene(raster, PolygonLabels(polygons.shapes, area, gap_px=2)),
              Scene(raster, RasterLabels(colour_mask, palette), role="val")]
    back = [scene_from(e) for e in json.loads(json.dumps([scene_entry(s) for s in scenes]))]
    with rasterio.open(raster) as src:
        for before, after in zip(scenes, back):
            assert (after.raster, after.role) == (before.raster, before.role)
            row, col = src.height - 300, src.width - 300  # inside the labelled half
            a = before.labels.read(src.transform, row, col, 256, 256)
            b = after.labels.read(src.transform, row, col, 256, 256)
            assert np.array_equal(a, b) and len(np.unique(a)) > 1
    assert back[0].labels.gap_px == 2 and back[0].labels.area == area
    assert back[1].labels.palette == palette


def test_incomplete_labels_travel_with_their_probability_raster(tmp_path):
    """Incomplete labels go into a torchrun configuration with the model's probability raster, copied out of
    the run's temporary folder beside the model file, and read back to the same training labels."""
    import json

    import numpy as np
    import rasterio

    from buildseg.engine.io.labels import IGNORE, IncompleteLabels
    from buildseg.engine.scaleout.train_cli import keep_probability_rasters, scene_entry, scene_from
    from buildseg.engine.train.dataset import Scene

    from conftest import polygon_labels

    raster, work = dubai("tile2_part2"), tmp_path / "work"
    work.mkdir()
    with rasterio.open(raster) as src:
        profile = {"driver": "GTiff", "width": src.width, "height": src.height, "count": 1, "dtype": "float32",
                   "crs": src.crs, "transform": src.transform}
        prob = np.zeros(src.shape, np.float32)
        prob[:, : src.width // 2] = 0.9  # the model "sees buildings" over the western half
        transform, (h, w) = src.transform, src.shape
    with rasterio.open(work / "incomplete0.tif", "w", **profile) as out:
        out.write(prob[None])
    scene = Scene(raster, IncompleteLabels(polygon_labels(dubai_labels("tile2_part2")), str(work / "incomplete0.tif")))
    kept = keep_probability_rasters([scene], str(tmp_path / "m.safetensors"), str(work))
    (work / "incomplete0.tif").unlink()  # the temporary folder is gone when torchrun runs
    back = scene_from(json.loads(json.dumps(scene_entry(kept[0]))))
    assert back.labels.ds.name == str(tmp_path / "m.safetensors.incomplete0.tif")
    lab = back.labels.read(transform, 0, 0, h, w)
    west, east = lab[:, : w // 2], lab[:, w // 2:]
    assert (west == IGNORE).any() and not (west == 0).any()  # unlabelled but seen: ignored, never background
    assert (east == 0).any() and not (east == IGNORE).any()
