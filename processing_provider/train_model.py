"""Train building model: rasters + labelled polygons (or a label raster) -> a BuildSeg model file."""

import math
import os

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsRasterLayer,
    QgsUnitTypes,
)

from ..engine.core.atomic import work_dir
from ..engine.core.options import LOSSES as LOSS_OPTIONS  # one source of truth: the engine's lists
from ..engine.core.options import OPTIMIZERS as OPTIMIZER_OPTIONS
from ..engine.core.options import SCHEDULES as SCHEDULE_OPTIONS
from ..engine.models.registry import DEFAULT_ARCHITECTURE
from ..engine.train.label_review import LABELLED_COVER, STALE_BELOW, STALE_MIN_M2
from . import layers
from .base import DEVICE_OPTIONS, BuildSegAlgorithm, FeedbackProgress


def _architectures():
    from ..engine.models.registry import ARCHITECTURES

    names = list(ARCHITECTURES)
    return names, names.index(DEFAULT_ARCHITECTURE)


class TrainingRecipe(BuildSegAlgorithm):
    """What 'Train building model' and 'Train building model from masks' share: the recipe's parameters, the run
    and its outputs. Each algorithm adds its own inputs (input_parameters) and turns them into scenes."""

    INPUT = "INPUT"
    LABELS = "LABELS"
    CLASS_FIELD = "CLASS_FIELD"
    LABELLED_AREA = "LABELLED_AREA"
    ALIGN_LABELS = "ALIGN_LABELS"
    INCOMPLETE_LABELS = "INCOMPLETE_LABELS"
    CHECK_FIT = "CHECK_FIT"
    OUTPUT_STALE_LABELS = "OUTPUT_STALE_LABELS"
    LABEL_OFFSET = "LABEL_OFFSET"
    LABEL_RASTER = "LABEL_RASTER"
    DATASET_FOLDER = "DATASET_FOLDER"
    PALETTE = "PALETTE"
    VAL_FRACTION = "VAL_FRACTION"
    VALIDATION_AREA = "VALIDATION_AREA"
    ARCHITECTURE = "ARCHITECTURE"
    MODEL = "MODEL"
    FROM_SCRATCH = "FROM_SCRATCH"
    SEPARATE_GAP = "SEPARATE_GAP"
    TIME_BUDGET = "TIME_BUDGET"
    TILE_SIZE = "TILE_SIZE"
    EPOCHS = "EPOCHS"
    TILES_PER_EPOCH = "TILES_PER_EPOCH"
    BATCH_SIZE = "BATCH_SIZE"
    LEARNING_RATE = "LEARNING_RATE"
    LOSS = "LOSS"
    CLASS_WEIGHTS = "CLASS_WEIGHTS"
    OPTIMIZER = "OPTIMIZER"
    SCHEDULE = "SCHEDULE"
    WARMUP = "WARMUP"
    AUGMENT = "AUGMENT"
    SENSOR_AUGMENT = "SENSOR_AUGMENT"
    PATIENCE = "PATIENCE"
    BEST_EPOCH = "BEST_EPOCH"
    DEVICE = "DEVICE"
    SEED = "SEED"
    RESUME = "RESUME"
    KEEP_BETTER_START = "KEEP_BETTER_START"
    NATIVE_RESOLUTION = "NATIVE_RESOLUTION"
    ADAPT_START = "ADAPT_START"
    TORCHRUN_PROCESSES = "TORCHRUN_PROCESSES"
    OUTPUT_MODEL = "OUTPUT_MODEL"
    OUTPUT_REPORT = "OUTPUT_REPORT"
    OUTPUT_METRICS = "OUTPUT_METRICS"

    GROUP = "training"

    def initAlgorithm(self, config=None):
        arch_names, arch_default = _architectures()
        self.arch_names = arch_names
        self.input_parameters()
        self.addParameter(QgsProcessingParameterNumber(
            self.TIME_BUDGET, self.tr("Time budget (minutes, 0: train for the epochs)"),
            QgsProcessingParameterNumber.Double, 0.0, False, 0.0, 100000.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.VAL_FRACTION, self.tr("Validation fraction"), QgsProcessingParameterNumber.Double, 0.2, False,
            0.0, 0.9))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.VALIDATION_AREA, self.tr("Validation area (instead of the fraction)"),
            [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.ARCHITECTURE, self.tr("Architecture"), arch_names, defaultValue=arch_default))
        self.addParameter(self.model_parameter(self.tr("Starting model (empty: the default, if it fits)")))
        self.addParameter(QgsProcessingParameterBoolean(
            self.FROM_SCRATCH, self.tr("Train from scratch (no starting model)"), False))
        numbers = [
            (self.TILE_SIZE, "Tile size (px)", QgsProcessingParameterNumber.Integer, 256, 64, 2048),
            (self.EPOCHS, "Epochs", QgsProcessingParameterNumber.Integer, 10, 1, 10000),
            (self.TILES_PER_EPOCH, "Tiles per epoch", QgsProcessingParameterNumber.Integer, 256, 1, 10**7),
            (self.BATCH_SIZE, "Batch size", QgsProcessingParameterNumber.Integer, 8, 1, 1024),
            (self.LEARNING_RATE, "Learning rate", QgsProcessingParameterNumber.Double, 1e-3, 1e-7, 10.0),
        ]
        for name, label, kind, default, lo, hi in numbers:
            self.addParameter(QgsProcessingParameterNumber(name, self.tr(label), kind, default, False, lo, hi))
        self.add_advanced(self.add_web_layer_parameters() + self._advanced_parameters())
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_MODEL, self.tr("Model file (empty: new file in model folder)"),
            "BuildSeg model (*.safetensors)", optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_REPORT, self.tr("Training report"), "HTML files (*.html)", optional=True,
            createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_METRICS, self.tr("Per-epoch metrics"), "CSV files (*.csv)", optional=True,
            createByDefault=False))
        self.declare_outputs(("BEST_EPOCH", "number", "Epoch whose weights were written (0: the starting model "
                                                      "was kept)"),
                             ("CANCELLED", "boolean", "Cancelled (the best finished epoch was written)"),
                             ("STAC_ITEM", "file", "STAC item of the model (Machine Learning Model extension)"),
                             ("FIT_SCORE", "number", "Fit of the starting model to the imagery (0..1; -1: not "
                                                     "checked)"),
                             ("TORCHRUN_CONFIG", "file", "torchrun configuration"),
                             ("TORCHRUN_COMMAND", "string", "torchrun command"))

    def _advanced_parameters(self) -> list:
        """The training recipe's advanced settings (separation target, torchrun, loss, optimizer, schedule,
        device, seed, resume, fit check)."""
        return [
            QgsProcessingParameterNumber(self.SEPARATE_GAP, self.tr("Gap between touching buildings to learn (px, "
                                                                    "0: off)"),
                                         QgsProcessingParameterNumber.Integer, 2, False, 0, 16),
            QgsProcessingParameterNumber(self.TORCHRUN_PROCESSES, self.tr("Write a torchrun command for N processes "
                                                                          "instead of training (0: train here)"),
                                         QgsProcessingParameterNumber.Integer, 0, False, 0, 1024),
            QgsProcessingParameterEnum(self.LOSS, self.tr("Loss"), LOSS_OPTIONS, defaultValue=0),
            QgsProcessingParameterString(self.CLASS_WEIGHTS, self.tr("Class weights ('1,3'; empty: equal)"),
                                         optional=True),
            QgsProcessingParameterEnum(self.OPTIMIZER, self.tr("Optimizer"), OPTIMIZER_OPTIONS, defaultValue=0),
            QgsProcessingParameterEnum(self.SCHEDULE, self.tr("Learning-rate schedule"), SCHEDULE_OPTIONS,
                                       defaultValue=0),
            QgsProcessingParameterNumber(self.WARMUP, self.tr("Warm-up epochs"),
                                         QgsProcessingParameterNumber.Integer, 1, False, 0, 1000),
            QgsProcessingParameterBoolean(self.AUGMENT, self.tr("Augmentation"), True),
            QgsProcessingParameterBoolean(self.SENSOR_AUGMENT, self.tr("Augment for other sensors and cities "
                                                                       "(colour, blur, noise, JPEG)"), False),
            QgsProcessingParameterNumber(self.PATIENCE, self.tr("Early-stopping patience (epochs, 0: off)"),
                                         QgsProcessingParameterNumber.Integer, 0, False, 0, 10000),
            QgsProcessingParameterBoolean(self.BEST_EPOCH, self.tr("Write the epoch that scores best on "
                                                                   "validation (off: the last epoch)"), True),
            QgsProcessingParameterEnum(self.DEVICE, self.tr("Device"), DEVICE_OPTIONS, defaultValue=0),
            QgsProcessingParameterNumber(self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Integer,
                                         0, False, 0),
            QgsProcessingParameterBoolean(self.RESUME, self.tr("Resume from the checkpoint if one exists"), True),
            QgsProcessingParameterBoolean(self.NATIVE_RESOLUTION, self.tr("Fine-tuning: train at the imagery's "
                                                                          "own resolution when it is coarser than "
                                                                          "the model's"), True),
            QgsProcessingParameterBoolean(self.ADAPT_START, self.tr("Fine-tuning: start from the model adapted to "
                                                                    "the imagery's statistics when that validates "
                                                                    "better"), True),
            QgsProcessingParameterBoolean(self.KEEP_BETTER_START, self.tr("Fine-tuning: keep the starting model "
                                                                          "when it scores higher on validation"),
                                          True),
            QgsProcessingParameterBoolean(self.CHECK_FIT, self.tr("Check model fit first"), True),
        ]

    def input_parameters(self):
        raise NotImplementedError

    def compute(self, parameters, context, feedback):
        with work_dir("buildseg-train-") as work:  # imagery fetched from web layers
            return self._train(parameters, context, feedback, work)

    def _train(self, parameters, context, feedback, work):
        from ..engine.train.dataset import Scene
        from ..engine.train.loop import train

        rasters = self.parameterAsLayerList(parameters, self.INPUT, context)
        folder = self.parameterAsFile(parameters, self.DATASET_FOLDER, context)
        if folder:
            scenes, classes = self._folder_scenes(parameters, context, feedback, folder)
            resolution = None
        elif rasters:
            rasters, resolution = self._file_rasters(parameters, context, feedback, rasters, work)
            paths = [layers.raster_file(r) for r in rasters]
            scenes, classes = self._scenes(parameters, context, feedback, rasters, paths, Scene, work)
            resolution = resolution or _resolution(rasters[0])
        else:
            raise QgsProcessingException("Choose at least one input raster, or a folder dataset.")
        params = self._train_params(parameters, context, feedback, classes, scenes)
        out_model = self._model_destination(parameters, context, rasters)
        out_report = self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context) or None
        out_csv = self.parameterAsFileOutput(parameters, self.OUTPUT_METRICS, context) or None
        processes = self.parameterAsInt(parameters, self.TORCHRUN_PROCESSES, context)
        if processes:
            return self._torchrun(scenes, out_model, params, resolution, out_report, out_csv, processes, work,
                                  feedback)
        result = self.run_engine(train, scenes, out_model, params, FeedbackProgress(feedback),
                                 out_report=out_report, out_csv=out_csv, resolution=resolution)
        feedback.pushInfo(f"Weights of epoch {result.best_epoch} of {result.epochs_run} written to {out_model}")
        return self._outputs(result, params, out_model, out_report, out_csv)

    def _outputs(self, result, params, out_model, out_report, out_csv) -> dict:
        from ..engine.models.stac import item_path

        out = {self.OUTPUT_MODEL: out_model, "BEST_EPOCH": result.best_epoch, "CANCELLED": result.cancelled,
               "STAC_ITEM": item_path(out_model),
               "FIT_SCORE": params.fit_check["fit_score"] if params.fit_check else -1.0}
        if out_report:
            out[self.OUTPUT_REPORT] = out_report
        if out_csv:
            out[self.OUTPUT_METRICS] = out_csv
        if getattr(self, "stale_output", None):
            out[self.OUTPUT_STALE_LABELS] = self.stale_output
        return out

    def _train_params(self, parameters, context, feedback, classes, scenes):
        """The engine's TrainParams from the algorithm's parameters (the starting model chosen and its fit
        checked on `scenes`)."""
        from ..engine.train.loop import TrainParams

        class_weights = self._class_weights(parameters, context, classes)
        return TrainParams(
            architecture=self.arch_names[self.parameterAsEnum(parameters, self.ARCHITECTURE, context)],
            classes=classes,
            tile_size=self.parameterAsInt(parameters, self.TILE_SIZE, context),
            epochs=self.parameterAsInt(parameters, self.EPOCHS, context),
            tiles_per_epoch=self.parameterAsInt(parameters, self.TILES_PER_EPOCH, context),
            batch_size=self.parameterAsInt(parameters, self.BATCH_SIZE, context),
            lr=self.parameterAsDouble(parameters, self.LEARNING_RATE, context),
            loss=LOSS_OPTIONS[self.parameterAsEnum(parameters, self.LOSS, context)],
            class_weights=class_weights,
            optimizer=OPTIMIZER_OPTIONS[self.parameterAsEnum(parameters, self.OPTIMIZER, context)],
            schedule=SCHEDULE_OPTIONS[self.parameterAsEnum(parameters, self.SCHEDULE, context)],
            warmup_epochs=self.parameterAsInt(parameters, self.WARMUP, context),
            augment=self.parameterAsBool(parameters, self.AUGMENT, context),
            sensor_augment=self.parameterAsBool(parameters, self.SENSOR_AUGMENT, context),
            patience=self.parameterAsInt(parameters, self.PATIENCE, context),
            best_epoch=self.parameterAsBool(parameters, self.BEST_EPOCH, context),
            val_fraction=self.parameterAsDouble(parameters, self.VAL_FRACTION, context),
            device=self.device_choice(parameters, context), threads=self.threads(),
            seed=self.parameterAsInt(parameters, self.SEED, context),
            init_model=self._starting_model(parameters, context, feedback, classes, scenes),
            resume=self.parameterAsBool(parameters, self.RESUME, context),
            keep_better_start=self.parameterAsBool(parameters, self.KEEP_BETTER_START, context),
            native_resolution=self.parameterAsBool(parameters, self.NATIVE_RESOLUTION, context),
            adapt_start=self.parameterAsBool(parameters, self.ADAPT_START, context),
            time_budget=self.parameterAsDouble(parameters, self.TIME_BUDGET, context),
            fit_check=self._fit_check(parameters, context, feedback, scenes))

    def _class_weights(self, parameters, context, classes):
        weights = self.parameterAsString(parameters, self.CLASS_WEIGHTS, context).strip()
        try:
            class_weights = [float(w) for w in weights.split(",")] if weights else None
        except ValueError:
            raise QgsProcessingException(f"Class weights '{weights}' must be numbers separated by commas.") \
                from None
        if class_weights and len(class_weights) != len(classes):
            raise QgsProcessingException(f"Give {len(classes)} class weights (one per class: "
                                         f"{', '.join(c['name'] for c in classes)}).")
        return class_weights

    def _model_destination(self, parameters, context, rasters):
        """The chosen file; a temporary or empty destination becomes a new file in the model folder (a
        temporary file would be lost when QGIS exits)."""
        from qgis.core import QgsProcessingUtils

        from . import settings

        value = parameters.get(self.OUTPUT_MODEL)
        path = self.parameterAsFileOutput(parameters, self.OUTPUT_MODEL, context)
        temp = QgsProcessingUtils.tempFolder()
        if value in (None, "", "TEMPORARY_OUTPUT") or not path or path.startswith(temp):
            stem = f"buildings-{rasters[0].name()}" if rasters else "buildings-model"
            path = settings.new_model_path(stem)
        return path

    def _torchrun(self, scenes, out_model, params, resolution, out_report, out_csv, processes, work, feedback):
        """Write the run's configuration beside the model file and return the torchrun command (no training)."""
        from ..engine.scaleout import train_cli

        if any(train_cli.in_folder(s.raster, work) for s in scenes):
            raise QgsProcessingException("torchrun needs files: save web or non-file layers as GeoTIFFs first.")
        scenes = self.run_engine(train_cli.keep_probability_rasters, scenes, out_model, work)
        config = self.run_engine(train_cli.config_for, scenes, out_model, params, resolution, out_report, out_csv)
        path = self.run_engine(train_cli.write_config, out_model + ".torchrun.json", config)
        cmd = train_cli.command(path, processes)
        feedback.pushInfo(f"Configuration written to {path}. Train on {processes} processes (one per GPU, or "
                          f"CPU processes with gloo) with:\n{cmd}")
        return {"TORCHRUN_CONFIG": path, "TORCHRUN_COMMAND": cmd}

    def _file_rasters(self, parameters, context, feedback, rasters, work):
        """File-backed layers as they are; web and other layers fetched over EXTENT (or the labels' extent)
        at the starting model's resolution into GeoTIFFs in `work`. Returns (layers, their ground resolution)."""
        from ..engine.io.raster import materialize
        from ..engine.models.modelfile import read_info
        from . import layer_source

        out, resolution = [], None
        labels = self.parameterAsSource(parameters, self.LABELS, context)
        for i, layer in enumerate(rasters):
            if layer_source.is_file_layer(layer):
                if parameters.get("EXTENT") and parameters.get(self.LABEL_RASTER):
                    raise QgsProcessingException("An extent cuts a window out of the raster, and the label raster "
                                                 "would no longer sit on its grid: leave the extent empty (or crop "
                                                 "both rasters alike first).")
                window = self.file_window(parameters, context, feedback, layer)
                out.append(layer if window == layers.raster_file(layer) else QgsRasterLayer(window, layer.name()))
                continue
            model = self.model_file(parameters, context)
            source, fetcher, _ = layer_source.web_input(self, parameters, context, feedback, layer,
                                                        self.run_engine(read_info, model).resolution, labels)
            path = os.path.join(work, f"layer{i}.tif")
            self.run_engine(materialize, source, path, FeedbackProgress(feedback))
            if fetcher.summary():
                feedback.pushWarning(fetcher.summary())
            resolution = resolution or source.ground_resolution()
            out.append(QgsRasterLayer(path, layer.name()))
        return out, resolution

    def _starting_model(self, parameters, context, feedback, classes, scenes):
        """The chosen model; else the default one (model folder's, or bundled) when architecture, bands and
        classes fit; else None."""
        chosen = self.parameterAsFile(parameters, self.MODEL, context)
        if chosen or self.parameterAsBool(parameters, self.FROM_SCRATCH, context):
            return self.model_file(parameters, context) if chosen else None
        from ..engine.models import modelfile

        start = self.model_file(parameters, context)
        try:
            default = modelfile.read_info(start)
        except Exception:  # no usable default model: train from scratch
            return None
        arch = self.arch_names[self.parameterAsEnum(parameters, self.ARCHITECTURE, context)]
        bands = self._band_count(scenes)
        from ..engine.train.classes import fine_tunes

        if fine_tunes(default, arch, bands, classes):
            feedback.pushInfo(f"Fine-tuning the default model {os.path.basename(start)} (same architecture, "
                              "bands and classes); tick 'Train from scratch' to start from random weights.")
            return start
        feedback.pushInfo(f"Training from scratch: the default model ({default.architecture}, "
                          f"{default.in_channels} bands, {default.num_classes} classes) does not fit.")
        return None

    def _fit_check(self, parameters, context, feedback, scenes):
        """The starting (or default) model's fit to the first raster, logged before training; recorded in the
        new model file. None when not asked for or not possible."""
        if not scenes or not self.parameterAsBool(parameters, self.CHECK_FIT, context):
            return None
        from ..engine.extract.fit import preflight

        model = self.model_file(parameters, context)
        name = os.path.basename(model)
        report = self.run_engine(preflight, scenes[0].raster, model, FeedbackProgress(feedback).sub(0, 1),
                                 what=f"{name} on {os.path.basename(scenes[0].raster)}: ")
        if report is None:
            return None
        if report.verdict == "fits":
            feedback.pushInfo(f"{name} already fits this imagery: compare its extraction with the trained model's "
                              "before replacing it.")
        return {**report.metadata(), "model": name, "raster": os.path.basename(scenes[0].raster),
                "reasons": report.reasons}

    def _model_view(self, parameters, context, feedback, raster, work, k):
        """The model's building probability over a raster (for incomplete labels)."""
        from ..engine.extract.inference import ExtractParams, extract

        prob = os.path.join(work, f"incomplete{k}.tif")
        feedback.pushInfo("Labels are incomplete: finding the buildings the model sees that the labels miss.")
        self.run_engine(extract, raster, self.model_file(parameters, context), out_probability=prob,
                        params=ExtractParams(separate=False, threads=self.threads()),
                        progress=FeedbackProgress(feedback))
        return prob

    def _review(self, feedback, layer, shapes, area, prob, stale_sink):
        """Free labels against the model's view: stale polygons are ignored in training (and sent to the sink);
        a missing labelled area is estimated. Returns (shapes, area)."""
        from ..engine.io.labels import IGNORE
        from ..engine.train import label_review

        stale = self.run_engine(label_review.stale_labels, shapes, prob)
        if stale:
            review = "review them in the stale labels layer" if stale_sink else \
                "choose a stale labels output to review them"
            feedback.pushWarning(f"{layer.name()}: {len(stale)} of {len(shapes)} label polygon(s) lie where the "
                                 "model sees bare ground (mean building probability below "
                                 f"{label_review.STALE_BELOW:g}): left out of training; {review}.")
            if stale_sink:
                stale_sink.add(layer, shapes, stale)
            gone = {s.index for s in stale}
            shapes = [(g, IGNORE) if i in gone else (g, v) for i, (g, v) in enumerate(shapes)]
        if area is None:
            area = self.run_engine(label_review.estimate_labelled_area, shapes, prob)
            if not area:
                raise QgsProcessingException(f"{layer.name()}: no part of the raster looks completely labelled "
                                             f"(the labels cover under {label_review.LABELLED_COVER:.0%} of what "
                                             "the model sees as buildings everywhere). Draw a labelled area, or "
                                             "untick 'labels are incomplete'.")
            feedback.pushInfo(f"{layer.name()}: labelled area estimated from the labels and the model "
                              f"({len(area)} part(s)); give a labelled area to set it yourself.")
        return shapes, area

    def _aligned(self, parameters, context, feedback, raster, shapes, name):
        """The label shapes moved onto the imagery: by the given offset, or by the estimated one when clear."""
        from ..engine.train import align

        if not shapes:
            return shapes
        given = (self.parameterAsString(parameters, self.LABEL_OFFSET, context) or "").strip()
        if given:
            dx, dy = _label_offset(given)
            feedback.pushInfo(f"{name}: labels moved by ({dx:+.2f}, {dy:+.2f}) as given.")
            return align.shift_shapes(shapes, dx, dy)
        if not self.parameterAsBool(parameters, self.ALIGN_LABELS, context):
            return shapes
        try:
            with work_dir("buildseg-align-") as work:
                offset = self.run_engine(align.estimate, raster, shapes, self.model_file(parameters, context), work)
        except QgsProcessingException as exc:
            feedback.pushWarning(f"{name}: the labels' shift could not be estimated ({exc}); used as they are.")
            return shapes
        (feedback.pushWarning if offset.clear or offset.at_edge else feedback.pushInfo)(f"{name}: "
                                                                                       f"{offset.describe()}.")
        return align.shift_shapes(shapes, offset.dx, offset.dy) if offset.clear else shapes

    @staticmethod
    def _band_count(scenes):
        import rasterio

        with rasterio.open(scenes[0].raster) as ds:
            return ds.count

    def _palette(self, parameters, context):
        from ..engine.io.labels import parse_palette

        text = self.parameterAsString(parameters, self.PALETTE, context)
        try:
            return parse_palette(text) if text else None
        except (ValueError, KeyError):
            raise QgsProcessingException(f"Cannot read the palette '{text}': write it as "
                                         "'#rrggbb=id;#rrggbb=id'.") from None

    def _folder_scenes(self, parameters, context, feedback, folder):
        from ..engine.io import layouts

        palette = self._palette(parameters, context)
        found = self.run_engine(layouts.detect, folder)
        scenes = self.run_engine(layouts.scenes, folder, palette, found)
        lonely = layouts.unpaired(folder, found)
        text = layouts.describe(found, self.run_engine(layouts.summary, scenes), lonely)
        (feedback.pushWarning if lonely else feedback.pushInfo)(text)
        return scenes, self.run_engine(_palette_classes, palette)

    def _scenes(self, parameters, context, feedback, rasters, paths, scene_cls, work=None):
        from ..engine.io.labels import AreaSplitLabels, IncompleteLabels, PolygonLabels, RasterLabels

        label_raster = self.parameterAsRasterLayer(parameters, self.LABEL_RASTER, context)
        source = self.parameterAsSource(parameters, self.LABELS, context)
        if label_raster is not None:
            if len(rasters) != 1:
                raise QgsProcessingException("A label raster goes with exactly one input raster; use label "
                                             "polygons to train on several rasters.")
            palette = self._palette(parameters, context)
            labels = self.run_engine(RasterLabels, layers.raster_file(label_raster, "label raster"), palette)
            return [scene_cls(paths[0], labels)], self.run_engine(_palette_classes, palette)
        if source is None:
            raise QgsProcessingException("Give labelled building polygons or a label raster.")
        if source.featureCount() == 0:
            raise QgsProcessingException("The label layer is empty: draw or load building polygons first.")
        field = self.parameterAsString(parameters, self.CLASS_FIELD, context) or None
        value_map, classes = self.run_engine(_classes, source, field)
        area_source = self.parameterAsSource(parameters, self.LABELLED_AREA, context)
        val_source = self.parameterAsSource(parameters, self.VALIDATION_AREA, context)
        incomplete = bool(work) and self.parameterAsBool(parameters, self.INCOMPLETE_LABELS, context)
        wanted = incomplete and parameters.get(self.OUTPUT_STALE_LABELS) not in (None, "")
        stale_sink = _StaleLabels(rasters[0].crs(), context) if wanted else None
        scenes, overlapping, unlabelled = [], 0, []
        for layer, path in zip(rasters, paths):
            ext = layer.extent()
            shapes = layers.shapes(source, layer.crs(), context, feedback, field, value_map, extent=ext)
            shapes = self._aligned(parameters, context, feedback, path, shapes, layer.name())
            area = None
            bounds = (ext.xMinimum(), ext.yMinimum(), ext.xMaximum(), ext.yMaximum())
            if area_source is not None:
                area = [g for g, _ in layers.shapes(area_source, layer.crs(), context, feedback,
                                                    what="labelled area", extent=ext)]
                if not layers.extent_overlaps([(g, 1) for g in area], bounds):
                    unlabelled.append(layer.name())
                    continue  # no labelled ground on this raster: nothing to learn from it
            if layers.extent_overlaps(shapes, bounds):
                overlapping += 1
            elif len(rasters) > 1:
                feedback.pushInfo(f"No labels over {layer.name()}: it is used as background only.")
            prob = self._model_view(parameters, context, feedback, path, work, len(scenes)) \
                if incomplete and shapes else None
            if prob:
                shapes, area = self._review(feedback, layer, shapes, area, prob, stale_sink)
            labels = PolygonLabels(shapes, area, self.parameterAsInt(parameters, self.SEPARATE_GAP, context))
            if prob:
                labels = IncompleteLabels(labels, prob)
            val = layers.shapes(val_source, layer.crs(), context, feedback, what="validation area",
                                extent=ext) if val_source is not None else []
            if val:
                val = [g for g, _ in val]
                scenes.append(scene_cls(path, AreaSplitLabels(labels, val, keep_inside=False), role="area",
                                        val_labels=AreaSplitLabels(labels, val, keep_inside=True)))
            else:
                scenes.append(scene_cls(path, labels))
        if unlabelled and not scenes:
            raise QgsProcessingException("The labelled area does not overlap the input raster(s) (or has no area): "
                                         "draw it over the imagery where buildings are labelled, check its CRS, "
                                         "or leave it empty to treat the whole raster as labelled.")
        if unlabelled:
            feedback.pushWarning(f"The labelled area does not cover {', '.join(unlabelled)}: not used for training.")
        if not overlapping:
            raise QgsProcessingException("The labelled polygons do not overlap any input raster: check that the "
                                         "labels and the rasters cover the same place (and their CRS).")
        self.stale_output = stale_sink.write(self, parameters) if stale_sink else None
        return scenes, classes


