"""Write the example graphical models shipped in resources/models3/ (open them in the Model Designer).

    QT_QPA_PLATFORM=offscreen python scripts/make_models3.py

- extract_regularize_evaluate.model3: raster (+ optional model) -> Extract buildings -> Regularize footprints
  -> Evaluate against reference polygons: regularized buildings and a metrics table.
- prepare_train_extract.model3: raster + labelled polygons -> Prepare training tiles -> Train building model
  (from the tile folder) -> Extract buildings with the new model: the model file and the buildings.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "models3"


def build_model3(path, name: str, inputs: list, steps: list, outputs: dict, group: str = "BuildSeg") -> str:
    """Write a graphical model: `inputs` are QgsProcessingParameter definitions, `steps` are
    (child id, algorithm id, {parameter: source}) with sources from QgsProcessingModelChildParameterSource,
    `outputs` maps a child id to [(model output name, child output name)]."""
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
    )
    from qgis.PyQt.QtCore import QPointF

    model = QgsProcessingModelAlgorithm(name, group)
    for i, definition in enumerate(inputs):  # laid out for the Model Designer: inputs on top, steps below
        component = QgsProcessingModelParameter(definition.name())
        component.setPosition(QPointF(120 + 220 * i, 60))
        model.addModelParameter(definition, component)
    for i, (child_id, alg, sources) in enumerate(steps):
        child = QgsProcessingModelChildAlgorithm(alg)
        child.setChildId(child_id)
        child.setPosition(QPointF(220 + 240 * i, 200 + 120 * i))
        child.setDescription(child_id.replace("_", " ").capitalize())
        for parameter, source in sources.items():
            child.addParameterSources(parameter, [source])
        declared = outputs.get(child_id, [])
        if isinstance(declared, tuple):
            declared = [declared]
        model_outputs = {}
        for out_name, child_output in declared:
            out = QgsProcessingModelOutput(out_name, out_name)
            out.setPosition(QPointF(420 + 240 * i, 200 + 120 * i))
            out.setChildId(child_id)
            out.setChildOutputName(child_output)
            model_outputs[out_name] = out
        child.setModelOutputs(model_outputs)
        model.addChildAlgorithm(child)
    assert model.toFile(str(path)), f"cannot write {path}"
    return str(path)


def write_examples(folder: Path = OUT) -> list:
    from qgis.core import (
        QgsProcessingModelChildParameterSource as Src,
    )
    from qgis.core import (
        QgsProcessingParameterFile,
        QgsProcessingParameterNumber,
        QgsProcessingParameterRasterLayer,
        QgsProcessingParameterVectorLayer,
    )

    folder.mkdir(parents=True, exist_ok=True)
    a = build_model3(
        folder / "extract_regularize_evaluate.model3", "Extract, regularize and evaluate buildings",
        [QgsProcessingParameterRasterLayer("raster", "Raster"),
         QgsProcessingParameterFile("model", "Model file (empty: default model)", extension="safetensors",
                                    optional=True),
         QgsProcessingParameterVectorLayer("reference", "Reference building polygons")],
        [("extract", "buildseg:extractbuildings", {"INPUT": Src.fromModelParameter("raster"),
                                                   "MODEL": Src.fromModelParameter("model")}),
         ("regularize", "buildseg:regularizefootprints",
          {"INPUT": Src.fromChildOutput("extract", "OUTPUT_POLYGONS")}),
         ("evaluate", "buildseg:evaluate", {"PREDICTED_POLYGONS": Src.fromChildOutput("regularize", "OUTPUT"),
                                            "LABELS": Src.fromModelParameter("reference")})],
        {"regularize": ("buildings", "OUTPUT"), "evaluate": ("metrics", "OUTPUT_REPORT")})
    integer = QgsProcessingParameterNumber.Integer
    b = build_model3(
        folder / "prepare_train_extract.model3", "Prepare tiles, train a model and extract buildings",
        [QgsProcessingParameterRasterLayer("raster", "Raster"),
         QgsProcessingParameterVectorLayer("labels", "Labelled building polygons"),
         QgsProcessingParameterNumber("epochs", "Epochs", integer, 10, False, 1),
         QgsProcessingParameterNumber("tiles_per_epoch", "Tiles per epoch", integer, 256, False, 1)],
        [("prepare_tiles", "buildseg:preparetiles", {"INPUT": Src.fromModelParameter("raster"),
                                                     "LABELS": Src.fromModelParameter("labels"),
                                                     "TILE_SIZE": Src.fromStaticValue(256)}),
         ("train", "buildseg:trainfrommasks", {"DATASET_FOLDER": Src.fromChildOutput("prepare_tiles", "OUTPUT"),
                                           "EPOCHS": Src.fromModelParameter("epochs"),
                                           "TILES_PER_EPOCH": Src.fromModelParameter("tiles_per_epoch"),
                                           "TILE_SIZE": Src.fromStaticValue(128)}),
         ("extract", "buildseg:extractbuildings", {"INPUT": Src.fromModelParameter("raster"),
                                                   "MODEL": Src.fromChildOutput("train", "OUTPUT_MODEL")})],
        {"train": ("model", "OUTPUT_MODEL"), "extract": ("buildings", "OUTPUT_POLYGONS")})
    return [a, b]


def main() -> int:
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    for path in write_examples():
        print(path)
    app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
