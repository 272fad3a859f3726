"""Extraction by blocks on Dask: identical to one process, whatever the executor, block size or crash."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import rasterio

from conftest import _PLUGINS, crop, dubai, qgis_process

TILE = {"tile_size": 128, "overlap": 64}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """1536 x 1024 px of a Dubai test image: 24 blocks of 256 px, buildings across many seams."""
    return crop(dubai("tile8_part5"), str(tmp_path_factory.mktemp("blocks") / "scene.tif"), 300, 200, 1536, 1024)


@pytest.fixture(scope="module")
def reference(scene, tiny_model, tmp_path_factory):
    """The single-process extraction: mask and probability arrays, polygons."""
    from buildseg.engine.extract.inference import ExtractParams, extract

    d = tmp_path_factory.mktemp("reference")
    extract(scene, tiny_model, str(d / "m.tif"), str(d / "p.tif"), str(d / "b.gpkg"), ExtractParams(**TILE))
    return _read(d / "m.tif", d / "p.tif", d / "b.gpkg")


def _read(mask, prob, polygons):
    with rasterio.open(mask) as m, rasterio.open(prob) as p:
        out = {"mask": m.read(1), "prob": p.read(1), "transform": m.transform}
    from osgeo import ogr

    ds = ogr.Open(str(polygons))
    out["polygons"] = sorted(_normal_wkt(f.GetGeometryRef()) for f in ds.GetLayer(0))
    return out


def _normal_wkt(geom) -> str:
    """WKT with rings in a canonical order and start vertex (strips of other heights trace the same outline
    from another vertex)."""
    return geom.Normalize().ExportToWkt()


def _run(scene, model, out, **kw):
    from buildseg.engine.extract.inference import ExtractParams
    from buildseg.engine.scaleout.cluster import extract_blocks

    run = extract_blocks(scene, model, str(out / "m.tif"), str(out / "p.tif"), str(out / "b.gpkg"),
                         ExtractParams(**TILE), **kw)
    return run, _read(out / "m.tif", out / "p.tif", out / "b.gpkg")


def _same(result, reference):
    assert result["transform"] == reference["transform"]
    assert np.array_equal(result["mask"], reference["mask"])
    assert np.array_equal(result["prob"], reference["prob"])
    assert result["polygons"] == reference["polygons"]


def _manifest(work_dir):
    with open(os.path.join(work_dir, "manifest.json")) as f:
        return json.load(f)["blocks"]


def test_local_cluster_blocks_equal_in_process_blocks(scene, tiny_model, reference, tmp_path):
    import glob
    import tempfile

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    run_a, result_a = _run(scene, tiny_model, a, block=256, keep_blocks=True, work_dir=str(a / "w"))
    run_b, result_b = _run(scene, tiny_model, b, block=256, keep_blocks=True, work_dir=str(b / "w"),
                           executor="local", workers=4)
    # the engine zip shipped to the workers does not outlive the run
    assert not glob.glob(os.path.join(tempfile.gettempdir(), f"*-engine-{os.getpid()}.zip"))
    assert run_a.blocks.count == run_b.blocks.count == 24 and run_b.blocks.computed == 24
    assert _manifest(a / "w") == _manifest(b / "w")  # every block file identical (sha256)
    _same(result_a, reference)
    _same(result_b, reference)
    gt = reference["transform"]  # buildings cross vertical and horizontal seams: the test means something
    vertical = horizontal = 0
    from osgeo import ogr

    for wkt in reference["polygons"]:
        minx, maxx, miny, maxy = ogr.CreateGeometryFromWkt(wkt).GetEnvelope()
        c0, c1 = (minx - gt.c) / gt.a, (maxx - gt.c) / gt.a
        r0, r1 = (maxy - gt.f) / gt.e, (miny - gt.f) / gt.e
        vertical += any(c0 < s < c1 for s in range(256, 1536, 256))
        horizontal += any(r0 < s < r1 for s in range(256, 1024, 256))
    assert vertical >= 3 and horizontal >= 3


@pytest.mark.parametrize("block", [512, 768, 1024])
def test_block_sizes_give_the_same_result(scene, tiny_model, reference, tmp_path, block):
    run, result = _run(scene, tiny_model, tmp_path, block=block)
    assert run.blocks.count == -(-1536 // block) * -(-1024 // block)
    _same(result, reference)
    assert not os.path.exists(run.blocks.work_dir)  # block files are removed once the outputs are written


def test_int8_blocks_equal_the_whole_scene_int8_run(scene, tiny_model, reference, tmp_path, monkeypatch):
    """INT8 is calibrated once, on the whole scene, by the driver, as a whole-scene run calibrates it: a block run
    writes the same values (blocks calibrating on their own pixels would not; before, they failed outright).
    The block run leaves the backend to BuildSeg (auto), which chooses INT8 for the whole scene as a whole-scene
    run does (its threshold lowered to this scene, the CPU's VNNI answered yes)."""
    from buildseg.engine.extract import backend
    from buildseg.engine.extract.inference import ExtractParams, extract
    from buildseg.engine.scaleout.cluster import extract_blocks

    whole, blocks = tmp_path / "whole", tmp_path / "blocks"
    whole.mkdir(), blocks.mkdir()
    outs = [str(whole / n) for n in ("m.tif", "p.tif", "b.gpkg")]
    assert extract(scene, tiny_model, *outs, ExtractParams(**TILE, backend="onnxruntime-int8")).backend == \
        "onnxruntime-int8"
    monkeypatch.setattr(backend, "INT8_MIN_MEGAPIXELS", 1.0)  # the scene: 1.6 MP
    monkeypatch.setattr(backend, "cpu_has_vnni", lambda: True)
    run = extract_blocks(scene, tiny_model, *[str(blocks / n) for n in ("m.tif", "p.tif", "b.gpkg")],
                         ExtractParams(**TILE), block=512, executor="local", workers=2)
    assert run.blocks.computed == 6 and run.backend == "onnxruntime-int8"
    int8 = _read(*outs)
    _same(_read(blocks / "m.tif", blocks / "p.tif", blocks / "b.gpkg"), int8)
    assert not np.array_equal(int8["prob"], reference["prob"])  # INT8 ran, not the float model


def test_blocks_of_16_bit_imagery_share_the_scenes_normalisation(scene, tiny_model, tmp_path):
    """A 16-bit copy of the scene is standardised on the whole scene's statistics (io.value_scale); every block
    process uses those, not its own block's or the model's, so blocks still equal one process."""
    from osgeo import gdal

    from buildseg.engine.extract.inference import ExtractParams, extract

    wide = str(tmp_path / "uint16.tif")  # 768 x 512 px of the scene: six blocks of 256 px
    gdal.Translate(wide, scene, outputType=gdal.GDT_UInt16, scaleParams=[[0, 255, 60, 2100]] * 3,
                   srcWin=[0, 0, 768, 512])
    (tmp_path / "one").mkdir()
    (tmp_path / "blocks").mkdir()
    one = tmp_path / "one"
    extract(wide, tiny_model, str(one / "m.tif"), str(one / "p.tif"), str(one / "b.gpkg"), ExtractParams(**TILE))
    whole = _read(one / "m.tif", one / "p.tif", one / "b.gpkg")
    run, result = _run(wide, tiny_model, tmp_path / "blocks", block=256)
    assert run.blocks.count == 6
    _same(result, whole)
    assert 0.02 < (whole["mask"] == 1).mean() < 0.9  # buildings found, not the whole scene


def test_killed_worker_still_completes(scene, tiny_model, reference, tmp_path):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=4, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        work = tmp_path / "w"

        def kill_one_after_first_block():
            deadline = time.time() + 120
            while time.time() < deadline:
                if os.path.exists(work / "manifest.json") and _manifest(work):
                    os.kill(pids[0], signal.SIGKILL)
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_one_after_first_block)
        killer.start()
        run, result = _run(scene, tiny_model, tmp_path, block=256, executor="scheduler",
                           scheduler=cluster.scheduler_address, work_dir=str(work))
        killer.join()
    assert run.blocks.computed == 24
    _same(result, reference)
    import importlib.util

    assert importlib.util.find_spec("buildseg.plugin") is not None  # the scheduler's process kept its plugin


