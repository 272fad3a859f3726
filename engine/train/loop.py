"""The training loop: tiles sampled from rasters, the averaged weights of the epoch that validates best written
(or the last epoch's; a fine-tune's start instead when it scores better on validation), resumable."""

import dataclasses
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from ..core import device as devices
from ..core import memory
from ..core.atomic import check_writable
from ..core.errors import BuildSegError, Cancelled
from ..core.options import OPTIMIZERS, SCHEDULES
from ..core.progress import Progress
from ..io.labels import IGNORE
from ..models import modelfile, stac
from ..models.registry import DEFAULT_ARCHITECTURE
from . import ddp
from .batches import BatchLoader
from .blend import SHARES
from .budget import TimeBudget
from .checkpoint import _load_checkpoint, _save_checkpoint, checkpoint_path, run_fingerprint, write_csv
from .dataset import RandomWindows, footprints_wgs84, split_scenes, val_windows
from .ema import averaged_model
from .report import training_report
from .resolution import _at_model_resolution, _imagery_range, _start_view, _training_resolution
from .schedule import _lr_at, _lr_factor, _optimizer, freeze_encoder
from .start import _blend_with_start, _colour_bands, _initial_model, _keep_start_if_better
from .validation import (
    _cpu_state,
    _kept,
    _Quiet,
    _score_columns,
    _starting_score,
    _timed_validation,
    _validate,
    _validate_at,
)


@dataclass
class TrainParams:
    architecture: str = DEFAULT_ARCHITECTURE  # the registry's default: the bundled model's
    arch_params: dict = field(default_factory=dict)
    bands: list = None  # 1-based; default: all bands of the first raster
    classes: list = None  # [{"id", "name", "color"}]; default background/building
    tile_size: int = 256
    epochs: int = 10
    tiles_per_epoch: int = 256
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    loss: str = "ce+dice"
    class_weights: list = None
    optimizer: str = "adamw"
    schedule: str = "cosine"
    warmup_epochs: int = 1
    augment: bool = True  # flips, 90° rotations, scale, brightness/contrast
    sensor_augment: bool = False  # also colour, gamma, coarser resolution, blur, noise, JPEG: for other imagery
    scene_normalisation: bool = False  # from scratch: each raster standardised by its own band statistics, and
    # so every scene the model later runs on (fine-tunes keep their start's normalisation)
    patience: int = 0  # 0: no early stopping
    best_epoch: bool = True  # write the epoch that validates best (False: the last epoch)
    val_fraction: float = 0.2
    device: str = "auto"
    seed: int = 0
    init_model: str = None  # fine-tune from this model file
    resume: bool = True
    keep_better_start: bool = True  # a fine-tune scoring below its start on validation writes the start
    grad_clip: float = 1.0
    ema_decay: float = 0.99  # validate and keep an exponential moving average of the weights (0: off)
    encoder_lr_scale: float = None  # the encoder's rate relative to the rest; None: 0.1 fine-tuning, else 1
    threads: int = 0
    time_budget: float = 0.0  # minutes of training; 0: run `epochs`
    fit_check: dict = None  # the model-fit check of the starting model on the imagery, recorded in the model
    native_resolution: bool = True  # a fine-tune on imagery coarser than its model trains at the imagery's own
    adapt_start: bool = True  # a fine-tune starts from the model with its normalisation re-estimated on the
    # training imagery when that validates better (engine.extract.adapt)
    freeze_encoder: bool = False  # train all but the encoder's weights (its normalisation statistics still
    # follow the imagery): about twice the steps per minute on CPU


@dataclass
class TrainResult:
    model_path: str
    epochs_run: int
    best_epoch: int
    best_metrics: dict
    history: list
    cancelled: bool = False
    seconds: float = 0.0


