"""Screenshots of the real QGIS desktop (Xvfb, the `qgis` binary, BuildSeg enabled in a private profile) for
README: the Extract buildings dialog, the styled outputs on the bundled sample, the training report; with
--panel, the BuildSeg panel after extracting on the view and after a one-minute retrain.

    .venv/bin/python scripts/desktop_screenshots.py [--panel]   (writes docs/desktop_*.png)
"""

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "desktop"))
from launch import run_plan  # noqa: E402

SAMPLE = str(ROOT / "resources" / "sample" / "sample.tif")


def panel_shots():
    work = Path(tempfile.mkdtemp(prefix="buildseg-panel-shots-"))
    (work / "project").mkdir()
    labels = str(ROOT / "resources" / "sample" / "sample_buildings.gpkg")
    from osgeo import ogr

    ds = ogr.Open(labels)
    wkts = [f.GetGeometryRef().ExportToWkt() for f in ds.GetLayer(0)]
    steps = [{"id": "open", "panel": "open", "args": [str(work / "project")]},
             {"id": "raster", "panel": "add_raster", "args": [SAMPLE]},
             {"id": "run", "panel": "run_on_view", "timeout": 300},
             {"id": "labels", "panel": "create_labels", "args": [str(work / "project" / "labels.gpkg")]},
             {"id": "draw", "panel": "draw", "args": ["buildings", wkts]},
             {"id": "retrain", "panel": "retrain", "args": [1.0], "timeout": 400},
             {"id": "uncertainty", "panel": "uncertainty", "timeout": 300}]
    (work / "models").mkdir()  # trained models go there, not into the user's model folder
    code, report, output = run_plan(steps, work, settings={
        "Processing": {"Configuration\\BUILDSEG_MODEL_FOLDER": str(work / "models")}})
    if code != 0 or report is None:
        sys.exit(f"QGIS exit {code}: {output[-2000:]}")
    for src, dst in (("run_window", "desktop_panel_run"), ("uncertainty_panel", "desktop_panel")):
        shutil.copy(work / "shots" / f"{src}.png", ROOT / "docs" / f"{dst}.png")
        print(ROOT / "docs" / f"{dst}.png")


def main():
    if "--panel" in sys.argv[1:]:
        panel_shots()
        return
    work = Path(tempfile.mkdtemp(prefix="buildseg-shots-"))
    steps = [
        {"id": "extract", "alg": "buildseg:extractbuildings", "timeout": 300,
         "params": {"INPUT": SAMPLE, "OUTPUT_MASK": "TEMPORARY_OUTPUT", "OUTPUT_PROBABILITY": "TEMPORARY_OUTPUT",
                    "OUTPUT_POLYGONS": "TEMPORARY_OUTPUT"}},
        {"id": "train", "alg": "buildseg:trainmodel", "timeout": 600, "show_html": "OUTPUT_REPORT",
         "params": {"INPUT": [SAMPLE], "LABELS": str(ROOT / "resources" / "sample" / "sample_buildings.gpkg"),
                    "EPOCHS": 2, "TILES_PER_EPOCH": 16, "BATCH_SIZE": 4, "TILE_SIZE": 128,
                    "OUTPUT_MODEL": str(work / "m.safetensors"), "OUTPUT_REPORT": str(work / "report.html")}},
    ]
    code, report, output = run_plan(steps, work)
    if code != 0 or report is None:
        sys.exit(f"QGIS exit {code}: {output[-2000:]}")
    shots = work / "shots"
    for src, dst in (("extract_dialog", "desktop_extract_dialog"), ("extract_window", "desktop_outputs"),
                     ("train_dialog", "desktop_train_dialog"), ("train_html", "desktop_training_report")):
        shutil.copy(shots / f"{src}.png", ROOT / "docs" / f"{dst}.png")
        print(ROOT / "docs" / f"{dst}.png")


if __name__ == "__main__":
    main()