def test_killed_driver_rerun_recomputes_only_unfinished_blocks(scene, tiny_model, reference, tmp_path):
    work = tmp_path / "w"
    script = (f"import sys; sys.path.insert(0, {str(_PLUGINS)!r})\n"
              "from buildseg.engine.scaleout.cluster import extract_blocks\n"
              "from buildseg.engine.extract.inference import ExtractParams\n"
              f"extract_blocks({scene!r}, {tiny_model!r}, {str(tmp_path / 'm.tif')!r}, {str(tmp_path / 'p.tif')!r},"
              f" {str(tmp_path / 'b.gpkg')!r}, ExtractParams(**{TILE!r}), block=256, work_dir={str(work)!r},"
              " threads=1)\n")
    driver = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 300
    while time.time() < deadline and driver.poll() is None:
        if (work / "manifest.json").exists() and len(_manifest(work)) >= 5:
            break
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    finished = len(_manifest(work))
    assert 5 <= finished < 24 and not (tmp_path / "m.tif").exists()
    run, result = _run(scene, tiny_model, tmp_path, block=256, work_dir=str(work))
    assert (run.blocks.reused, run.blocks.computed) == (finished, 24 - finished)
    _same(result, reference)


def test_changed_parameters_are_refused(scene, tiny_model, tmp_path):
    from buildseg.engine.core.errors import BuildSegError
    from buildseg.engine.extract.inference import ExtractParams
    from buildseg.engine.scaleout.cluster import extract_blocks

    work = str(tmp_path / "w")
    extract_blocks(scene, tiny_model, str(tmp_path / "m.tif"), params=ExtractParams(**TILE), block=512,
                   work_dir=work, keep_blocks=True)
    with pytest.raises(BuildSegError, match="other parameters"):
        extract_blocks(scene, tiny_model, str(tmp_path / "m2.tif"), params=ExtractParams(threshold=0.3, **TILE),
                       block=512, work_dir=work)


