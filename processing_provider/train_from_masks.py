"""Train building model from masks: label rasters or a folder dataset of tiles -> a BuildSeg model file."""


from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterFile,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from .training_recipe import TrainingRecipe


class TrainFromMasks(TrainingRecipe):
    """The same training from label rasters (class ids or colour-coded) or a folder dataset of tiles."""

    NAME = "trainfrommasks"
    DISPLAY = "Train building model from masks"
    README_ANCHOR = "train-a-model"
    HELP = (
        "Trains or fine-tunes a model like 'Train building model', from masks instead of polygons: "
        "either one <b>input raster</b> with a <b>label raster</b> of class ids on its grid (or a colour-coded mask "
        "with a <b>palette</b> such as '#3c1098=1;#8429f6=2'; unlisted colours are ignored), or a "
        "<b>folder dataset</b> in a layout detected by its subfolders: BuildSeg's own (images/ + masks/), Inria "
        "(images/ + gt/), WHU (image/ + label/), LoveDA (images_png/ + masks_png/: 2 is building, 0 no-data) or "
        "SpaceNet (image tiles + one GeoJSON of buildings per tile, paired by 'imgN'), optionally split into "
        "train/ and val/ (test/ is left out). Masks of 0/255 or 0/1 read as background/building. Before training "
        "the log shows the images found and their share of building pixels per split.\n\n"
        "Every other parameter and output is as in 'Train building model'.")

    def input_parameters(self):
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.INPUT, self.tr("Input raster (with a label raster)"), QgsProcessing.TypeRaster, optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.LABEL_RASTER, self.tr("Label raster"), optional=True))
        self.addParameter(QgsProcessingParameterFile(
            self.DATASET_FOLDER, self.tr("Folder dataset (instead of a raster)"),
            QgsProcessingParameterFile.Folder, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.PALETTE, self.tr("Palette of a colour-coded mask ('#rrggbb=id;…')"), optional=True))
