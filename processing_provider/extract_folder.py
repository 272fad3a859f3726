"""Extract buildings from every raster of a folder, loading the model once."""

import fnmatch
import os

from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterString,
)

from ..engine.core.errors import Cancelled
from . import extraction_options
from .base import BuildSegAlgorithm, FeedbackProgress


class ExtractFolder(BuildSegAlgorithm):
    INPUT = "INPUT"
    MODEL = "MODEL"
    PATTERN = "PATTERN"
    WRITE_MASK = "WRITE_MASK"
    WRITE_PROBABILITY = "WRITE_PROBABILITY"
    WRITE_POLYGONS = "WRITE_POLYGONS"
    OUTPUT = "OUTPUT"

    NAME = "extractfolder"
    DISPLAY = "Extract buildings from a folder"
    GROUP = "extraction"
    README_ANCHOR = "in-qgis-styles-help-settings-model-builder-batch-translations"
    HELP = (
        "Runs 'Extract buildings' on every raster of a folder with one model load, writing for each raster "
        "<i>name</i>_mask.tif, <i>name</i>_probability.tif and <i>name</i>_buildings.gpkg into the output folder.\n\n"
        "<b>Input folder</b>: the folder to scan (not its subfolders).\n"
        "<b>File patterns</b>: semicolon-separated, e.g. *.tif;*.jp2 (default *.tif;*.tiff;*.jp2;*.vrt).\n"
        "<b>Model</b> and the advanced options are those of 'Extract buildings'. A raster that fails (wrong "
        "bands, no CRS...) is reported and skipped; the others still run. For a batch of layers instead of a "
        "folder, use 'Extract buildings' > Run as Batch Process: the model is loaded once for the whole batch too.")

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API name
        self.addParameter(QgsProcessingParameterFile(self.INPUT, self.tr("Input folder"),
                                                     QgsProcessingParameterFile.Folder))
        self.addParameter(QgsProcessingParameterString(self.PATTERN, self.tr("File patterns"),
                                                       "*.tif;*.tiff;*.jp2;*.vrt"))
        self.addParameter(self.model_parameter(self.tr("Model (empty: the default model)"), by_resolution=True))
        for name, label, default in ((self.WRITE_MASK, "Write building masks", True),
                                     (self.WRITE_PROBABILITY, "Write probability rasters", False),
                                     (self.WRITE_POLYGONS, "Write building polygons", True)):
            self.addParameter(QgsProcessingParameterBoolean(name, self.tr(label), default))
        self.add_advanced(extraction_options.parameters(self))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, self.tr("Output folder")))
        self.declare_outputs(("PROCESSED", "number", "Rasters processed"), ("FAILED", "number", "Rasters that failed"),
                             ("BUILDING_COUNT", "number", "Number of buildings"))

    def compute(self, parameters, context, feedback):
        from ..engine.core.errors import BuildSegError
        from ..engine.extract.inference import extract

        folder = self.parameterAsFile(parameters, self.INPUT, context)
        patterns = [p.strip() for p in self.parameterAsString(parameters, self.PATTERN, context).split(";")
                    if p.strip()]
        rasters = sorted(f for f in os.listdir(folder) if os.path.isfile(os.path.join(folder, f))
                         and any(fnmatch.fnmatch(f.lower(), p.lower()) for p in patterns))
        if not rasters:
            raise QgsProcessingException(f"No file in {folder} matches {';'.join(patterns)}.")
        out_dir = self.parameterAsString(parameters, self.OUTPUT, context)
        os.makedirs(out_dir, exist_ok=True)
        if os.path.samefile(out_dir, folder):
            raise QgsProcessingException("The output folder is the input folder: choose another output folder.")
        params = extraction_options.extract_params(self, parameters, context)
        wanted = {k: self.parameterAsBool(parameters, k, context)
                  for k in (self.WRITE_MASK, self.WRITE_PROBABILITY, self.WRITE_POLYGONS)}
        progress = FeedbackProgress(feedback)
        done, failed, buildings = 0, [], 0
        for i, name in enumerate(rasters):
            if feedback.isCanceled():
                break
            stem = os.path.splitext(name)[0]
            outs = [os.path.join(out_dir, f"{stem}_{suffix}") if wanted[key] else None
                    for key, suffix in ((self.WRITE_MASK, "mask.tif"), (self.WRITE_PROBABILITY, "probability.tif"),
                                        (self.WRITE_POLYGONS, "buildings.gpkg"))]
            feedback.pushInfo(f"[{i + 1}/{len(rasters)}] {name}")
            path = os.path.join(folder, name)
            model = self.model_file(parameters, context, raster=path, feedback=feedback)  # auto: each by its own
            try:
                result = extract(path, model, *outs, params=params,
                                 progress=progress.sub(100 * i / len(rasters), 100 * (i + 1) / len(rasters)),
                                 model_cache=extraction_options.MODEL_CACHE)
            except BuildSegError as exc:
                if feedback.isCanceled():
                    break
                failed.append(name)
                feedback.pushWarning(f"{name}: {exc}")
                continue
            done += 1
            buildings += result.buildings
        if feedback.isCanceled():
            raise Cancelled("Cancelled by the user; rasters finished before the cancel are kept.")
        if not done:
            raise QgsProcessingException(f"No raster could be processed ({len(failed)} failed): see the log.")
        feedback.pushInfo(f"{done} raster(s) processed, {len(failed)} failed, {buildings} building(s).")
        return {self.OUTPUT: out_dir, "PROCESSED": done, "FAILED": len(failed), "BUILDING_COUNT": buildings}
