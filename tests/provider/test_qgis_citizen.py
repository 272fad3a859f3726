"""QGIS integration: provider settings, batch and folder extraction with one model load."""

import os
import shutil

import pytest
import rasterio

from conftest import crop, dubai
from conftest import recorder as Log  # noqa: N813

EXTRACT = "buildseg:extractbuildings"


@pytest.fixture(scope="module")
def rasters(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch")
    for i, name in enumerate(("tile8_part1", "tile8_part2", "tile8_part3")):
        crop(dubai(name), str(d / f"scene{i}.tif"), 100, 100, 256, 200)
    (d / "notes.txt").write_text("not a raster")
    return d


@pytest.fixture
def setting(qgis_app):
    """setting(key, value): change a BuildSeg provider setting for one test."""
    from processing.core.ProcessingConfig import ProcessingConfig

    old = {}

    def change(key, value):
        old.setdefault(key, ProcessingConfig.getSetting(key))
        ProcessingConfig.setSettingValue(key, value)

    yield change
    for key, value in old.items():
        ProcessingConfig.setSettingValue(key, value)


def test_settings_are_registered(qgis_app):
    from processing.core.ProcessingConfig import ProcessingConfig

    for key in ("BUILDSEG_DEVICE", "BUILDSEG_MODEL_FOLDER", "BUILDSEG_THREADS"):
        assert key in ProcessingConfig.settings
        assert ProcessingConfig.settings[key].group == "BuildSeg"


def test_device_and_threads_settings_change_the_device_used(run_alg, rasters, tiny_model, setting, tmp_path):
    from qgis.core import QgsProcessingException

    params = {"INPUT": str(rasters / "scene0.tif"), "MODEL": tiny_model, "TILE_SIZE": 128,
              "OUTPUT_MASK": str(tmp_path / "m.tif")}
    setting("BUILDSEG_THREADS", 1)
    log = Log()
    run_alg(EXTRACT, params, feedback=log)
    assert any(line.startswith("Device: CPU: 1 threads") for line in log.lines), log.lines
    import os

    assert os.environ.get("BUILDSEG_THREADS") != "1"  # passed to the run, not left in the process's environment
    setting("BUILDSEG_THREADS", 0)
    log = Log()
    run_alg(EXTRACT, params, feedback=log)
    from buildseg.engine.core.device import cpu_threads

    assert any(line.startswith(f"Device: CPU: {cpu_threads()} threads") for line in log.lines), log.lines
    setting("BUILDSEG_DEVICE", "cuda")
    import torch

    if torch.cuda.is_available():
        log = Log()
        run_alg(EXTRACT, params, feedback=log)
        assert any(line.startswith("Device: CUDA GPU") for line in log.lines)
    else:  # DEVICE=auto now means cuda, which this machine lacks: the setting is honoured
        with pytest.raises(QgsProcessingException, match="'cuda' was requested"):
            run_alg(EXTRACT, params)
        log = Log()
        run_alg(EXTRACT, dict(params, DEVICE=1), feedback=log)  # an explicit device beats the setting
        assert any(line.startswith("Device: CPU") for line in log.lines)


def test_model_folder_setting(run_alg, rasters, tiny_model, setting, tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(tiny_model, folder / "default.safetensors")
    shutil.copy(tiny_model, folder / "city.safetensors")
    setting("BUILDSEG_MODEL_FOLDER", str(folder))
    params = {"INPUT": str(rasters / "scene0.tif"), "TILE_SIZE": 128, "OUTPUT_MASK": str(tmp_path / "m.tif")}
    # empty: the folder's default.safetensors; a bare file name: looked up in the folder
    for model in ("", "city.safetensors"):
        log = Log()
        run_alg(EXTRACT, dict(params, MODEL=model), feedback=log)
        assert any(line.startswith("Model: unet") for line in log.lines), log.lines  # the tiny U-Net


def test_batch_of_rasters_loads_the_model_once(run_alg, rasters, tiny_model, tmp_path):
    """What Processing's batch dialog does: one run per raster, in one process; the model is loaded once."""
    from buildseg.processing_provider.extraction_options import MODEL_CACHE

    loads = MODEL_CACHE.loads
    for i in range(3):
        run_alg(EXTRACT, {"INPUT": str(rasters / f"scene{i}.tif"), "MODEL": tiny_model, "TILE_SIZE": 128,
                          "OVERLAP": 16, "OUTPUT_MASK": str(tmp_path / f"mask{i}.tif")})
        assert os.path.exists(tmp_path / f"mask{i}.tif")
    assert MODEL_CACHE.loads - loads <= 1


def test_folder_extraction(run_alg, rasters, tiny_model, tmp_path):
    from buildseg.processing_provider.extraction_options import MODEL_CACHE

    shutil.copy(rasters / "scene0.tif", rasters / "broken.tif")
    with open(rasters / "broken.tif", "r+b") as f:  # a corrupt raster is skipped, not fatal
        f.truncate(100)
    loads = MODEL_CACHE.loads
    log = Log()
    res = run_alg("buildseg:extractfolder", {"INPUT": str(rasters), "MODEL": tiny_model, "TILE_SIZE": 128,
                                             "WRITE_PROBABILITY": True, "OUTPUT": str(tmp_path / "out")},
                  feedback=log)
    os.remove(rasters / "broken.tif")
    assert res["PROCESSED"] == 3 and res["FAILED"] == 1
    assert any("broken.tif" in line for line in log.lines)
    assert MODEL_CACHE.loads - loads <= 1
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == sorted(f"scene{i}_{s}" for i in range(3) for s in ("mask.tif", "probability.tif",
                                                                       "buildings.gpkg"))
    for i in range(3):
        with rasterio.open(tmp_path / "out" / f"scene{i}_mask.tif") as m, \
                rasterio.open(rasters / f"scene{i}.tif") as s:
            assert m.transform == s.transform and m.crs == s.crs


def test_chinese_translation_is_shipped_and_used(qgis_app):
    import shutil
    import subprocess
    import xml.etree.ElementTree as ET

    from qgis.core import QgsApplication
    from qgis.PyQt.QtCore import QCoreApplication

    from buildseg.plugin import I18N, install_translator

    ts = ET.parse(os.path.join(I18N, "buildseg_zh.ts")).getroot()
    messages = ts.findall("context/message")
    done = [m for m in messages if m.find("translation").get("type") is None]
    assert len(done) >= 0.8 * len(messages) and len(messages) > 50
    translator = install_translator("zh_CN")
    assert translator is not None
    try:
        alg = QgsApplication.processingRegistry().createAlgorithmById(EXTRACT)
        assert alg.displayName() == "提取建筑物" and alg.group() == "提取"
        assert alg.parameterDefinition("AOI").description() == "感兴趣区域"
    finally:
        QCoreApplication.removeTranslator(translator)
    assert QgsApplication.processingRegistry().createAlgorithmById(EXTRACT).displayName() == "Extract buildings"
    if shutil.which("lrelease"):  # the shipped .qm is compiled from the current .ts
        out = os.path.join(os.environ.get("TMPDIR", "/tmp"), "buildseg_zh_check.qm")
        subprocess.run(["lrelease", "-silent", os.path.join(I18N, "buildseg_zh.ts"), "-qm", out], check=True)
        assert open(out, "rb").read() == open(os.path.join(I18N, "buildseg_zh.qm"), "rb").read()


def test_parameters_are_checked_before_running(qgis_app, rasters):
    from qgis.core import QgsApplication, QgsProcessingContext

    alg = QgsApplication.processingRegistry().createAlgorithmById(EXTRACT)
    base = {"INPUT": str(rasters / "scene0.tif"), "OUTPUT_MASK": "/tmp/m.tif"}
    context = QgsProcessingContext()
    assert alg.checkParameterValues(base, context)[0]
    for bad, words in (({"TILE_SIZE": 128, "OVERLAP": 100}, "at most half"),
                       ({"OUTPUT_MASK": None}, "at least one output"),
                       ({"WORKERS": 2, "SCHEDULER": "tcp://127.0.0.1:8786"}, "not both")):
        ok, message = alg.checkParameterValues(dict(base, **bad), context)
        assert not ok and words in message, message


def test_qt_enums_are_scoped(qgis_app):
    """Qt enum members are written with their enum's name (Qt.ItemDataRole.UserRole, not Qt.UserRole): the
    only form PyQt6 (QGIS 4) accepts; PyQt5 takes both. Every `Q<Class>.<Name>` of a Qt class in the plugin's
    code that names an enum member directly is listed."""
    import re
    from pathlib import Path

    from qgis.PyQt import QtCore, QtGui, QtWidgets

    root = Path(__file__).resolve().parents[2]
    modules = (QtCore, QtGui, QtWidgets)
    unscoped = []
    for path in [root / "plugin.py", *(root / "processing_provider").glob("*.py"), *(root / "ui").glob("*.py")]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for cls, name in re.findall(r"\b(Q[A-Za-z]\w*)\.([A-Z]\w*)\b(?!\.)", line):
                owner = next((getattr(m, cls) for m in modules if hasattr(m, cls)), None)
                member = getattr(owner, name, None) if owner is not None else None
                if isinstance(member, int) and type(member) is not int:  # an enum member, not its enum
                    unscoped.append(f"{path.name}:{n}: {cls}.{name}")
    assert not unscoped, unscoped


def test_every_label_reaches_the_translation_files(qgis_app):
    """Every label an algorithm shows (parameters, outputs, names, groups) is a message of the shipped
    translation file, so translators see it (61 labels kept in tables and passed to tr() by name were missed
    before: `make translations` now collects them from the algorithms too)."""
    import xml.etree.ElementTree as ET

    from qgis.core import QgsApplication

    from conftest import ROOT

    messages = {m.findtext("source") for m in ET.parse(ROOT / "i18n" / "buildseg_zh.ts").iter("message")}
    missing = []
    for alg in QgsApplication.processingRegistry().providerById("buildseg").algorithms():
        for text in [alg.displayName()] + [p.description() for p in alg.parameterDefinitions()] + \
                [o.description() for o in alg.outputDefinitions()]:
            if text not in messages:
                missing.append((alg.name(), text))
    assert not missing, missing