class _StaleLabels:
    """Stale label polygons gathered over the rasters, then written at once (atomically) as a layer in the
    first raster's CRS, with the raster and the model's mean building probability inside each."""

    def __init__(self, crs, context):
        self.crs, self.context, self.features = crs, context, []

    def add(self, layer, shapes, stale) -> None:
        import json

        from osgeo import ogr
        from qgis.core import QgsCoordinateTransform, QgsGeometry

        tr = QgsCoordinateTransform(layer.crs(), self.crs, self.context.transformContext())
        for s in stale:
            geom = QgsGeometry.fromWkt(ogr.CreateGeometryFromJson(json.dumps(shapes[s.index][0])).ExportToWkt())
            geom.convertToMultiType()
            geom.transform(tr)
            self.features.append((geom, [layer.name(), s.mean_probability, s.pixels]))

    def write(self, alg, parameters) -> str:
        from qgis.core import QgsFeature, QgsFeatureSink, QgsField, QgsFields, QgsWkbTypes
        from qgis.PyQt.QtCore import QVariant

        from .sinks import atomic_sink

        fields = QgsFields()
        for name, kind in (("raster", QVariant.Type.String), ("mean_prob", QVariant.Type.Double),
                           ("pixels", QVariant.Type.Int)):
            fields.append(QgsField(name, kind))
        with atomic_sink(alg, parameters, alg.OUTPUT_STALE_LABELS, self.context, fields, QgsWkbTypes.MultiPolygon,
                         self.crs) as (sink, dest):
            for geom, values in self.features:
                feat = QgsFeature(fields)
                feat.setGeometry(geom)
                feat.setAttributes(values)
                if not sink.addFeature(feat, QgsFeatureSink.FastInsert):
                    raise QgsProcessingException(f"Cannot write the stale labels layer: {sink.lastError()}")
        return dest


