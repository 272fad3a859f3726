"""A full disk is a failure, not a success: every algorithm that writes files, run with its outputs on a small
tmpfs the test mounts (skipped with the reason where mounting is not allowed), fails with a message that says
the disk is full and leaves nothing half-written behind."""

import os
import subprocess

import pytest

from conftest import DATA, crop, dubai, dubai_labels, recorder


@pytest.fixture
def small_disk(tmp_path):
    """A folder on a tmpfs of `size` bytes; unmounted afterwards."""
    mounts = []

    def make(size_kb: int):
        mnt = tmp_path / f"disk{len(mounts)}"
        mnt.mkdir()
        out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mnt)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here ({out.stderr.strip() or 'not permitted'})")
        mounts.append(mnt)
        return mnt

    yield make
    for mnt in mounts:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return crop(dubai("tile1_part1"), str(tmp_path_factory.mktemp("scene") / "s.tif"), 0, 0, 700, 700)


CASES = [
    ("extract-probability", "buildseg:extractbuildings", 1100,  # passes the up-front estimate, then fills
     lambda s, d, m: {"INPUT": s, "MODEL": m, "OUTPUT_MASK": f"{d}/mask.tif", "OUTPUT_PROBABILITY": f"{d}/p.tif",
                      "OUTPUT_POLYGONS": f"{d}/b.gpkg"}),
    ("extract-polygons-shapefile", "buildseg:extractbuildings", 12,
     lambda s, d, m: {"INPUT": s, "MODEL": m, "OUTPUT_POLYGONS": f"{d}/b.shp"}),
    ("prepare-tiles", "buildseg:preparetiles", 300,
     lambda s, d, m: {"INPUT": [s], "LABELS": dubai_labels("tile1_part1"), "TILE_SIZE": 128, "MODE": 0,
                      "STRIDE": 128, "OUTPUT": f"{d}/tiles"}),
    ("regularize", "buildseg:regularizefootprints", 40,
     lambda s, d, m: {"INPUT": dubai_labels("tile1_part1"), "OUTPUT": f"{d}/r.gpkg"}),
    ("train-model", "buildseg:trainmodel", 40,
     lambda s, d, m: {"INPUT": [s], "LABELS": dubai_labels("tile1_part1"), "ARCHITECTURE": 0, "FROM_SCRATCH": True,
                      "ALIGN_LABELS": False, "TILE_SIZE": 64, "EPOCHS": 1, "TILES_PER_EPOCH": 4, "BATCH_SIZE": 2,
                      "OUTPUT_MODEL": f"{d}/m.safetensors"}),
    ("export-onnx", "buildseg:exportonnx", 40, lambda s, d, m: {"MODEL": m, "OUTPUT": f"{d}/m.onnx"}),
    ("heatmap", "buildseg:exportheatmap", 300,
     lambda s, d, m: {"INPUT": s, "MODEL": m, "MODE": 0, "TILE_SIZE": 128, "OUTPUT": f"{d}/h.tif"}),
]


@pytest.mark.parametrize("case, alg, size_kb, params", CASES, ids=[c[0] for c in CASES])
def test_full_disk_fails_cleanly(run_alg, small_disk, scene, tiny_model, case, alg, size_kb, params):
    from qgis.core import QgsProcessingException

    disk = small_disk(size_kb)
    with pytest.raises(QgsProcessingException, match="(?i)no space left|disk is full|full disk"):
        run_alg(alg, params(scene, disk, tiny_model))
    assert os.listdir(disk) == [], "a half-written output was left behind"


def test_output_that_cannot_fit_is_refused_before_the_work(run_alg, small_disk, tiny_model):
    from qgis.core import QgsProcessingException

    disk = small_disk(2048)
    big = str(DATA / "cities" / "nairobi" / "image.tif")  # 4608 x 2048 px: ~19 MB of float probabilities
    feedback = recorder()
    with pytest.raises(QgsProcessingException, match=r"p\.tif needs about \d+ MB but .* has \d+ MB free"):
        run_alg("buildseg:extractbuildings", {"INPUT": big, "MODEL": tiny_model, "OUTPUT_PROBABILITY": f"{disk}/p.tif"},
                feedback=feedback)
    assert not any(line.startswith("Backend") for line in feedback.lines)  # refused before any tile ran
    assert os.listdir(disk) == []


def test_a_geotiff_cut_short_fails_its_check_without_a_full_read(tmp_path):
    """Written GeoTIFFs are checked by their block index, not read back whole: a file whose index is intact
    but whose last blocks were cut off (a write stopped by a full disk) fails, naming the block; whole files
    pass; a file that does not open fails."""
    import shutil

    from osgeo import gdal

    from buildseg.engine.core import atomic
    from buildseg.engine.core.errors import BuildSegError

    whole = str(tmp_path / "whole.tif")  # the index first (as COGs are laid out), so a cut leaves it readable
    gdal.Translate(whole, dubai("tile1_part1"), srcWin=[0, 0, 700, 700],
                   creationOptions=["TILED=YES", "COMPRESS=DEFLATE", "COPY_SRC_OVERVIEWS=YES"])
    atomic.verify_written(whole, whole)
    for name, keep in (("cut.tif", os.path.getsize(whole) - 3000), ("stub.tif", 100)):
        cut = str(tmp_path / name)
        shutil.copy(whole, cut)
        os.truncate(cut, keep)
        with pytest.raises(BuildSegError, match="could not be written completely"):
            atomic.verify_written(cut, cut)
    with pytest.raises(BuildSegError, match="block"):
        atomic.verify_written(str(tmp_path / "cut.tif"), str(tmp_path / "cut.tif"))
