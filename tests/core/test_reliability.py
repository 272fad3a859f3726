"""Faults, memory, concurrency and fuzzing: failures stay clean exceptions and never lose data."""

import json
import os
import signal
import subprocess
import threading
import time

import numpy as np
import pytest
import rasterio

from conftest import QGIS_PROCESS, crop, dubai, dubai_labels
from conftest import recorder as Recorder  # noqa: N813

EXTRACT = "buildseg:extractbuildings"


@pytest.fixture(scope="module")
def small_scene(tmp_path_factory):
    return crop(dubai("tile8_part2"), str(tmp_path_factory.mktemp("rel") / "scene.tif"), 200, 200, 320, 256)


def test_memory_guard_shrinks_the_batch_or_refuses(run_alg, small_scene, tiny_model, tmp_path, monkeypatch):
    from qgis.core import QgsProcessingException

    from buildseg.engine.core import memory
    from buildseg.engine.extract.inference import blend_bytes
    from buildseg.engine.io.raster import RasterSource

    params = {"INPUT": small_scene, "MODEL": tiny_model, "TILE_SIZE": 128, "OVERLAP": 32, "BATCH_SIZE": 8,
              "OUTPUT_MASK": str(tmp_path / "mask.tif")}
    with RasterSource(small_scene) as src:  # the guard's own estimate for this run (ONNX Runtime on CPU)
        fixed = blend_bytes(src, 128, 2) + memory.RUNTIME_BYTES
    per_tile = memory.tile_bytes(128, 3, "inference-onnx")
    room_for_3 = (fixed + 3.5 * per_tile) / memory.USABLE / 2**20
    monkeypatch.setenv("BUILDSEG_MEMORY_LIMIT", str(int(room_for_3)))  # MiB: about 3 tiles, not 8
    feedback = Recorder()
    run_alg(EXTRACT, params, feedback=feedback)
    assert any("Batch size 8" in w and "using batch size 3" in w for w in feedback.warnings), feedback.warnings
    assert os.path.exists(params["OUTPUT_MASK"])
    monkeypatch.setenv("BUILDSEG_MEMORY_LIMIT", str(int(fixed / 2**20)))
    with pytest.raises(QgsProcessingException, match="Not enough memory.*smaller tile size"):
        run_alg(EXTRACT, dict(params, OUTPUT_MASK=str(tmp_path / "refused.tif")))
    assert not os.path.exists(tmp_path / "refused.tif")


def test_huge_tile_on_a_small_raster_is_reduced_to_the_raster(run_alg, small_scene, tiny_model, tmp_path):
    """TILE_SIZE 4096 on a 320 x 256 px raster once grew past 24 GB: the tile is cut to the raster."""
    feedback = Recorder()
    res = run_alg(EXTRACT, {"INPUT": small_scene, "MODEL": tiny_model, "TILE_SIZE": 4096,
                            "OUTPUT_MASK": str(tmp_path / "mask.tif")}, feedback=feedback)
    assert any("Tile size 4096 px reduced to 320 px" in line for line in feedback.lines)
    with rasterio.open(res["OUTPUT_MASK"]) as m, rasterio.open(small_scene) as s:
        assert m.shape == s.shape and set(np.unique(m.read(1))) <= {0, 1}


def test_cuda_out_of_memory_retries_in_smaller_batches():
    import torch

    from buildseg.engine.core.errors import BuildSegError
    from buildseg.engine.core.memory import split_on_oom
    from buildseg.engine.core.progress import Progress

    calls = []

    def forward(batch):
        calls.append(len(batch))
        if len(batch) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return batch * 2

    warnings = []
    progress = Progress()
    progress.warn = warnings.append
    x = np.arange(8 * 3, dtype=np.float32).reshape(8, 3)
    assert np.array_equal(split_on_oom(forward, progress)(x), x * 2)
    assert calls == [8, 4, 2, 2, 4, 2, 2] and len(warnings) == 1

    def always(batch):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(BuildSegError, match="single tile"):
        split_on_oom(always, progress)(x)
    with pytest.raises(ValueError):  # other errors pass through untouched
        split_on_oom(lambda b: (_ for _ in ()).throw(ValueError("x")), progress)(x)