def _train_epoch(run, epoch):
    """One epoch of steps (fewer when the time budget runs out); returns (losses, out of time)."""
    torch, p, budget = run.torch, run.params, run.budget
    run.model.train()
    run.loader.set_epoch(epoch)
    torch.manual_seed(p.seed + epoch)
    losses = []
    for step in range(run.steps):
        run.progress.check()
        if budget.no_time_for_step():
            return losses, True
        t_step = time.monotonic()
        ddp.maybe_crash(epoch, step, run.dist)
        factor = _lr_at(p.schedule, budget.fraction(), min(0.1, p.warmup_epochs * 0.05)) if budget.active \
            else _lr_factor(p.schedule, epoch, step, run.steps, p.epochs, p.warmup_epochs)
        for g in run.opt.param_groups:
            g["lr"] = p.lr * factor * g.get("scale", 1.0)
        losses.append(_step(run, *run.loader.get()))
        budget.record_step(time.monotonic() - t_step)
        done = budget.fraction() if budget.active else \
            (epoch - run.start_epoch + (step + 1) / run.steps) / max(1, p.epochs - run.start_epoch)
        run.progress.set_progress(95.0 * done)
    return losses, budget.active and budget.no_time_for_step()


def _step(run, x, y) -> float:
    """One optimisation step on a batch; returns its loss."""
    torch, dev, opt, scaler = run.torch, run.dev, run.opt, run.scaler
    x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
    if dev.type == "cuda":
        x = x.to(memory_format=torch.channels_last)
    opt.zero_grad(set_to_none=True)
    with torch.autocast(dev.type, dtype=torch.float16, enabled=dev.type == "cuda"):
        loss, _ = run.deep_supervision(run.loss_fn, run.net(x), y)
    if scaler:
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
    else:
        loss.backward()
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.params.grad_clip)
    if scaler:
        scaler.step(opt)
        scaler.update()
    else:
        opt.step()
    if run.ema is not None:
        run.ema.update_parameters(run.model)
    return float(loss.detach())


def train(scenes, out_model: str, params: TrainParams, progress: Progress = None,
          out_report: str = None, out_csv: str = None, resolution: float = None) -> TrainResult:
    """Train (or fine-tune) a model on `scenes` and write the model file atomically: set-up, model and data,
    resume or score the start, the epochs (validation, checkpoints, budget, cancel), then the model file and
    its reports (rank 0 only)."""
    t0 = time.time()
    check_writable(out_model, inputs=[s.raster for s in scenes] + [params.init_model])
    _check_params(params)
    run = _setup(scenes, params, progress or Progress())
    _model_and_data(run, scenes, resolution)
    _resume_or_score_start(run, scenes, out_model)
    _epochs(run, t0)
    _check_trained(run)
    if run.dist.is_main:
        _write(run, scenes, out_model, out_report, out_csv, t0)
    ddp.finish(run.dist)
    return TrainResult(out_model, len(run.history), run.kept["epoch"], run.kept["metrics"], run.history,
                       run.cancelled, time.time() - t0)


@dataclass(slots=True)  # an attribute not declared here cannot be set
class TrainingRun:
    """The state of one training run, declared: set up by _setup (device, process group, bands, parameters),
    _model_and_data (model, data, optimizer, validation) and _resume_or_score_start (history, kept weights,
    the start, budget, checkpoint), then advanced by the epochs."""

    torch: Any
    dev: Any
    dist: Any
    progress: Progress
    bands: list
    params: TrainParams
    cancelled: bool = False
    # the model and its data (_model_and_data)
    model: Any = None
    info: Any = None  # the ModelInfo written with the weights (its resolution: what training reads at)
    ema: Any = None  # the moving average of the weights (validated and written), or None
    net: Any = None  # the model as trained (DDP-wrapped under torchrun)
    mean: np.ndarray = None
    std: np.ndarray = None
    vwin: list = None  # validation windows (scene index, row, col)
    loss_fn: Callable = None
    deep_supervision: Callable = None
    opt: Any = None
    scaler: Any = None  # fp16 gradient scaler on CUDA
    steps: int = 0  # steps per epoch
    loader: Any = None  # the BatchLoader
    validate: Callable = None  # () -> (scores, score) of the kept weights
    validate_start: Callable = None  # (model) -> (scores, score) at the start's own resolution
    start_resolution: float = None
    # progress and what is kept (_resume_or_score_start, the epochs)
    history: list = field(default_factory=list)
    start_epoch: int = 0
    kept: dict = None  # {"score", "epoch", "metrics"} of the weights to write
    kept_state: dict = None
    start: dict = None  # a fine-tune's starting score, and its weights
    start_state: dict = None
    peak: dict = None  # the best validation score so far (early stopping)
    fingerprint: str = ""
    ckpt: str = ""
    budget: TimeBudget = None


