"""The extraction options: one parameter set composed into every algorithm that extracts buildings ('Extract
buildings', 'Extract buildings from a folder'): their names, their Processing parameters (the advanced group)
and the engine's ExtractParams made from them."""

from qgis.core import (
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ..engine.core.cache import ModelCache
from ..engine.extract.predict import BACKENDS as BACKEND_OPTIONS
from ..engine.extract.predict import TTA_MODES as TTA_OPTIONS

BANDS = "BANDS"
TILE_SIZE = "TILE_SIZE"
OVERLAP = "OVERLAP"
BATCH_SIZE = "BATCH_SIZE"
BACKEND = "BACKEND"
THRESHOLD = "THRESHOLD"
TTA = "TTA"
MIN_AREA = "MIN_AREA"
SIMPLIFY = "SIMPLIFY"
FILL_HOLES = "FILL_HOLES"
SEPARATE = "SEPARATE"
REGULARIZE = "REGULARIZE"
PROBABILITY_UINT8 = "PROBABILITY_UINT8"
CHECK_FIT = "CHECK_FIT"
ADAPT = "ADAPT_NORMALISATION"
SCENE_COLOURS = "SCENE_COLOURS"
WORK_RESOLUTION = "WORK_RESOLUTION"
TARGET_CLASS = "TARGET_CLASS"

MODEL_CACHE = ModelCache()  # loaded models, shared by the extraction algorithms of this QGIS process


def parameters(alg) -> list:
    """Tiling, device, backend and post-processing parameters, labelled through `alg`."""
    tr = alg.tr
    return alg.tiling_parameters() + [
        QgsProcessingParameterEnum(BACKEND, tr("Inference backend"), BACKEND_OPTIONS, defaultValue=0),
        QgsProcessingParameterNumber(THRESHOLD, tr("Building probability threshold"),
                                     QgsProcessingParameterNumber.Double, 0.5, False, 0.0, 1.0),
        QgsProcessingParameterEnum(TTA, tr("Test-time augmentation"), TTA_OPTIONS, defaultValue=0),
        QgsProcessingParameterNumber(MIN_AREA, tr("Minimum building area (m²)"),
                                     QgsProcessingParameterNumber.Double, 10.0, False, 0.0),
        QgsProcessingParameterNumber(SIMPLIFY, tr("Simplification tolerance (map units)"),
                                     QgsProcessingParameterNumber.Double, 0.0, False, 0.0),
        QgsProcessingParameterBoolean(FILL_HOLES, tr("Fill holes in buildings"), False),
        QgsProcessingParameterBoolean(SEPARATE, tr("Separate touching buildings"), True),
        QgsProcessingParameterBoolean(REGULARIZE, tr("Regularize footprints"), False),
        QgsProcessingParameterBoolean(PROBABILITY_UINT8, tr("Probability as uint8 (0..254)"), False),
        QgsProcessingParameterBoolean(CHECK_FIT, tr("Check model fit first"), True),
        QgsProcessingParameterBoolean(ADAPT, tr("Adapt the model's normalisation statistics to this imagery (no "
                                                "labels needed)"), False),
        QgsProcessingParameterBoolean(SCENE_COLOURS, tr("Standardise each band by this scene's own statistics "
                                                        "(imagery unlike the model's; always on for models trained "
                                                        "so)"), False),
        QgsProcessingParameterString(TARGET_CLASS, tr("Class to extract, by name or id (multi-class models)"),
                                     "building"),
        QgsProcessingParameterNumber(WORK_RESOLUTION, tr("Run the model at this ground resolution (m/pixel; 0: the "
                                                         "model's own; coarser is faster on coarse imagery)"),
                                     QgsProcessingParameterNumber.Double, 0.0, False, 0.0),
    ]


def extract_params(alg, values, context, aoi=None):
    """The engine's ExtractParams from the algorithm's parameter values (BANDS where the algorithm has it)."""
    from ..engine.extract.inference import ExtractParams

    return ExtractParams(
        bands=alg.parameterAsInts(values, BANDS, context) or None,
        tile_size=alg.parameterAsInt(values, TILE_SIZE, context),
        overlap=alg.parameterAsInt(values, OVERLAP, context),
        batch_size=alg.parameterAsInt(values, BATCH_SIZE, context),
        device=alg.device_choice(values, context), threads=alg.threads(),
        backend=BACKEND_OPTIONS[alg.parameterAsEnum(values, BACKEND, context)],
        threshold=alg.parameterAsDouble(values, THRESHOLD, context),
        tta=TTA_OPTIONS[alg.parameterAsEnum(values, TTA, context)],
        min_area=alg.parameterAsDouble(values, MIN_AREA, context),
        simplify=alg.parameterAsDouble(values, SIMPLIFY, context),
        fill_holes=alg.parameterAsBool(values, FILL_HOLES, context),
        separate=alg.parameterAsBool(values, SEPARATE, context),
        regularize=alg.parameterAsBool(values, REGULARIZE, context),
        probability_uint8=alg.parameterAsBool(values, PROBABILITY_UINT8, context),
        check_fit=alg.parameterAsBool(values, CHECK_FIT, context),
        adapt=alg.parameterAsBool(values, ADAPT, context),
        scene_colours=alg.parameterAsBool(values, SCENE_COLOURS, context),
        target_class=alg.parameterAsString(values, TARGET_CLASS, context).strip() or "building",
        work_resolution=alg.parameterAsDouble(values, WORK_RESOLUTION, context),
        aoi=aoi)
