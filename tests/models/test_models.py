"""One conformance test over every registry entry, and the model-file format's safety."""

import os
import pickle

import numpy as np
import pytest
import torch

from buildseg.engine.core.errors import BuildSegError
from buildseg.engine.models import modelfile
from buildseg.engine.models.registry import ARCHITECTURES

from conftest import dubai, dubai_labels, newer_format_copy, polygon_labels

SMALL = {"unet": {"base": 8, "depth": 3}}
OVERFIT_SIZE = {"fcn32s": 128}  # its stride-32 output cannot draw buildings on a 64 px tile
OVERFIT_LR = {"refinenet": 1e-3}  # its chained residual pooling diverges at 3e-3


@pytest.fixture(scope="module")
def real_tiles():
    """Two 128-px tiles of Dubai imagery centred on buildings, with their labels, normalised."""
    from buildseg.engine.train.dataset import Scene, read_sample

    scene = Scene(dubai("tile1_part1"), polygon_labels(dubai_labels("tile1_part1"))).open()
    (x, y), (x2, y2) = scene.labels.positive_centres()[:2]
    out = []
    for cx, cy in ((x, y), (x2, y2)):
        row, col = scene.src.ds.index(cx, cy)
        out.append(read_sample(scene, [1, 2, 3], row - 64, col - 64, 128))
    img = np.stack([(i - 100) / 50 for i, _ in out]).astype(np.float32)
    lab = np.stack([lab for _, lab in out]).astype(np.int64)
    return torch.from_numpy(img), torch.from_numpy(lab)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_architecture_conformance(name, tmp_path):
    arch = ARCHITECTURES[name]
    params = SMALL.get(name, {})
    for bands, classes, size in [(1, 2, 64), (3, 6, 96), (4, 2, 64)]:
        torch.manual_seed(0)
        model = arch.build(bands, classes, **params)
        model.train()
        out = model(torch.randn(2, bands, size, size))
        main, aux = out if isinstance(out, (tuple, list)) else (out, [])
        assert main.shape == (2, classes, size, size), (name, bands, classes, size)
        for a in aux:  # deep supervision: side outputs with the class channels
            assert a.shape[:2] == (2, classes)
        (main.float().mean() + sum(a.float().mean() for a in aux)).backward()
        grads = [p.grad for p in model.parameters() if p.requires_grad]
        assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
        model.eval()
        with torch.no_grad():
            assert model(torch.randn(1, bands, size, size)).shape == (1, classes, size, size)
    info = modelfile.ModelInfo(architecture=name, in_channels=4, arch_params=params,
                               classes=[{"id": i, "name": f"c{i}", "color": "#000000"} for i in range(2)])
    path = str(tmp_path / "m.safetensors")
    modelfile.save(path, model, info)
    loaded, info2 = modelfile.load(path)
    x = torch.randn(1, 4, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert info2 == info
    # the CPU path: the ONNX export for each tile size runs in ONNX Runtime and agrees with PyTorch
    from buildseg.engine.extract.predict import OnnxPredictor, export_onnx

    for size in (64, 96):
        export_onnx(loaded, info2, str(tmp_path / f"m{size}.onnx"), tile=size)
        x = torch.randn(2, 4, size, size)
        with torch.no_grad():
            expected = torch.softmax(loaded(x), 1).numpy()
        np.testing.assert_allclose(OnnxPredictor(str(tmp_path / f"m{size}.onnx"))(x.numpy()), expected, atol=1e-4)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_architecture_overfits_real_tiles(name, real_tiles):
    from buildseg.engine.train.losses import deep_supervision, make_loss

    torch.manual_seed(0)
    x, y = real_tiles
    size = OVERFIT_SIZE.get(name, 64)
    off = (128 - size) // 2
    x, y = x[..., off:off + size, off:off + size], y[..., off:off + size, off:off + size]
    model = ARCHITECTURES[name].build(3, 2, **SMALL.get(name, {})).train()
    opt = torch.optim.AdamW(model.parameters(), lr=OVERFIT_LR.get(name, 3e-3))
    loss_fn = make_loss("ce")
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss, _ = deep_supervision(loss_fn, model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert min(losses[-5:]) <= 0.5 * losses[0], (name, losses[0], losses[-5:])


def test_first_conv_adaptation():
    from buildseg.engine.models.encoders import adapt_first_conv

    w = torch.randn(8, 3, 7, 7)
    assert torch.allclose(adapt_first_conv(w, 1)[:, 0], w.sum(1))
    five = adapt_first_conv(w, 5)
    assert five.shape == (8, 5, 7, 7) and torch.allclose(five[:, 3], w[:, 0] * 3 / 5)
    assert adapt_first_conv(w, 3) is w


@pytest.fixture
def saved(tmp_path):
    model = ARCHITECTURES["unet"].build(3, 2, **SMALL["unet"])
    path = str(tmp_path / "ok.safetensors")
    modelfile.save(path, model, modelfile.ModelInfo(architecture="unet", in_channels=3, arch_params=SMALL["unet"]))
    return path


def test_truncated_model_is_refused(saved, tmp_path):
    data = open(saved, "rb").read()
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(BuildSegError, match="truncated"):
        modelfile.read_info(str(bad))


def test_pickle_with_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "evil.safetensors"
    bad.write_bytes(pickle.dumps({"state_dict": Evil()}, protocol=4))
    with pytest.raises(BuildSegError, match="pickle"):
        modelfile.load(str(bad))
    torch_file = tmp_path / "evil.pt"
    torch.save({"x": torch.zeros(1)}, torch_file)
    with pytest.raises(BuildSegError, match="pickle"):
        modelfile.load(str(torch_file))
    assert not marker.exists()


def test_not_a_model_and_newer_format_are_refused(saved, tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"GIF89a" + bytes(200))
    with pytest.raises(BuildSegError, match="not a BuildSeg model"):
        modelfile.read_info(str(junk))
    newer = newer_format_copy(saved, str(tmp_path / "newer.safetensors"))
    with pytest.raises(BuildSegError, match="newer BuildSeg"):
        modelfile.read_info(newer)


def test_half_precision_storage_loads_as_float32(tmp_path):
    model = ARCHITECTURES["unet"].build(3, 2, **SMALL["unet"]).eval()
    info = modelfile.ModelInfo(architecture="unet", in_channels=3, arch_params=SMALL["unet"])
    full, half = str(tmp_path / "f.safetensors"), str(tmp_path / "h.safetensors")
    modelfile.save(full, model, info)
    modelfile.save(half, model, info, half=True)
    assert os.path.getsize(half) < 0.6 * os.path.getsize(full)
    loaded, _ = modelfile.load(half)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert next(loaded.parameters()).dtype == torch.float32
        assert torch.allclose(torch.softmax(model(x), 1), torch.softmax(loaded(x), 1), atol=1e-2)


def test_header_length_starting_like_a_pickle_still_loads(tmp_path):
    """A safetensors header whose length begins with byte 0x80 is not mistaken for a pickle."""
    model = ARCHITECTURES["unet"].build(3, 2, **SMALL["unet"])
    path = str(tmp_path / "m.safetensors")
    for pad in range(300):
        info = modelfile.ModelInfo(architecture="unet", in_channels=3, arch_params=SMALL["unet"],
                                   training={"note": "x" * pad})
        modelfile.save(path, model, info)
        if open(path, "rb").read(1) == b"\x80":
            break
    assert open(path, "rb").read(1) == b"\x80"
    assert modelfile.read_info(path).training["note"] == info.training["note"]


def test_cached_imagenet_weights_are_used_and_adapted(tmp_path, monkeypatch):
    """A torchvision weight file already in the torch cache is loaded (never downloaded), first conv adapted."""
    from torchvision.models import resnet18

    from buildseg.engine.models.encoders import WEIGHT_FILES, ResNetEncoder

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    reference = resnet18(weights=None)
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(reference.state_dict(), tmp_path / "hub" / "checkpoints" / WEIGHT_FILES["resnet18"])
    enc = ResNetEncoder(18, in_channels=4, pretrained=True)
    assert enc.pretrained
    w = reference.conv1.weight.detach()
    assert torch.allclose(enc.stem[0].weight, w[:, [0, 1, 2, 0]] * 3 / 4)
    assert torch.equal(enc.layers[3][1].conv2.weight, reference.layer4[1].conv2.weight)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    assert not ResNetEncoder(18, in_channels=4, pretrained=True).pretrained
