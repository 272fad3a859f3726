"""Train from a JSON configuration, outside QGIS: the entry point for `torchrun` (multi-GPU / multi-process).

    PYTHONPATH=<folder holding the plugin> torchrun --standalone --nproc-per-node=2 --max-restarts=3 \\
        -m buildseg.engine.scaleout.train_cli run.json

The configuration (written by the 'Train building model' algorithm with TORCHRUN_PROCESSES > 0):
    {"scenes": [{"raster": path, "labels": {"shapes": [[GeoJSON, class id], ...], "area": [GeoJSON, ...],
                                             "incomplete": {"probability": path, "threshold": 0.5}}
                 | {"vector": path} | {"raster": path, "palette": {"#rrggbb": id}}, "role": "train"}],
     "out_model": path, "params": {TrainParams fields}, "resolution": metres, "out_report": path, "out_csv": path}
Every rank runs the same code; only rank 0 writes checkpoints, the model file and the reports, and a restarted
run resumes from the last checkpoint (`--max-restarts`).
"""

import json
import os
import sys

from ..core.atomic import atomic_path
from ..core.errors import BuildSegError
from ..core.paths import PLUGIN_DIR
from ..core.progress import PrintProgress


def scene_entry(scene) -> dict:
    """A training scene as a configuration entry; scene_from reads it back."""
    from ..io.labels import IncompleteLabels, PolygonLabels, RasterLabels

    incomplete = isinstance(scene.labels, IncompleteLabels) and isinstance(scene.labels.labels, PolygonLabels)
    if incomplete or isinstance(scene.labels, PolygonLabels):
        polygons = scene.labels.labels if incomplete else scene.labels
        labels = {"shapes": [[g, v] for g, v in polygons.shapes], "area": polygons.area, "gap_px": polygons.gap_px}
        if incomplete:
            labels["incomplete"] = {"probability": scene.labels.ds.name, "threshold": scene.labels.threshold}
    elif isinstance(scene.labels, RasterLabels) and (scene.labels.class_map is None or scene.labels.binary_255):
        palette = scene.labels.palette
        labels = {"raster": scene.labels.ds.name,
                  "palette": [[list(colour), i] for colour, i in palette.items()] if palette else None}
    else:
        raise BuildSegError("A torchrun configuration takes label polygons (complete or incomplete) or a label "
                            "raster; validation areas and folder datasets train in QGIS only.")
    return {"raster": scene.raster, "labels": labels, "role": scene.role}


def scene_from(entry: dict):
    """The training scene of a configuration entry (as scene_entry writes it; by hand, labels may also be
    {"vector": path of a polygon file})."""
    from ..io.labels import IncompleteLabels, PolygonLabels, RasterLabels
    from ..train.dataset import Scene

    labels = entry["labels"]
    if "raster" in labels:
        palette = labels.get("palette")
        lab = RasterLabels(labels["raster"], {tuple(c): i for c, i in palette} if palette else None)
    elif "vector" in labels:
        from ..evaluation.evaluate import polygons_from_file
        from ..io.raster import RasterSource

        with RasterSource(entry["raster"]) as src:
            lab = PolygonLabels(polygons_from_file(labels["vector"], src.crs_wkt), labels.get("area"),
                                labels.get("gap_px", 0))
    else:
        lab = PolygonLabels([tuple(s) for s in labels["shapes"]], labels.get("area"), labels.get("gap_px", 0))
    if labels.get("incomplete"):
        lab = IncompleteLabels(lab, labels["incomplete"]["probability"], labels["incomplete"]["threshold"])
    return Scene(entry["raster"], lab, role=entry.get("role", "train"))


def in_folder(path: str, folder: str) -> bool:
    """Whether the file `path` lies inside `folder` (compared by path components, not by string prefix)."""
    folder = os.path.abspath(folder)
    return os.path.commonpath([os.path.abspath(path), folder]) == folder


def keep_probability_rasters(scenes, out_model: str, work: str) -> list:
    """`scenes` with the probability rasters of incomplete labels that lie in the temporary folder `work`
    copied beside the model file (`<model>.incomplete<k>.tif`, atomically): the torchrun job runs later, after
    the temporary folder is gone."""
    import dataclasses
    import shutil

    from ..io.labels import IncompleteLabels

    out = []
    for k, scene in enumerate(scenes):
        lab = scene.labels
        if isinstance(lab, IncompleteLabels) and in_folder(lab.ds.name, work):
            kept = f"{out_model}.incomplete{k}.tif"
            with atomic_path(kept) as tmp:
                shutil.copyfile(lab.ds.name, tmp)
            scene = dataclasses.replace(scene, labels=IncompleteLabels(lab.labels, kept, lab.threshold))
        out.append(scene)
    return out


def config_for(scenes, out_model: str, params, resolution=None, out_report=None, out_csv=None) -> dict:
    """The JSON configuration of a training run; `run` trains from it."""
    import dataclasses

    return {"scenes": [scene_entry(s) for s in scenes], "out_model": out_model,
            "params": dataclasses.asdict(params), "resolution": resolution, "out_report": out_report,
            "out_csv": out_csv}


def write_config(path: str, config: dict) -> str:
    """Write a configuration file (atomically: a full disk leaves no half file); returns `path`."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(config, f)
    return path


def command(config_path: str, processes: int, restarts: int = 3) -> str:
    """The torchrun command line for a configuration file (PYTHONPATH names the plugin's folder)."""
    import shlex

    parent = os.path.dirname(PLUGIN_DIR)
    return (f"PYTHONPATH={shlex.quote(parent)} torchrun --standalone --nproc-per-node={processes} "
            f"--max-restarts={restarts} -m {__name__} {shlex.quote(config_path)}")


def run(config: dict):
    from ..train.loop import TrainParams, train

    scenes = [scene_from(e) for e in config["scenes"]]
    params = TrainParams(**config["params"])
    return train(scenes, config["out_model"], params, PrintProgress(), out_report=config.get("out_report"),
                 out_csv=config.get("out_csv"), resolution=config.get("resolution"))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__)
        return 2
    with open(argv[0]) as f:
        result = run(json.load(f))
    print(f"epochs run {result.epochs_run}, best epoch {result.best_epoch}")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # every output is written (atomically) and the process group destroyed: skip the interpreter's teardown,
    # where a rank could still abort ("terminate called without an active exception", SIGABRT) and fail the job
    os._exit(code)
