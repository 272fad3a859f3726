"""Train building model: rasters + labelled polygons -> a BuildSeg model file."""


from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterString,
)

from ..engine.models.registry import DEFAULT_ARCHITECTURE
from ..engine.train.label_review import LABELLED_COVER, STALE_BELOW, STALE_MIN_M2
from .training_recipe import TrainingRecipe


class TrainModel(TrainingRecipe):
    """Training from rasters and label polygons (QGIS layers)."""

    NAME = "trainmodel"
    DISPLAY = "Train building model"
    README_ANCHOR = "train-a-model"
    HELP = (
        "Trains (or fine-tunes) a building segmentation model from your own imagery and labels, straight from "
        "QGIS layers: no tile folders to prepare.\n\n"
        "<b>Input rasters</b>: one or more rasters with the same bands.\n"
        "<b>Labelled buildings</b>: polygons of buildings (any CRS: reprojected). With a <b>class field</b> every "
        "distinct value becomes a class (e.g. building / road / water); without, all polygons are 'building'.\n"
        "<b>Labelled area</b>: optional polygons where labelling is complete; pixels outside are ignored, not "
        "taken as background.\n"
        "Free footprints (OpenStreetMap, cadastres; advanced): the labels' shift against the imagery is "
        "estimated and corrected when clear (or give a known offset). <b>Labels are incomplete</b> runs the model "
        "over the raster first: unlabelled pixels it sees as buildings are ignored, not taught as background; "
        f"label polygons over what it sees as bare ground (mean probability below {STALE_BELOW:g}: demolished, "
        f"misplaced; polygons under {STALE_MIN_M2:g} m² are not judged) are left out of training and written to "
        "<b>stale labels</b> for review; and without a labelled "
        f"area one is estimated (cells of 128 px where the labels cover at least {LABELLED_COVER:.0%} of what the "
        "model sees as buildings, "
        "and the building-free cells next to them).\n"
        "Label rasters (class ids or colour-coded masks) and folder datasets of tiles: use 'Train building model "
        "from masks'.\n"
        "<b>Validation fraction</b>: share held out for validation, spatially separated (whole rasters when "
        "there are 5 or more, else blocks of half a tile held out all over each raster's labelled part); "
        "or a <b>validation area</b> polygon layer: labels "
        "inside it are used only for validation, never for training.\n"
        f"<b>Architecture</b> from the model registry (default {DEFAULT_ARCHITECTURE}, the bundled model's); "
        "<b>starting "
        "model</b>: fine-tune an existing model file (bands and classes must match); when empty, the bundled "
        "model is fine-tuned if architecture, band count and classes fit, unless <b>train from scratch</b> is "
        "ticked.\n"
        "<b>Time budget</b>: minutes of training (0: run the epochs). Training stops before the budget would be "
        "passed, the learning-rate schedule (warm-up, then decay) runs over the budget, progress shows the time "
        "left, and the model of the epoch that scores best on validation is written (untick <b>write the epoch "
        "that scores best</b> for the last epoch's); epochs then only set how often it validates (every "
        "'tiles per epoch' tiles). The written weights are a moving average of the training steps before it.\n"
        "Fine-tuning never ends below its start: the starting model is scored on the validation tiles first, "
        "and unless the trained model scores higher its weights are kept (with a warning; untick <b>keep the "
        "starting model when it scores higher</b> to write the fine-tune's own weights anyway). Windows are read "
        "at the model's ground resolution, as extraction will run the model.\n"
        "Training: tile size (px, typical 256-512), epochs, tiles per epoch, batch size, learning rate (1e-3 for "
        "AdamW), loss (CE+Dice, CE, Dice, focal), class weights ('1,3'), optimizer, schedule, warm-up epochs, "
        "augmentation (flips, 90° rotations, scale, brightness/contrast), augmentation for other sensors "
        "(colour, gamma, coarser resolution, blur, noise, JPEG: for a model meant for imagery other than the "
        "training rasters; off, a model learns the training imagery faster), early-stopping patience (0 = off), "
        "device, seed, resume from the checkpoint left by a cancelled or crashed run.\n\n"
        "Outputs: the <b>model file</b> (.safetensors, self-describing: architecture, bands, normalisation, "
        "classes, tile size, resolution, metrics), an HTML <b>training report</b> with curves and validation "
        "tiles, and a CSV of per-epoch metrics. Cancel keeps the best model of the finished epochs.")

    def input_parameters(self):
        """Rasters and label polygons, both required (masks and folder datasets: 'Train ... from masks')."""
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.INPUT, self.tr("Input rasters"), QgsProcessing.TypeRaster))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.LABELS, self.tr("Labelled buildings (polygons)"), [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.CLASS_FIELD, self.tr("Class field (empty: all polygons are buildings)"), None, self.LABELS,
            optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.LABELLED_AREA, self.tr("Labelled area (outside it pixels are ignored)"),
            [QgsProcessing.TypeVectorPolygon], optional=True))
        self.add_advanced([
            QgsProcessingParameterBoolean(self.ALIGN_LABELS, self.tr("Estimate the labels' shift against the "
                                                                     "imagery and correct it when clear"), True),
            QgsProcessingParameterString(self.LABEL_OFFSET, self.tr("Known label offset 'dx,dy' (raster CRS units, "
                                                                    "added to the labels; overrides the estimate)"),
                                         optional=True),
            QgsProcessingParameterBoolean(self.INCOMPLETE_LABELS, self.tr("Labels are incomplete (unlabelled pixels "
                                                                          "the model sees as buildings are ignored)"),
                                          False)])
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT_STALE_LABELS, self.tr("Stale labels (for review)"),
            QgsProcessing.TypeVectorPolygon, optional=True, createByDefault=False))