def test_parallel_extractions_match_sequential(qgis_app, small_scene, tiny_model, tmp_path):
    """Two runs in parallel threads of one QGIS process (as the Toolbox runs them) give the sequential result."""
    from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback

    def run(name, results):
        alg = QgsApplication.processingRegistry().createAlgorithmById(EXTRACT)
        out = {"OUTPUT_MASK": str(tmp_path / f"{name}_mask.tif"),
               "OUTPUT_PROBABILITY": str(tmp_path / f"{name}_prob.tif")}
        res, ok = alg.run({"INPUT": small_scene, "MODEL": tiny_model, "TILE_SIZE": 128, "OVERLAP": 32, **out},
                          QgsProcessingContext(), QgsProcessingFeedback())
        results[name] = ok and res

    results = {}
    run("sequential", results)
    threads = [threading.Thread(target=run, args=(f"thread{i}", results)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert all(results.values()) and len(results) == 3
    with rasterio.open(results["sequential"]["OUTPUT_PROBABILITY"]) as ds:
        expected = ds.read(1)
    for i in range(2):
        with rasterio.open(results[f"thread{i}"]["OUTPUT_PROBABILITY"]) as ds:
            assert np.allclose(ds.read(1), expected, atol=1e-5)
        with rasterio.open(results[f"thread{i}"]["OUTPUT_MASK"]) as a, \
                rasterio.open(results["sequential"]["OUTPUT_MASK"]) as b:
            assert np.array_equal(a.read(1), b.read(1))


def test_killed_training_resumes_from_its_checkpoint(tmp_path):
    """SIGKILL of qgis_process mid-training, then the same command again: it resumes and ends valid."""
    from buildseg.engine.models import modelfile

    model = tmp_path / "model.safetensors"
    args = [str(QGIS_PROCESS), "run", "buildseg:trainmodel", "--json", "--", f"INPUT={dubai('tile1_part1')}",
            f"LABELS={dubai_labels('tile1_part1')}", "ARCHITECTURE=2", "TILE_SIZE=128", "EPOCHS=4",
            "TILES_PER_EPOCH=48", "BATCH_SIZE=8", "VAL_FRACTION=0.25", f"OUTPUT_MODEL={model}"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    ckpt = str(model) + ".ckpt"
    deadline = time.time() + 300
    while not os.path.exists(ckpt) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert os.path.exists(ckpt), proc.communicate()[0][-2000:]
    time.sleep(1.5)  # into the next epoch
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not model.exists()  # killed before the end: no model, only the checkpoint
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Resuming from checkpoint" in done.stdout + done.stderr
    info = modelfile.read_info(json.loads(done.stdout)["results"]["OUTPUT_MODEL"])
    assert info.training["epochs_run"] == 4
    assert not os.path.exists(ckpt)


def test_fuzzed_extraction_parameters_fail_cleanly(qgis_app, small_scene, tiny_model, tmp_path_factory):
    """Random parameter values through the Processing API: results or QgsProcessingException, nothing else."""
    import processing
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback

    scene = crop(small_scene, str(tmp_path_factory.mktemp("fuzz") / "tiny.tif"), 0, 0, 96, 80)
    params = st.fixed_dictionaries({
        "TILE_SIZE": st.sampled_from([0, 16, 31, 64, 100, 128, 1000, 8192, -5]),
        "OVERLAP": st.integers(-10, 700), "BATCH_SIZE": st.integers(-1, 5),
        "THRESHOLD": st.floats(-0.5, 1.5), "TTA": st.integers(0, 3), "BACKEND": st.integers(0, 4),
        "MIN_AREA": st.floats(0, 1e6), "SIMPLIFY": st.floats(0, 50), "FILL_HOLES": st.booleans(),
        "SEPARATE": st.booleans(), "REGULARIZE": st.booleans(), "PROBABILITY_UINT8": st.booleans()})
    outcomes = []

    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(params)
    def check(p):
        out = tmp_path_factory.mktemp("case")
        full = {"INPUT": scene, "MODEL": tiny_model, "OUTPUT_MASK": str(out / "m.tif"),
                "OUTPUT_POLYGONS": str(out / "b.gpkg"), **p}
        try:
            res = processing.run(EXTRACT, full, context=QgsProcessingContext(), feedback=QgsProcessingFeedback())
        except QgsProcessingException:
            assert os.listdir(out) == [], "a failed run left an output"
            outcomes.append("refused")
            return
        with rasterio.open(res["OUTPUT_MASK"]) as m:
            assert (m.width, m.height) == (96, 80)
            assert set(np.unique(m.read(1))) <= {0, 1, 255}
        outcomes.append("ran")

    check()
    assert "ran" in outcomes and "refused" in outcomes


def test_cancelled_regularization_leaves_no_file(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback

    class CancelSoon(QgsProcessingFeedback):
        def setProgress(self, p):
            super().setProgress(p)
            if p > 10:
                self.cancel()

    labels = dubai_labels("tile1_part1")
    before = open(labels, "rb").read()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run("buildseg:regularizefootprints", {"INPUT": labels, "OUTPUT": str(tmp_path / "r.gpkg")},
                       context=QgsProcessingContext(), feedback=CancelSoon())
    assert os.listdir(tmp_path) == []
    assert open(labels, "rb").read() == before


def test_corrupt_onnx_cache_entry_is_rebuilt(tmp_path, monkeypatch, tiny_model):
    """A partial cache entry (a disk that filled up, a killed copy) no longer breaks every later run."""
    from buildseg.engine.extract.predict import cached_onnx, onnx_readable
    from buildseg.engine.models import modelfile

    monkeypatch.setenv("BUILDSEG_CACHE", str(tmp_path / "cache"))
    model, info = modelfile.load(tiny_model)
    path = cached_onnx(tiny_model, model, info, 64)
    good = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(good[: len(good) // 3])
    assert not onnx_readable(path)
    assert cached_onnx(tiny_model, model, info, 64) == path and open(path, "rb").read() == good


def test_shapefile_output_is_committed_whole(run_alg, small_scene, tiny_model, tmp_path):
    """A Shapefile is several files: all of them get the final name, none keeps a temporary one."""
    from osgeo import ogr

    out = tmp_path / "buildings.shp"
    res = run_alg(EXTRACT, {"INPUT": small_scene, "MODEL": tiny_model, "TILE_SIZE": 128,
                            "OUTPUT_POLYGONS": str(out)})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert {"buildings.shp", "buildings.shx", "buildings.dbf", "buildings.prj"} <= set(names), names
    assert not [n for n in names if ".part" in n], names
    ds = ogr.Open(str(out))
    assert ds.GetLayer(0).GetFeatureCount() == res["BUILDING_COUNT"] > 0
    assert ds.GetLayer(0).GetSpatialRef() is not None


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_sigterm_leaves_no_partial_output_and_the_next_run_cleans_stale_ones(tmp_path, tiny_model):
    """SIGTERM of qgis_process mid-extraction removes its partial outputs and work folder; leftovers of a
    process that was SIGKILLed (no chance to clean) are removed by the next run."""
    import glob
    import tempfile

    out = tmp_path / "out"
    out.mkdir()
    scene = crop(dubai("tile2_part5"), str(tmp_path / "scene.tif"), 0, 0, 1400, 1400)
    # a model at the scene's resolution: rows are written to the partial outputs while tiles are predicted
    args = [str(QGIS_PROCESS), "run", EXTRACT, "--", f"INPUT={scene}", f"MODEL={tiny_model}", "TILE_SIZE=256",
            "OVERLAP=128", "TTA=2", f"OUTPUT_MASK={out / 'mask.tif'}", f"OUTPUT_PROBABILITY={out / 'prob.tif'}"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    deadline = time.time() + 300
    while not glob.glob(str(out / "*.part-*")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert glob.glob(str(out / "*.part-*")), proc.communicate()[0][-2000:]
    pid = proc.pid
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=120)
    assert proc.returncode != 0
    assert os.listdir(out) == [], os.listdir(out)
    assert not glob.glob(os.path.join(tempfile.gettempdir(), f"buildseg-*{pid}-*"))
    dead = _dead_pid()  # leftovers of a killed run
    (out / f"mask.part-{dead}-0123abcd.tif").write_bytes(b"half a tiff")
    (out / f"mask.part-{dead}-0123abcd.tif.aux.xml").write_text("<PAMDataset/>")
    stale_dir = tempfile.mkdtemp(prefix=f"buildseg-{dead}-")
    small = crop(scene, str(tmp_path / "small.tif"), 0, 0, 300, 300)
    done = subprocess.run([str(QGIS_PROCESS), "run", EXTRACT, "--", f"INPUT={small}",
                           f"OUTPUT_MASK={out / 'mask.tif'}"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(os.listdir(out)) == ["mask.tif"] and not os.path.exists(stale_dir)
