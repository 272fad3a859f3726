"""Headless QGIS for the tests: a real QgsApplication with Processing and the BuildSeg provider."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BUILDSEG_DATA", ROOT.parent / "shared" / "data")).resolve()
DUBAI = DATA / "dubai" / "scenes"
QGIS_PROCESS = ROOT / "scripts" / "qgis_process"
DEFAULT_MODEL = str(ROOT / "resources" / "models" / "buildings-default.safetensors")

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported
# The session's own model cache (ImageNet weights converted, INT8 calibrations), removed at its end
_CACHE = None
if not os.environ.get("BUILDSEG_CACHE"):
    _CACHE = os.environ["BUILDSEG_CACHE"] = tempfile.mkdtemp(prefix="buildseg-cache-")
# The checkout may have any folder name: import it as the `buildseg` package through a link.
_PLUGINS = Path(tempfile.mkdtemp(prefix="buildseg-plugins-"))
(_PLUGINS / "buildseg").symlink_to(ROOT)
sys.path.insert(0, str(_PLUGINS))
sys.path.append("/usr/share/qgis/python/plugins")
sys.path.append(str(ROOT / "scripts"))
from make_models3 import build_model3  # noqa: E402,F401 - re-exported for the tests

import buildseg.engine  # noqa: E402,F401 - as QGIS loads it: triton kept out before test modules import timm

QGIS_FIXTURES = {"qgis_app", "run_alg"}
DESKTOP_MODULES = {"test_desktop", "test_panel_desktop"}


def pytest_configure(config):
    config.addinivalue_line("markers", "qgis: needs QGIS (a QgsApplication, Processing or qgis_process)")
    config.addinivalue_line("markers", "desktop: drives the real QGIS desktop under Xvfb")


def pytest_unconfigure(config):
    """Leave nothing in the temporary folder: the session's cache and its plugin link (the link is removed, never
    followed)."""
    import shutil

    if _CACHE:
        shutil.rmtree(_CACHE, ignore_errors=True)
    (_PLUGINS / "buildseg").unlink(missing_ok=True)
    shutil.rmtree(_PLUGINS, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    """Mark what needs QGIS, so `pytest -m "not qgis"` runs the engine alone (and `-m "not desktop"` skips the
    Xvfb tier): by fixture, or by the module using QGIS or qgis_process at all."""
    uses_qgis = {}
    for item in items:
        path = Path(str(item.fspath))
        if path not in uses_qgis:
            text = path.read_text(encoding="utf-8")
            uses_qgis[path] = any(k in text for k in ("from qgis", "import qgis", "QGIS_PROCESS", "qgis_process"))
        if path.stem in DESKTOP_MODULES:
            item.add_marker(pytest.mark.desktop)
        if path.stem in DESKTOP_MODULES or uses_qgis[path] or QGIS_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.qgis)


@pytest.fixture(scope="session")
def qgis_app():
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    import buildseg

    plugin = buildseg.classFactory(None)
    plugin.initProcessing()
    yield app
    plugin.unload()


@pytest.fixture
def run_alg(qgis_app):
    """Run a Processing algorithm in-process; returns its results dict."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    def run(alg_id, params, feedback=None):
        from qgis.core import QgsApplication

        context = QgsProcessingContext()
        results = processing.run(alg_id, params, context=context, feedback=feedback or QgsProcessingFeedback())
        declared = {o.name() for o in QgsApplication.processingRegistry().algorithmById(alg_id).outputDefinitions()}
        undeclared = set(results) - declared
        assert not undeclared, f"{alg_id} returned outputs it does not declare: {sorted(undeclared)}"
        return results

    return run


def qgis_process(*args, timeout=900):
    """Run scripts/qgis_process as a user would; returns the CompletedProcess."""
    return subprocess.run([str(QGIS_PROCESS), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def dubai(name: str) -> str:
    path = DUBAI / f"{name}.tif"
    assert path.exists(), f"test data missing: {path} (see ../shared/data/README.md)"
    return str(path)


def dubai_labels(name: str) -> str:
    return str(DUBAI / f"{name}_buildings.gpkg")


def crop(src: str, dst: str, xoff: int, yoff: int, width: int, height: int, **kw) -> str:
    from osgeo import gdal

    gdal.Translate(dst, src, srcWin=[xoff, yoff, width, height], format="GTiff",
                   creationOptions=["TILED=YES", "COMPRESS=DEFLATE"], **kw)
    return dst


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A small RGB model trained on real Dubai scenes through the engine (seconds, not accuracy)."""
    from buildseg.engine.train import loop
    from buildseg.engine.train.dataset import Scene

    out = str(tmp_path_factory.mktemp("model") / "tiny.safetensors")
    scenes = [Scene(dubai(n), polygon_labels(dubai_labels(n))) for n in ("tile1_part1", "tile2_part1")]
    params = loop.TrainParams(architecture="unet", arch_params={"base": 8, "depth": 3}, tile_size=128,
                                  epochs=4, tiles_per_epoch=64, batch_size=8, lr=3e-3, val_fraction=0.0, seed=1,
                                  ema_decay=0.0, sensor_augment=True, best_epoch=False)  # 32 steps, raw weights
    loop.train(scenes, out, params, resolution=1.0)
    return out


def polygon_labels(gpkg: str, layer: str = None):
    import json

    from osgeo import ogr

    from buildseg.engine.io.labels import PolygonLabels

    ds = ogr.Open(gpkg)
    lyr = ds.GetLayerByName(layer) if layer else ds.GetLayer(0)
    return PolygonLabels([(json.loads(f.GetGeometryRef().ExportToJson()), 1) for f in lyr])


def newer_format_copy(model: str, out: str) -> str:
    """A copy of a model file whose metadata claims the next model format version."""
    from buildseg.engine.models import modelfile

    return edited_header_copy(model, out, format_version=modelfile.FORMAT_VERSION + 1)


def edited_header_copy(model: str, out: str, **changes) -> str:
    """A copy of a model file with fields of its BuildSeg metadata replaced."""
    import json
    import struct

    data = open(model, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = json.loads(header["__metadata__"]["buildseg"])
    meta.update(changes)
    header["__metadata__"]["buildseg"] = json.dumps(meta)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    open(out, "wb").write(struct.pack("<Q", len(raw)) + raw + data[8 + n:])
    return out


def recorder():
    """A QgsProcessingFeedback that keeps what an algorithm says: `lines` (everything), `warnings`
    (pushWarning and non-fatal reportError), `errors`."""
    from qgis.core import QgsProcessingFeedback

    class Recorder(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.lines, self.warnings, self.errors = [], [], []

        def pushInfo(self, info):  # noqa: N802 - QGIS API name
            self.lines.append(info)

        def pushWarning(self, warning):  # noqa: N802 - QGIS API name
            self.lines.append(warning)
            self.warnings.append(warning)

        def reportError(self, error, fatalError=False):  # noqa: N802, N803 - QGIS API names
            self.lines.append(error)
            (self.errors if fatalError else self.warnings).append(error)

    return Recorder()


def progress_log():
    """An engine Progress that keeps what a run says, information and warnings alike, in `lines` (the engine's
    counterpart of recorder())."""
    from buildseg.engine.core.progress import Progress

    class Log(Progress):
        def __init__(self):
            self.lines = []

        def info(self, message):
            self.lines.append(message)

        warn = info

    return Log()
