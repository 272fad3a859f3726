"""Extract buildings: raster + model -> building mask, probability heatmap, polygons."""

from qgis.core import (
    QgsApplication,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBand,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
)

from . import extraction_options, layers
from .base import BuildSegAlgorithm, FeedbackProgress
from .styling import RunGroup, StyleLayer


class ExtractBuildings(BuildSegAlgorithm):
    INPUT = "INPUT"
    MODEL = "MODEL"
    AOI = "AOI"
    EXTENT = "EXTENT"
    TARGET_CRS = "TARGET_CRS"
    WORKERS = "WORKERS"
    SCHEDULER = "SCHEDULER"
    BLOCK_SIZE = "BLOCK_SIZE"
    OUTPUT_MASK = "OUTPUT_MASK"
    OUTPUT_PROBABILITY = "OUTPUT_PROBABILITY"
    OUTPUT_POLYGONS = "OUTPUT_POLYGONS"

    NAME = "extractbuildings"
    DISPLAY = "Extract buildings"
    GROUP = "extraction"
    README_ANCHOR = "extract-buildings"
    HELP = (
        "Finds buildings in a raster with a deep-learning model and returns them as layers.\n\n"
        "<b>Input raster</b>: any GDAL raster (GeoTIFF, JPEG2000, VRT; 8/16-bit or float; 1..N bands) in a "
        "projected or geographic CRS; resampled on the fly to the model's ground resolution (measured on the "
        "ground: Web Mercator too). 16-bit or 0..1 imagery given to a model trained on 8-bit imagery is "
        "standardised on the scene's own band statistics (logged).\n"
        "<b>Model</b>: a BuildSeg .safetensors model file; empty = the bundled default model (RGB, 0.3 m); "
        "<i>auto</i> = the bundled model whose training imagery covers the input's ground resolution "
        "(buildings-blocks for imagery coarser than about 0.6 m).\n"
        "<b>Bands</b>: raster bands fed to the model, in order; empty = the model's own band list (for an RGB "
        "model, the red, green and blue bands a file's colour interpretation names, e.g. of a BGR file).\n"
        "<b>Area of interest</b>: optional polygons; only tiles touching them are processed and results are "
        "clipped to them.\n"
        "Advanced: <b>tile size</b> (0 = the model's, typical 256-1024 px), <b>overlap</b> between tiles (px, "
        "blended smoothly: no seams; 0 is fastest), <b>batch size</b> (0 = 1 on CPU; on CUDA 32 tiles of 256 px, "
        "8 of 512 px), <b>device</b> "
        "(auto/cpu/cuda), <b>backend</b> (auto = PyTorch on CUDA; on CPU ONNX Runtime, in INT8 for scenes over "
        "16 MP on the model's grid when the CPU has VNNI, else float32; onnxruntime = always float32; "
        "onnxruntime-int8 = static INT8 quantization calibrated on tiles of the input, about 1.5x faster on CPU "
        "at a small accuracy cost: see README), <b>threshold</b> on the "
        "building probability (0.5), <b>test-time augmentation</b> (none / flips = 3x time / d4 = 8x time), "
        "<b>minimum building area</b> in m² (smaller polygons and holes are dropped), <b>simplification "
        "tolerance</b> in map units (0 = exact pixel edges), <b>fill holes</b>, <b>separate touching buildings</b> "
        "(a watershed on the distance to each blob's edge splits buildings joined by a waist narrower than "
        "half the smaller building; L-shaped and ragged roofs stay whole), "
        "<b>regularize footprints</b> (as 'Regularize building footprints', tolerance one pixel), <b>check model "
        "fit first</b> (as 'Check model fit' on 3 tiles, about a second: a warning when the model may not fit the "
        "imagery; the score and verdict are recorded in every output's metadata).\n\n"
        "Outputs (each optional): <b>building mask</b> (uint8 GeoTIFF on the input grid: class id, 255 = "
        "nodata), <b>building probability</b> (float32 0..1, -1 = nodata; or uint8 0..254, 255 = nodata), "
        "<b>building polygons</b> with fields id, area_m2, perimeter_m, confidence (mean probability inside) "
        "and class, and its provenance: model, model_sha, image, res_m.")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input raster")))
        self.addParameter(self.model_parameter(self.tr("Model (empty: the default model)"), by_resolution=True))
        self.addParameter(QgsProcessingParameterBand(
            extraction_options.BANDS, self.tr("Bands (empty: the model's)"), None, self.INPUT,
            optional=True, allowMultiple=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.AOI, self.tr("Area of interest"), [QgsProcessing.TypeVectorPolygon], optional=True))
        integer = QgsProcessingParameterNumber.Integer
        dask = [QgsProcessingParameterNumber(self.WORKERS, self.tr("Dask worker processes (0: no Dask)"), integer, 0,
                                             False, 0, 256),
                QgsProcessingParameterString(self.SCHEDULER, self.tr("Dask scheduler address (tcp://host:8786)"),
                                             optional=True),
                QgsProcessingParameterNumber(self.BLOCK_SIZE, self.tr("Block size for Dask (px)"), integer, 2048,
                                             False, 128, 65536)]
        if QgsApplication.instance() is not None and QgsApplication.instance().platform() == "desktop":
            for p in dask:  # cluster runs are for qgis_process and scripts: not in the desktop dialog's way
                p.setFlags(p.flags() | p.FlagHidden)
        self.add_advanced(self.add_web_layer_parameters() + extraction_options.parameters(self) + dask)
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_MASK, self.tr("Building mask"), optional=True, createByDefault=True))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_PROBABILITY, self.tr("Building probability"), optional=True, createByDefault=True))
        self.addParameter(QgsProcessingParameterVectorDestination(
            self.OUTPUT_POLYGONS, self.tr("Buildings"), QgsProcessing.TypeVectorPolygon, optional=True,
            createByDefault=True))
        self.declare_outputs(("BUILDING_COUNT", "number", "Number of buildings"),
                             ("BUILDING_AREA_M2", "number", "Total building area (m²)"),
                             ("FIT_SCORE", "number", "Model fit score (0..1; -1: not checked)"),
                             ("FIT_VERDICT", "string", "Model fit verdict (fits, uncertain, fine-tune first)"))

    def compute(self, parameters, context, feedback):
        from ..engine.extract.inference import extract

        layer = layers.input_raster_layer(self, parameters, self.INPUT, context)
        model = self.suited_model(parameters, context, feedback, layer)
        source = self.parameterAsSource(parameters, self.AOI, context)
        raster, fetcher, crs = self.raster_input(parameters, context, feedback, layer, model, source)
        aoi = None
        if source is not None:
            aoi = layers.aoi_shapes(source, crs, context, feedback, raster)
        params = extraction_options.extract_params(self, parameters, context, aoi)
        outputs = {key: self._destination(parameters, key, context)
                   for key in (self.OUTPUT_MASK, self.OUTPUT_PROBABILITY, self.OUTPUT_POLYGONS)}
        targets = (outputs[self.OUTPUT_MASK], outputs[self.OUTPUT_PROBABILITY], outputs[self.OUTPUT_POLYGONS])
        workers = self.parameterAsInt(parameters, self.WORKERS, context)
        scheduler = self.parameterAsString(parameters, self.SCHEDULER, context).strip()
        if workers or scheduler:
            if fetcher is not None:
                raise QgsProcessingException("Dask workers read files: save the web or non-file layer as a GeoTIFF "
                                             "first, or set WORKERS to 0.")
            if params.adapt:
                raise QgsProcessingException("Adapting the model to the imagery needs the whole scene: switch "
                                             "adaptation off for a Dask block run, or set WORKERS to 0.")
            from ..engine.scaleout.cluster import extract_blocks

            result = self.run_engine(extract_blocks, raster, model, *targets, params,
                                     block=self.parameterAsInt(parameters, self.BLOCK_SIZE, context),
                                     executor="scheduler" if scheduler else "local", workers=workers,
                                     scheduler=scheduler or None, progress=FeedbackProgress(feedback))
        else:
            result = self.run_engine(extract, raster, model, *targets, params, FeedbackProgress(feedback),
                                     model_cache=extraction_options.MODEL_CACHE)
        run = RunGroup(layer.name(), "extraction")
        for rank, (key, style, name, visible) in enumerate((
                (self.OUTPUT_POLYGONS, "buildings.qml", "Buildings", True),
                (self.OUTPUT_PROBABILITY, "probability.qml", "Building probability", False),
                (self.OUTPUT_MASK, "mask.qml", "Building mask", False))):
            StyleLayer.attach(context, outputs[key], style, self.tr(name), run, visible, rank)
        if fetcher is not None and fetcher.summary():
            feedback.pushWarning(fetcher.summary())
        feedback.pushInfo(f"{result.buildings} building(s), {result.building_area_m2:.0f} m², "
                          f"{result.tiles} tile(s) in {result.seconds:.1f} s")
        out = {k: v for k, v in outputs.items() if v}
        out.update({"BUILDING_COUNT": result.buildings, "BUILDING_AREA_M2": result.building_area_m2,
                    "FIT_SCORE": result.fit.score if result.fit else -1.0,
                    "FIT_VERDICT": result.fit.verdict if result.fit else ""})
        return out

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API name
        """Clear messages in the dialog before anything runs."""
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            return ok, message
        tile = self.parameterAsInt(parameters, extraction_options.TILE_SIZE, context)
        overlap = self.parameterAsInt(parameters, extraction_options.OVERLAP, context)
        if tile and overlap > tile // 2:
            return False, self.tr("The tile overlap must be at most half the tile size ({} px).").format(tile // 2)
        outputs = [k for k in (self.OUTPUT_MASK, self.OUTPUT_PROBABILITY, self.OUTPUT_POLYGONS)
                   if parameters.get(k) is not None]
        if not outputs:
            return False, self.tr("Choose at least one output: building mask, probability or polygons.")
        if self.parameterAsInt(parameters, "WORKERS", context) and \
                self.parameterAsString(parameters, "SCHEDULER", context).strip():
            return False, self.tr("Give either local Dask workers or a scheduler address, not both.")
        return True, ""

    def _destination(self, parameters, key, context):
        if parameters.get(key) is None:
            return None
        return self.parameterAsOutputLayer(parameters, key, context) or None

