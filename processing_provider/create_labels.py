"""Create label layers: an empty GeoPackage of training labels (buildings, labelled area, points) in the
imagery's CRS, ready to digitize and to train on."""

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterCrs,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterLayer,
)

from .base import BuildSegAlgorithm


class CreateLabelLayers(BuildSegAlgorithm):
    INPUT = "INPUT"
    CRS = "CRS"
    OUTPUT = "OUTPUT"

    NAME = "createlabels"
    DISPLAY = "Create label layers"
    GROUP = "training"
    README_ANCHOR = "the-buildseg-panel-run-on-the-view-label-retrain-label-next"
    NEEDS = ()
    HELP = (
        "Writes a new GeoPackage of training labels in the CRS of the input raster (or the CRS given): "
        "<b>buildings</b> (polygons with a <i>class</i> field, 'building' by default), <b>labelled_area</b> "
        "(polygons around the parts where every building is drawn) and <b>points</b> (one click per building, "
        "for 'Pseudo-masks from weak labels'). An existing file is never overwritten.\n\n"
        "Draw in them, then run 'Train building model' with the buildings as labels and the labelled area. The "
        "BuildSeg panel runs this algorithm and starts digitizing.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Imagery to label (its CRS)"),
                                                            optional=True))
        self.addParameter(QgsProcessingParameterCrs(self.CRS, self.tr("CRS (instead of the raster's)"),
                                                    optional=True))
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT, self.tr("Label GeoPackage"),
                                                                "GeoPackage (*.gpkg)"))
        for name, label in (("BUILDINGS", "Labelled buildings"), ("LABELLED_AREA", "Labelled area"),
                            ("POINTS", "Building points")):
            self.addOutput(QgsProcessingOutputVectorLayer(name, self.tr(label)))

    def compute(self, parameters, context, feedback):
        from .label_layers import LAYERS, write_label_package

        raster = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        crs = self.parameterAsCrs(parameters, self.CRS, context)
        if not crs.isValid():
            if raster is None:
                raise QgsProcessingException("Give the imagery to label (its CRS is used) or a CRS.")
            crs = raster.crs()
        path = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if not path.lower().endswith(".gpkg"):
            raise QgsProcessingException(f"Label layers go into a GeoPackage: give a .gpkg file, not {path}.")
        try:
            write_label_package(path, crs, context.transformContext())
        except OSError as exc:  # FileExistsError included: the message names the fix
            raise QgsProcessingException(str(exc)) from None
        feedback.pushInfo(f"Label layers in {path} ({crs.authid()}): draw buildings, the labelled area or points.")
        out = {self.OUTPUT: path}
        for (name, _, _), key in zip(LAYERS, ("BUILDINGS", "LABELLED_AREA", "POINTS")):
            out[key] = f"{path}|layername={name}"
        return out
