"""The moving average of the weights that training validates and writes."""

import numpy as np

from conftest import dubai, dubai_labels, polygon_labels


def test_average_follows_the_warmed_up_decay_and_batch_norm_statistics():
    import torch

    from buildseg.engine.train.ema import averaged_model

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    ema = averaged_model(model, decay=0.9)
    expected, n = None, 0
    for _ in range(30):
        with torch.no_grad():
            model[0].weight.add_(torch.randn_like(model[0].weight))
        model(torch.randn(2, 3, 8, 8))  # moves the batch-norm running statistics
        ema.update_parameters(model)
        now = model[0].weight.detach().clone(), model[1].running_mean.clone()
        if expected is None:
            expected = now  # the first update copies
        else:
            d = min(0.9, (1 + n) / (10 + n))
            expected = tuple(e * d + x * (1 - d) for e, x in zip(expected, now))
        n += 1
    assert torch.allclose(ema.module[0].weight, expected[0], atol=1e-5)
    assert torch.allclose(ema.module[1].running_mean, expected[1], atol=1e-5)
    assert int(ema.module[1].num_batches_tracked) == 30
    assert not torch.allclose(ema.module[0].weight, model[0].weight)  # an average, not the last weights


def test_training_writes_the_averaged_weights(tmp_path):
    """The same seed and steps with and without the average: the raw weights of the last step are what a run
    without it writes; with it the file holds their average (and the run is still reproducible)."""
    from safetensors.torch import load_file

    from buildseg.engine.train.dataset import Scene
    from buildseg.engine.train.loop import TrainParams, train

    def run(name, decay):
        params = TrainParams(architecture="unet-mobilenet", tile_size=128, epochs=2, tiles_per_epoch=16,
                             batch_size=4, val_fraction=0.25, seed=1, threads=1, ema_decay=decay, resume=False)
        train([Scene(dubai("tile1_part1"), polygon_labels(dubai_labels("tile1_part1")))], str(tmp_path / name),
              params)
        return load_file(str(tmp_path / name))

    raw, averaged, again = run("raw.safetensors", 0.0), run("ema.safetensors", 0.99), run("ema2.safetensors", 0.99)
    key = next(k for k in raw if k.endswith("weight") and raw[k].ndim == 4)
    assert not np.allclose(raw[key].numpy(), averaged[key].numpy())
    assert all(np.array_equal(averaged[k].numpy(), again[k].numpy()) for k in averaged)
