"""What both training algorithms share: parameters, the engine call, outputs (TrainingRecipe)."""

import os

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsRasterLayer,
)

from ..engine.core.atomic import work_dir
from ..engine.core.options import LOSSES as LOSS_OPTIONS  # one source of truth: the engine's lists
from ..engine.core.options import OPTIMIZERS as OPTIMIZER_OPTIONS
from ..engine.core.options import SCHEDULES as SCHEDULE_OPTIONS
from ..engine.models.registry import DEFAULT_ARCHITECTURE
from . import layers
from .base import DEVICE_OPTIONS, BuildSegAlgorithm, FeedbackProgress
from .training_inputs import TrainingInputs, _resolution


def _architectures():
    from ..engine.models.registry import ARCHITECTURES

    names = list(ARCHITECTURES)
    return names, names.index(DEFAULT_ARCHITECTURE)


class TrainingRecipe(TrainingInputs, BuildSegAlgorithm):
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
    FREEZE_ENCODER = "FREEZE_ENCODER"
    LOSS = "LOSS"
    CLASS_WEIGHTS = "CLASS_WEIGHTS"
    OPTIMIZER = "OPTIMIZER"
    SCHEDULE = "SCHEDULE"
    WARMUP = "WARMUP"
    AUGMENT = "AUGMENT"
    SENSOR_AUGMENT = "SENSOR_AUGMENT"
    SCENE_NORMALISATION = "SCENE_NORMALISATION"
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
            QgsProcessingParameterBoolean(self.SCENE_NORMALISATION, self.tr(
                "From scratch: standardise each raster by its own band statistics (so every scene the model "
                "runs on)"), False),
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
            QgsProcessingParameterBoolean(self.FREEZE_ENCODER, self.tr("Fine-tuning: freeze the encoder (only the "
                                                                       "rest trains; about twice the steps per "
                                                                       "minute on CPU)"), False),
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
            scene_normalisation=self.parameterAsBool(parameters, self.SCENE_NORMALISATION, context),
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
            freeze_encoder=self.parameterAsBool(parameters, self.FREEZE_ENCODER, context),
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
        from ..engine.extract.inference import extract

        model = self.model_file(parameters, context)
        name = os.path.basename(model)
        report = self.run_engine(preflight, scenes[0].raster, model, FeedbackProgress(feedback).sub(0, 1),
                                 what=f"{name} on {os.path.basename(scenes[0].raster)}: ", run=extract)
        if report is None:
            return None
        if report.verdict == "fits":
            feedback.pushInfo(f"{name} already fits this imagery: compare its extraction with the trained model's "
                              "before replacing it.")
        return {**report.metadata(), "model": name, "raster": os.path.basename(scenes[0].raster),
                "reasons": report.reasons}