def test_qgis_process_with_two_workers(scene, tiny_model, reference, tmp_path):
    out = qgis_process("run", "buildseg:extractbuildings", "--json", "--", f"INPUT={scene}", f"MODEL={tiny_model}",
                       "TILE_SIZE=128", "OVERLAP=64", "WORKERS=2", "BLOCK_SIZE=512",
                       f"OUTPUT_MASK={tmp_path / 'm.tif'}", f"OUTPUT_PROBABILITY={tmp_path / 'p.tif'}",
                       f"OUTPUT_POLYGONS={tmp_path / 'b.gpkg'}")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "executor local with 2 worker(s)" in out.stdout + out.stderr
    _same(_read(tmp_path / "m.tif", tmp_path / "p.tif", tmp_path / "b.gpkg"), reference)


def test_seams_keep_buildings_whole_and_diagonal_contacts_apart(tiny_model, tmp_path):
    """Hand-made 8 px blocks around a 4-block corner: a building across the vertical seam, one over the corner,
    and two pixels touching only diagonally across the horizontal seam."""
    from rasterio.transform import from_origin

    from buildseg.engine.extract.inference import ExtractParams, ExtractResult
    from buildseg.engine.models.modelfile import read_info
    from buildseg.engine.scaleout import cluster
    from buildseg.engine.scaleout.blocks import BlockJob

    mask = np.zeros((16, 16), np.uint8)
    mask[1:3, 6:10] = 1  # across the vertical seam (col 8)
    mask[6:10, 6:10] = 1  # over the corner of the four blocks
    mask[7, 1] = mask[8, 2] = 1  # diagonal contact across the horizontal seam (row 8)
    transform = from_origin(500000, 2800016, 1, 1)
    jobs = []
    for r in (0, 8):
        for c in (0, 8):
            job = BlockJob("", tiny_model, {}, 128, r, c, 8, 8, str(tmp_path))
            for kind, data, dtype, nodata in (("mask", mask, "uint8", 255), ("prob", mask * 0.9, "float32", -1)):
                with rasterio.open(job.paths()[kind], "w", driver="GTiff", width=8, height=8, count=1, dtype=dtype,
                                   nodata=nodata, crs="EPSG:32640",
                                   transform=transform * rasterio.Affine.translation(c, r)) as dst:
                    dst.write(data[r:r + 8, c:c + 8].astype(dtype)[None])
            jobs.append(job)
    run = ExtractResult()
    out = tmp_path / "b.gpkg"
    cluster._finalize(jobs, ("", tiny_model, read_info(tiny_model), None), (None, None, str(out)),
                      ExtractParams(min_area=0), str(tmp_path), cluster.Progress(), run)
    from osgeo import ogr

    ds = ogr.Open(str(out))
    areas = sorted(round(f.GetGeometryRef().GetArea()) for f in ds.GetLayer(0))
    assert areas == [1, 1, 8, 16] and run.buildings == 4