def _setup(scenes, params, progress) -> TrainingRun:
    """Seed, device (and the process group under torchrun), threads, the rasters opened and checked, the batch
    size fitted to memory."""
    import torch

    torch.manual_seed(params.seed)
    dist, dev = ddp.setup(devices.resolve(params.device))
    if not dist.is_main:
        progress = _Quiet(progress)
    devices.set_torch_threads(dev, params.threads)
    progress.info(f"Device: {devices.describe(dev, params.threads)}")
    for s in scenes:
        s.open()
        s.tile = params.tile_size
        if min(s.src.width, s.src.height) < params.tile_size // 2:
            raise BuildSegError(f"The raster {s.raster} ({s.src.width}x{s.src.height} px) is too small for "
                                f"tile size {params.tile_size}: use a tile size of at most "
                                f"{min(s.src.width, s.src.height)} px.")
    bands = params.bands or _colour_bands(params, scenes[0].src, progress) or \
        list(range(1, scenes[0].src.count + 1))
    for s in scenes:
        s.src.check_bands(bands)
    fits = memory.fit_batch(params.tile_size, params.batch_size, len(bands), 0, progress, dev, kind="training")
    return TrainingRun(torch=torch, dev=dev, dist=dist, progress=progress, bands=bands,
                       params=dataclasses.replace(params, batch_size=fits))


