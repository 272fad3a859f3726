"""Adaptation without labels: a model's batch-normalisation statistics re-estimated on the imagery it is about to
run on (AdaBN, Li et al. 2016). Only the running means and variances change; every learnt weight stays as it is.
Deterministic: the same tiles, in the same order, give the same statistics."""

import numpy as np

ADAPT_TILES = 32  # tiles spread over the scene (or the training rasters)
ADAPT_BATCH = 8


def batch_norms(model) -> list:
    import torch

    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def adapt_normalisation(model, tiles, batch: int = ADAPT_BATCH, progress=None) -> int:
    """Replace the running statistics of every batch-norm layer of `model` by their average over `tiles`
    (normalised float32 arrays (1, C, H, W) or (C, H, W)), batch by batch; returns the number of layers adapted
    (0: the model has none, nothing changed). The model is left in eval mode."""
    import torch

    layers = batch_norms(model)
    tiles = [np.asarray(t, np.float32).reshape((-1,) + np.shape(t)[-3:]) for t in tiles]
    if not layers or not tiles:
        return 0
    momenta = [m.momentum for m in layers]
    device = next(model.parameters()).device
    model.eval()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
        m.train()
    try:
        with torch.no_grad():
            for start in range(0, len(tiles), batch):
                if progress is not None:
                    progress.check()
                x = torch.from_numpy(np.concatenate(tiles[start:start + batch])).to(device)
                model(x)
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        model.eval()
    return len(layers)
