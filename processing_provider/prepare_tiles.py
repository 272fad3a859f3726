"""Prepare training tiles: rasters + labelled polygons -> images/ and masks/ tile files split train/val/test."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from . import layers
from .base import BuildSegAlgorithm, FeedbackProgress

MODES = ["stride", "random"]


class PrepareTiles(BuildSegAlgorithm):
    INPUT = "INPUT"
    LABELS = "LABELS"
    LABELLED_AREA = "LABELLED_AREA"
    TILE_SIZE = "TILE_SIZE"
    MODE = "MODE"
    STRIDE = "STRIDE"
    COUNT = "COUNT"
    SPLIT = "SPLIT"
    SEED = "SEED"
    OUTPUT = "OUTPUT"

    NAME = "preparetiles"
    DISPLAY = "Prepare training tiles"
    GROUP = "training"
    README_ANCHOR = "prepare-training-tiles"
    NEEDS = ("rasterio",)
    HELP = (
        "Cuts rasters and building polygons into tile files, for users who want a dataset on disk (to share, "
        "inspect or train elsewhere). 'Train building model' reads the result as a folder dataset.\n\n"
        "<b>Input rasters</b> and <b>labelled buildings</b> (polygons, any CRS) with an optional <b>labelled "
        "area</b> (outside it mask pixels are 255 = ignore).\n"
        "<b>Tile size</b> in pixels; <b>mode</b>: 'stride' cuts a regular grid with the given <b>stride</b> "
        "(= tile size: no overlap), 'random' cuts <b>count</b> random windows per raster.\n"
        "<b>Split</b>: train,val,test ratios such as '0.8,0.1,0.1' (tiles are assigned at random with the "
        "<b>seed</b>; with stride = tile size no pixel is in two splits).\n\n"
        "Output folder: train/, val/ and test/, each with images/ (GeoTIFF tiles with the raster's bands) and "
        "masks/ (uint8 class ids: 0 background, 1 building, 255 ignore), georeferenced. Tiles that are more "
        "than half nodata or unlabelled are skipped.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterMultipleLayers(self.INPUT, self.tr("Input rasters"),
                                                               QgsProcessing.TypeRaster))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.LABELS, self.tr("Labelled buildings (polygons)"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.LABELLED_AREA, self.tr("Labelled area"), [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterNumber(self.TILE_SIZE, self.tr("Tile size (px)"),
                                                       QgsProcessingParameterNumber.Integer, 256, False, 16, 8192))
        self.addParameter(QgsProcessingParameterEnum(self.MODE, self.tr("Mode"), MODES, defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(self.STRIDE, self.tr("Stride (px, stride mode)"),
                                                       QgsProcessingParameterNumber.Integer, 256, False, 1))
        self.addParameter(QgsProcessingParameterNumber(self.COUNT, self.tr("Tiles per raster (random mode)"),
                                                       QgsProcessingParameterNumber.Integer, 100, False, 1))
        self.addParameter(QgsProcessingParameterString(self.SPLIT, self.tr("Split ratios train,val,test"),
                                                       "0.8,0.1,0.1"))
        self.addParameter(QgsProcessingParameterNumber(self.SEED, self.tr("Random seed"),
                                                       QgsProcessingParameterNumber.Integer, 0, False, 0))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, self.tr("Output folder")))
        for split in ("TRAIN", "VAL", "TEST"):
            self.addOutput(QgsProcessingOutputNumber(f"{split}_TILES", self.tr(f"{split.lower()} tiles")))

    def compute(self, parameters, context, feedback):
        from ..engine.io.labels import PolygonLabels
        from ..engine.train.dataset import Scene
        from ..engine.train.tile_export import prepare_tiles

        text = self.parameterAsString(parameters, self.SPLIT, context)
        try:
            ratios = tuple(float(v) for v in text.split(","))
        except ValueError:
            ratios = ()
        if len(ratios) != 3:
            raise QgsProcessingException(f"Split '{text}' must be three ratios such as 0.8,0.1,0.1.")
        source = self.parameterAsSource(parameters, self.LABELS, context)
        area_source = self.parameterAsSource(parameters, self.LABELLED_AREA, context)
        scenes, overlapping = [], 0
        for layer in self.parameterAsLayerList(parameters, self.INPUT, context):
            ext = layer.extent()
            shapes = layers.shapes(source, layer.crs(), context, feedback, extent=ext)
            overlapping += layers.extent_overlaps(shapes, (ext.xMinimum(), ext.yMinimum(), ext.xMaximum(),
                                                           ext.yMaximum()))
            area = None
            if area_source is not None:
                area = [g for g, _ in layers.shapes(area_source, layer.crs(), context, feedback,
                                                    what="labelled area", extent=ext)]
            scenes.append(Scene(layers.raster_file(layer), PolygonLabels(shapes, area)))
        if not scenes:
            raise QgsProcessingException("Choose at least one input raster.")
        if not overlapping:
            raise QgsProcessingException("The labelled polygons do not overlap any input raster: check that the "
                                         "labels and the rasters cover the same place (and their CRS).")
        out = self.parameterAsString(parameters, self.OUTPUT, context)
        counts = self.run_engine(
            prepare_tiles, scenes, out, self.parameterAsInt(parameters, self.TILE_SIZE, context),
            MODES[self.parameterAsEnum(parameters, self.MODE, context)],
            self.parameterAsInt(parameters, self.STRIDE, context), self.parameterAsInt(parameters, self.COUNT, context),
            ratios, self.parameterAsInt(parameters, self.SEED, context), progress=FeedbackProgress(feedback))
        feedback.pushInfo(f"Tiles written: {counts}")
        return {self.OUTPUT: out, "TRAIN_TILES": counts["train"], "VAL_TILES": counts["val"],
                "TEST_TILES": counts["test"]}