def _model_and_data(run, scenes, resolution) -> None:
    """The starting model on the device, the validation split and windows, the batches, loss and optimizer."""
    from .losses import deep_supervision, make_loss

    torch, params, progress = run.torch, run.params, run.progress
    model, info = _initial_model(params, run.bands, scenes, resolution, progress)
    model = model.to(run.dev)
    if params.freeze_encoder:
        progress.info(f"Encoder frozen ({freeze_encoder(model)} weight tensors): the rest of the model trains, "
                      "about twice the steps per minute on CPU.")
    if run.dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    mean = np.asarray(info.mean, np.float32)[:, None, None]
    std = np.asarray(info.std, np.float32)[:, None, None]
    start_resolution = info.resolution
    info.resolution = _training_resolution(params, info, scenes, progress) or info.resolution
    _at_model_resolution(scenes, info.resolution, progress)
    split_scenes(scenes, params.val_fraction, params.tile_size, params.seed)
    vwin = val_windows(scenes, params.tile_size)
    start_view = _start_view(scenes, start_resolution, params.tile_size) \
        if info.resolution != start_resolution else None
    progress.info(f"Training on {sum(s.role != 'val' for s in scenes)} raster(s), validating on "
                  f"{len(vwin)} tile(s) of {params.tile_size} px; model: {info.summary()}")
    if not vwin:
        progress.warn("No validation tile holds labels (the labelled parts are too small to hold blocks out, or the "
                      "validation fraction is 0): the epoch with the lowest training loss is kept, and a "
                      "fine-tune cannot be checked against its start. Give a validation area, or more labels.")
    weights = torch.tensor(params.class_weights, dtype=torch.float32) if params.class_weights else None
    target = info.class_index("building") if any(c["name"] == "building" for c in info.classes) else None
    windows = RandomWindows(scenes, run.bands, params.tile_size, seed=params.seed)
    ema = averaged_model(model, params.ema_decay) if params.ema_decay > 0 else None
    run.ema, run.model, run.info, run.mean, run.std, run.vwin = ema, model, info, mean, std, vwin
    run.net = ddp.wrap(model, run.dist, run.dev)
    run.loss_fn, run.deep_supervision = make_loss(params.loss, weights), deep_supervision
    run.opt = _optimizer(torch, model, params)
    run.steps = max(1, params.tiles_per_epoch // (params.batch_size * run.dist.world))
    run.loader = BatchLoader(windows, params.tile_size, params.batch_size, mean, std, params.augment, params.seed,
                             (run.dist.rank, run.dist.world), params.augment and params.sensor_augment)
    run.scaler = torch.amp.GradScaler("cuda") if run.dev.type == "cuda" else None
    run.validate = lambda: _timed_validation(run, lambda: _validate(
        _kept(run), scenes, vwin, run.bands, mean, std, info, run.dev, params, progress, target))
    run.start_resolution = start_resolution
    run.validate_start = lambda model: _timed_validation(run, lambda: _validate_at(
        start_view, model, scenes, vwin, run.bands, mean, std, info, run.dev, params, progress, target))


def _resume_or_score_start(run, scenes, out_model) -> None:
    """Resume from this run's checkpoint when there is one; a fine-tune's start is scored first (what the
    written model must not fall below)."""
    params = run.params
    run.history, run.start_epoch, spent = [], 0, 0.0
    run.kept, run.kept_state = {"score": -1.0, "epoch": 0, "metrics": {}}, None  # what will be written
    run.start, run.start_state = None, None  # a fine-tune's starting model: score and weights
    run.peak = {"score": -1.0, "epoch": 0}  # the best validation score so far (early stopping)
    run.fingerprint, run.ckpt = run_fingerprint(scenes, params), checkpoint_path(out_model)
    if params.resume and os.path.exists(run.ckpt):
        run.start_epoch, spent = _load_checkpoint(run.torch, run.ckpt, run)
    run.budget = TimeBudget(params.time_budget, spent)
    if params.init_model and run.vwin:
        run.budget.closing_validations = len(SHARES)  # the blends with the start
    if params.init_model and run.vwin and run.dist.is_main and run.start_epoch == 0:
        run.start, run.start_state = _starting_score(run)
        run.kept, run.kept_state = run.start, run.start_state


def _epochs(run, t0) -> None:
    """Epochs until done, out of time, early-stopped or cancelled (the best or the last epoch's weights are
    kept)."""
    params, progress, epoch = run.params, run.progress, run.start_epoch
    try:
        for epoch in range(run.start_epoch, params.epochs if not run.budget.active else 10**9):
            losses, out_of_time = _train_epoch(run, epoch)
            if not losses:
                break
            t_end = time.monotonic()
            _end_of_epoch(run, epoch, losses, t0)
            run.budget.record_epoch_end(time.monotonic() - t_end)
            if ddp.from_main(bool(params.patience and epoch + 1 - run.peak["epoch"] >= params.patience), run.dist):
                progress.info(f"Early stopping: no improvement for {params.patience} epoch(s).")
                break
            if out_of_time:
                progress.info(f"Time budget of {params.time_budget:g} min reached after {epoch + 1} epoch(s).")
                break
    except Cancelled:
        if run.kept_state is None:
            raise
        run.cancelled = True
        progress.warn(f"Cancelled during epoch {epoch + 1}: saving the model of epoch {run.kept['epoch']}; run "
                      "again with resume to continue.")
    finally:
        run.loader.close()
        run.budget.stop()
    _explain_learning(run)
    _blend_with_start(run)
    _keep_start_if_better(run)


def _explain_learning(run) -> None:
    """When a budgeted run stopped improving early, the log says where validation peaked and what would help
    (more labels, not more minutes): its peak came in its first third, or its last third of epochs validates no
    better than its 4th epoch did (the plateau issue 41 asks a run to explain)."""
    n, peak = len(run.history), run.peak["epoch"]
    if not run.budget.active or n < 6:
        return
    scores = [h.get("val_score") for h in run.history]
    last = scores[math.ceil(2 * n / 3):]
    stalled = None not in scores and sum(last) / len(last) <= scores[3]
    if peak > n / 3 and not stalled:
        return
    minute = run.history[peak - 1]["seconds"] / 60 if peak else 0
    plateau = f"; its last third validated {sum(last) / len(last):.3f} against {scores[3]:.3f} at epoch 4" \
        if stalled else ""
    run.progress.info(f"Validation peaked at epoch {peak} of {n} (after {minute:.0f} min) and did not improve in "
                      f"the rest of the budget{plateau}: the model has learnt what these labels teach; more "
                      "labelled ground (another area, other imagery) would help more than more minutes.")


def _check_trained(run) -> None:
    """A time budget that ended before one step trained nothing: refused, no model written (it would be the
    start, or untrained weights, under a new name)."""
    if run.history or run.cancelled or not run.budget.active:
        return
    need = (run.budget.spent() + max(run.budget.step_seconds, 1.0) * run.steps) / 60
    raise BuildSegError(f"The time budget of {run.params.time_budget:g} min ended before the first training step "
                        f"(scoring the start and validating take {run.budget.spent():.0f} s here): nothing was "
                        f"trained and no model is written. Give a time budget of at least {max(0.5, need):.1f} min.")


def _end_of_epoch(run, epoch, losses, t0) -> None:
    """Validate, log, keep this epoch's (averaged) weights, write the checkpoint."""
    row = {"epoch": epoch + 1, "loss": ddp.mean(float(np.mean(losses)), run.dist),
           "lr": run.opt.param_groups[0]["lr"], "seconds": round(time.time() - t0, 1), "steps": len(losses)}
    sc, score = run.validate() if run.vwin and run.dist.is_main else ({}, -row["loss"])
    row.update(_score_columns(sc, run.info))
    if run.vwin and run.dist.is_main:
        row["val_score"] = score  # what epochs are ranked by (the building IoU)
    run.history.append(row)
    left = f", {run.budget.describe_left()}" if run.budget.active else ""
    run.progress.info("Epoch {epoch}/{n}: loss {loss:.4f}".format(
        n=run.params.epochs if not run.budget.active else "…", **row) +
        (f", validation IoU {score:.4f}" if run.vwin else "") + left)
    improved = score > run.peak["score"]
    if improved:
        run.peak = {"score": score, "epoch": epoch + 1}
    if improved or not run.params.best_epoch:
        run.kept, run.kept_state = {"score": score, "epoch": epoch + 1, "metrics": sc}, _cpu_state(_kept(run))
    if run.dist.is_main:
        _save_checkpoint(run.torch, run.ckpt, run, epoch + 1)
    ddp.barrier(run.dist)


def _write(run, scenes, out_model, out_report, out_csv, t0) -> None:
    """The kept weights into the model file (self-described: how, on what, how well), its STAC item, the CSV
    and HTML reports; the checkpoint goes unless the run was cancelled."""
    params, info, model = run.params, run.info, run.model
    if run.kept_state is not None:
        model.load_state_dict(run.kept_state)
    info.training = {
        **info.training, "architecture": params.architecture, "epochs_run": len(run.history),
        "best_epoch": run.kept["epoch"], "best_validation_epoch": run.peak["epoch"],
        "blended_with_start": run.kept.get("blend"),
        "tiles_per_epoch": params.tiles_per_epoch, "sensor_augment": params.sensor_augment,
        "batch_size": params.batch_size, "lr": params.lr, "loss": params.loss, "optimizer": params.optimizer,
        "schedule": params.schedule, "augment": params.augment, "seed": params.seed,
        "rasters": [os.path.basename(s.raster) for s in scenes], "seconds": round(time.time() - t0, 1),
        "footprint_wgs84": footprints_wgs84(scenes),
        "imagery_resolution_m": _imagery_range(scenes, info.training.get("imagery_resolution_m")),
        "device": str(run.dev),
        "fine_tuned_from": os.path.basename(params.init_model) if params.init_model else None,
        "params": {k: v for k, v in asdict(params).items() if k not in ("classes",)},
        "time_budget_min": params.time_budget, "training_seconds": round(run.budget.spent(), 1),
        "steps": int(sum(h.get("steps", 0) for h in run.history)), "fit_check": params.fit_check,
    }
    info.metrics = {"validation": run.kept["metrics"], "validation_score": run.kept["score"],
                    "validation_tiles": len(run.vwin),  # the figure's size and place, shown with it
                    "validation_rasters": sorted({os.path.basename(scenes[i].raster) for i, _, _ in run.vwin})}
    modelfile.save(out_model, model, info)
    stac.write_item(out_model, info, model)
    if out_csv:
        write_csv(out_csv, run.history)
    if out_report:
        training_report(out_report, run.history, info, scenes, run.vwin, model.cpu().eval(), run.bands, run.mean,
                        run.std)
    if not run.cancelled and os.path.exists(run.ckpt):
        os.remove(run.ckpt)


def _check_params(p: TrainParams):
    if p.optimizer not in OPTIMIZERS:
        raise BuildSegError(f"Unknown optimizer '{p.optimizer}': use {', '.join(OPTIMIZERS)}.")
    if p.schedule not in SCHEDULES:
        raise BuildSegError(f"Unknown schedule '{p.schedule}': use {', '.join(SCHEDULES)}.")
    if p.tile_size < 32 or p.tile_size > 2048:
        raise BuildSegError(f"Tile size {p.tile_size} is out of range: use 32 to 2048 px (typical 256-512).")
    if p.epochs < 1 or p.batch_size < 1:
        raise BuildSegError("Epochs and batch size must be at least 1.")


__all__ = ["IGNORE", "TrainParams", "TrainResult", "train"]
