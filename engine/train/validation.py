"""Validation of a training run: the confusion over validation windows, the start's score, its adapted
normalisation statistics."""

import time

import numpy as np

from ..core.progress import Progress
from ..evaluation.metrics import confusion, scores
from ..extract.adapt import ADAPT_TILES, adapt_normalisation
from .dataset import read_sample
from .resolution import _Scaled


def _cpu_state(model) -> dict:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _kept(run):
    """The weights that are validated and written: the moving average when there is one."""
    return run.ema.module if run.ema is not None else run.model


def validation_confusion(model, scenes, windows, bands, mean, std, num_classes, device, batch, progress=None):
    """Confusion matrix over the validation windows."""
    import torch

    cm = np.zeros((num_classes, num_classes), np.int64)
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(windows), batch):
            if progress:
                progress.check()
            chunk = windows[start:start + batch]
            imgs, labs = [], []
            for i, r, c in chunk:
                img, lab = read_sample(scenes[i], bands, r, c, scenes[i].tile, validation=True)
                imgs.append((img - mean) / std)
                labs.append(lab)
            x = torch.from_numpy(np.stack(imgs).astype(np.float32)).to(device)
            out = model(x)
            pred = out.argmax(1).cpu().numpy().astype(np.uint8)
            for p, lab in zip(pred, labs):
                cm += confusion(p, lab, num_classes)
    return cm


def _validate(model, scenes, vwin, bands, mean, std, info, dev, params, progress, target):
    """(scores, the building IoU, else mean IoU) on the validation tiles."""
    cm = validation_confusion(model, scenes, vwin, bands, mean, std, info.num_classes, dev, params.batch_size,
                              progress)
    sc = scores(cm)
    return sc, (sc["iou"][target] if target is not None else sc["mean_iou"])


def _timed_validation(run, validate):
    """Validate once the batch loader is idle (a GDAL dataset must not be read from two threads), and remember
    how long it took: the time budget keeps room for the last end of epoch."""
    run.loader.idle()
    t0 = time.monotonic()
    out = validate()
    run.budget.record_epoch_end(time.monotonic() - t0)
    return out


def _score_columns(sc: dict, info) -> dict:
    if not sc:
        return {}
    row = {"val_mean_iou": sc["mean_iou"], "val_accuracy": sc["accuracy"]}
    row.update({f"val_iou_{c['name']}": iou for c, iou in zip(info.classes, sc["iou"])})
    return row


def _starting_score(run):
    """The starting model's validation score and weights (at the start's own resolution, as extraction would run
    it): a fine-tune must beat them to replace them. With `adapt_start`, the start with its normalisation
    statistics re-estimated on the training imagery is scored too, and the better of the two is where the
    fine-tune starts."""
    sc, score = run.validate_start(run.model)
    at = f" at its {run.start_resolution:g} m" if run.start_resolution != run.info.resolution else ""
    run.progress.info(f"Starting model: validation IoU {score:.4f}{at}")
    start = ({"score": score, "epoch": 0, "metrics": sc}, _cpu_state(run.model))
    if run.params.adapt_start:
        _adapt_start(run, score if not at else None)
    return start


def _adapt_start(run, before=None) -> None:
    """The start's batch-normalisation statistics re-estimated on training tiles (AdaBN); kept as the model to
    fine-tune when it validates at least as well as the start as it is (at the training resolution), else
    undone. Logged with both scores."""
    before, state = run.validate()[1] if before is None else before, _cpu_state(run.model)
    run.loader.idle()  # the windows' rasters are read here now; the loader's streams restart with each epoch
    windows = run.loader.windows
    drawn, windows.rng = windows.rng, np.random.default_rng([run.params.seed, 7])
    try:
        tiles = [((windows.sample()[0] - run.mean) / run.std)[None].astype(np.float32) for _ in range(ADAPT_TILES)]
    finally:
        windows.rng = drawn
    if not adapt_normalisation(run.model, tiles, progress=run.progress):
        return
    run.model.train()
    if run.ema is not None:
        run.ema.module.load_state_dict(run.model.state_dict())
    after = run.validate()[1]
    if after >= before:
        run.progress.info(f"Normalisation statistics re-estimated on {len(tiles)} training tiles: validation IoU "
                          f"{after:.4f} against {before:.4f} as it was; the fine-tune starts from the adapted model.")
        return
    run.progress.info(f"Normalisation statistics re-estimated on {len(tiles)} training tiles score lower "
                      f"({after:.4f} against {before:.4f}): the fine-tune starts from the model as it was.")
    run.model.load_state_dict(state)
    if run.ema is not None:
        run.ema.module.load_state_dict(state)


def _validate_at(view, model, scenes, vwin, *args):
    """_validate of `model`, on `view` (scales, windows) when given (the start's resolution)."""
    if view is None:
        return _validate(model, scenes, vwin, *args)
    with _Scaled(scenes, view[0]):
        return _validate(model, scenes, view[1], *args)


class _Quiet(Progress):
    """Progress for ranks other than 0: cancel still reaches them, messages do not."""

    def __init__(self, inner):
        self.inner = inner

    def is_canceled(self) -> bool:
        return self.inner.is_canceled()