def _label_offset(text: str):
    try:
        dx, dy = (float(v) for v in text.replace(";", ",").split(","))
    except ValueError:
        raise QgsProcessingException(f"Label offset '{text}' must be two numbers 'dx,dy' (for example 1.5,-2).") \
            from None
    if not all(math.isfinite(v) and abs(v) < 1e6 for v in (dx, dy)):
        raise QgsProcessingException(f"Label offset '{text}' is not a finite shift: give dx,dy in the raster CRS's "
                                     "units (for example 1.5,-2).")
    return dx, dy


def _classes(source, field):
    """({value: class id} or None, classes) of the label layer: one class per value of `field`, or buildings."""
    from ..engine.train import classes

    if not field:
        return None, classes.buildings_only()
    return classes.from_values(f[field] for f in source.getFeatures())


def _palette_classes(palette):
    from ..engine.train.classes import from_palette

    return from_palette(palette)


def _resolution(layer):
    """Ground metres per pixel of a raster layer (None for geographic CRSs)."""
    crs = layer.crs()
    if crs.isGeographic():
        return None
    factor = QgsUnitTypes.fromUnitToUnitFactor(crs.mapUnits(), QgsUnitTypes.DistanceMeters)
    return layer.rasterUnitsPerPixelX() * factor


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
