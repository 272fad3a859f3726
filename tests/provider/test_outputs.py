"""Every algorithm, run once on a small real scene: it returns exactly its declared outputs (less those it
writes only on request or in another mode), so `qgis_process help` and the model designer see what it gives."""

from pathlib import Path

import pytest
import rasterio

from conftest import crop, dubai, dubai_labels, polygon_labels

# outputs an algorithm writes only when asked (optional destinations) or in another mode (torchrun)
CONDITIONAL = {
    "trainmodel": {"OUTPUT_REPORT", "OUTPUT_METRICS", "TORCHRUN_CONFIG", "TORCHRUN_COMMAND",
                   "OUTPUT_STALE_LABELS"},
    "trainfrommasks": {"OUTPUT_REPORT", "OUTPUT_METRICS", "TORCHRUN_CONFIG", "TORCHRUN_COMMAND"},
    "extractbuildings": {"OUTPUT_PROBABILITY"},
    "exportheatmap": {"OUTPUT_QUICKLOOK"},
    "exportkernels": {"OUTPUT_REPORT"},
    "pseudomasks": {"OUTPUT_CAM", "OUTPUT_REPORT"},
    "refinecrf": {"OUTPUT_PROBABILITY"},
    "evaluate": {"PIXEL_IOU_PER_TILE_MEAN", "TILES_AVERAGED"},
}
TRAIN = {"ALIGN_LABELS": False, "ARCHITECTURE": 0, "FROM_SCRATCH": True, "TILE_SIZE": 64, "EPOCHS": 1,
         "TILES_PER_EPOCH": 4,
         "BATCH_SIZE": 2}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = tmp_path_factory.mktemp("scene")
    image = crop(dubai("tile1_part1"), str(d / "image.tif"), 0, 0, 256, 256)
    with rasterio.open(image) as src:
        profile = dict(src.profile, count=1, dtype="uint8", nodata=None)
        mask = str(d / "mask.tif")
    labels = dubai_labels("tile1_part1")
    with rasterio.open(image) as src:
        arr = polygon_labels(labels).read(src.transform, 0, 0, 256, 256)
    with rasterio.open(mask, "w", **profile) as dst:
        dst.write((arr == 1).astype("uint8"), 1)
    prob = str(d / "prob.tif")
    with rasterio.open(prob, "w", **dict(profile, dtype="float32")) as dst:
        dst.write((arr == 1).astype("float32") * 0.8 + 0.1, 1)
    import segmentation_models_pytorch as smp
    import torch

    weights = str(d / "smp.pth")
    torch.save(smp.Unet("resnet18", encoder_weights=None, classes=2).state_dict(), weights)
    return {"image": image, "labels": labels, "mask": mask, "prob": prob, "weights": weights}


def recipes(s, model, tmp):
    out = lambda name: str(tmp / name)  # noqa: E731
    return {
        "extractbuildings": {"INPUT": s["image"], "MODEL": model, "OUTPUT_MASK": out("m.tif"),
                             "OUTPUT_POLYGONS": out("p.gpkg")},
        "extractfolder": {"INPUT": None, "MODEL": model, "OUTPUT": out("folder")},  # a folder made in the test
        "trainmodel": {"INPUT": [s["image"]], "LABELS": s["labels"], **TRAIN, "OUTPUT_MODEL": out("t.safetensors")},
        "trainfrommasks": {"INPUT": [s["image"]], "LABEL_RASTER": s["mask"], **TRAIN,
                           "OUTPUT_MODEL": out("tm.safetensors")},
        "preparetiles": {"INPUT": [s["image"]], "LABELS": s["labels"], "TILE_SIZE": 128, "OUTPUT": out("tiles")},
        "pseudomasks": {"INPUT": s["image"], "LABELS": s["labels"], "TILE_SIZE": 64, "EPOCHS": 1, "ADV_STEPS": 1,
                        "BACKBONE": 0, "CRF_ITERATIONS": 1, "OUTPUT": out("pseudo.tif")},
        "exportheatmap": {"INPUT": s["image"], "MODEL": model, "MODE": 0, "TILE_SIZE": 128, "OVERLAP": 0,
                          "OUTPUT": out("h.tif")},
        "exportkernels": {"MODEL": model, "OUTPUT": out("k.png")},
        "evaluate": {"INPUT": s["mask"], "LABELS": s["labels"], "OUTPUT_REPORT": out("e.csv"), "OUTPUT": out("e.gpkg")},
        "regularizefootprints": {"INPUT": s["labels"], "OUTPUT": out("r.gpkg")},
        "createlabels": {"INPUT": s["image"], "OUTPUT": out("labels.gpkg")},
        "refinecrf": {"INPUT": s["image"], "PROBABILITY": s["prob"], "ITERATIONS": 1, "TILE_SIZE": 256,
                      "OUTPUT_MASK": out("crf.tif")},
        "exportonnx": {"MODEL": model, "OUTPUT": out("m.onnx")},
        "importweights": {"INPUT": s["weights"], "ENCODER": "resnet18", "OUTPUT_MODEL": out("i.safetensors")},
        "checkdependencies": {"INSTALL": False, "OUTPUT": out("deps.json")},
        "checkfit": {"INPUT": s["image"], "MODEL": model, "OUTPUT_REPORT": out("fit.json")},
    }


def test_every_algorithm_has_a_recipe(qgis_app, scene, tiny_model, tmp_path):
    from qgis.core import QgsApplication

    ids = {a.name() for a in QgsApplication.processingRegistry().providerById("buildseg").algorithms()}
    assert ids == set(recipes(scene, tiny_model, tmp_path))


@pytest.mark.parametrize("name", sorted(recipes({k: "" for k in ("image", "labels", "mask", "prob", "weights")}, "",
                                                Path("/"))))
def test_returns_its_declared_outputs(run_alg, scene, tiny_model, tmp_path, name):
    from qgis.core import QgsApplication

    params = recipes(scene, tiny_model, tmp_path)[name]
    if name == "extractfolder":
        (tmp_path / "in").mkdir()
        import shutil

        shutil.copy(scene["image"], tmp_path / "in" / "a.tif")
        params["INPUT"] = str(tmp_path / "in")
    results = run_alg(f"buildseg:{name}", params)  # run_alg: nothing returned that is not declared
    declared = {o.name() for o in QgsApplication.processingRegistry().algorithmById(f"buildseg:{name}")
                .outputDefinitions()}
    assert declared - CONDITIONAL.get(name, set()) <= set(results), declared - set(results)
