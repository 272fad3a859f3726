"""Other people's weights: a TorchGeo (Lightning) checkpoint of a segmentation_models.pytorch U-Net imports into
a BuildSeg model whose extraction on a real Austin tile gives the source network's own probabilities."""

import json

import numpy as np
import pytest
import rasterio
import torch

from conftest import DATA, crop

smp = pytest.importorskip("segmentation_models_pytorch")
AUSTIN = DATA / "cities" / "austin" / "image.tif"
MEAN, STD = [110.0, 112.0, 95.0], [44.0, 38.0, 41.0]


@pytest.fixture(scope="module")
def source_net():
    torch.manual_seed(0)
    return smp.Unet("resnet18", encoder_weights=None, in_channels=3, classes=2).eval()


@pytest.fixture(scope="module")
def austin_tile(tmp_path_factory):
    return crop(str(AUSTIN), str(tmp_path_factory.mktemp("austin") / "tile.tif"), 200, 600, 256, 256)


def _import(run_alg, weights, out, **extra):
    params = {"INPUT": str(weights), "ARCHITECTURE": "unet", "ENCODER": "resnet18", "BANDS": "1,2,3",
              "MEAN": ",".join(map(str, MEAN)), "STD": ",".join(map(str, STD)), "RESOLUTION": 0.3, "TILE_SIZE": 256,
              "SOURCE": "test network, seed 0", "OUTPUT_MODEL": str(out), **extra}
    return run_alg("buildseg:importweights", params)


def test_torchgeo_checkpoint_imports_and_extracts_like_the_source(run_alg, source_net, austin_tile, tmp_path):
    from buildseg.engine.models import modelfile

    ckpt = tmp_path / "epoch=9-step=100.ckpt"  # a TorchGeo SemanticSegmentationTask checkpoint
    torch.save({"epoch": 9, "state_dict": {f"model.{k}": v for k, v in source_net.state_dict().items()},
                "hyper_parameters": {"model": "unet", "backbone": "resnet18", "num_classes": 2}}, ckpt)
    res = _import(run_alg, ckpt, tmp_path / "imported.safetensors")
    info = modelfile.read_info(res["OUTPUT_MODEL"])
    assert (info.architecture, info.arch_params) == ("smp", {"arch": "unet", "encoder": "resnet18"})
    assert info.resolution == 0.3 and info.mean == MEAN and info.training["source"] == "test network, seed 0"
    from test_stac import _validate

    _validate(json.loads(open(res["STAC_ITEM"]).read()), res["OUTPUT_MODEL"])  # catalogues can find it
    out = run_alg("buildseg:extractbuildings", {"INPUT": austin_tile, "MODEL": res["OUTPUT_MODEL"], "BACKEND": 2,
                                                "OUTPUT_PROBABILITY": str(tmp_path / "p.tif")})
    with rasterio.open(austin_tile) as src:
        x = (src.read().astype(np.float32) - np.array(MEAN, np.float32)[:, None, None]) / np.array(STD, np.float32)[
            :, None, None]
    with torch.no_grad():
        expected = torch.softmax(source_net(torch.from_numpy(x)[None]), 1)[0, 1].numpy()
    with rasterio.open(out["OUTPUT_PROBABILITY"]) as p:
        got = p.read(1)
    assert np.abs(got - expected).max() < 1e-3 and expected.std() > 1e-3  # same network, same inputs


def test_safetensors_encoder_weights_fill_the_encoder(run_alg, source_net, tmp_path):
    from safetensors.torch import save_file

    from buildseg.engine.models import modelfile

    backbone = {f"encoder.{k}": v.contiguous() for k, v in source_net.encoder.state_dict().items()}
    save_file(backbone, str(tmp_path / "resnet18.safetensors"))
    res = _import(run_alg, tmp_path / "resnet18.safetensors", tmp_path / "enc.safetensors")
    model, info = modelfile.load(res["OUTPUT_MODEL"])
    assert info.training["encoder_only"] is True
    assert torch.equal(model.encoder.conv1.weight, source_net.encoder.conv1.weight)


def test_import_refuses_what_does_not_fit(run_alg, source_net, tmp_path):
    from qgis.core import QgsProcessingException

    torch.save(source_net.state_dict(), tmp_path / "w.pth")
    with pytest.raises(QgsProcessingException, match="weights take 3 band"):
        _import(run_alg, tmp_path / "w.pth", tmp_path / "a.safetensors", BANDS="1,2,3,4", MEAN="0,0,0,0",
                STD="1,1,1,1")
    with pytest.raises(QgsProcessingException, match="predict 2 class"):
        _import(run_alg, tmp_path / "w.pth", tmp_path / "b.safetensors", CLASSES="background,building,road")
    with pytest.raises(QgsProcessingException, match="lacks .* of smp unet on resnet34"):
        _import(run_alg, tmp_path / "w.pth", tmp_path / "c.safetensors", ENCODER="resnet34")
    torch.save({"net": source_net}, tmp_path / "pickled.pth")  # a whole pickled module: code, not weights
    with pytest.raises(QgsProcessingException, match="never pickled code"):
        _import(run_alg, tmp_path / "pickled.pth", tmp_path / "d.safetensors")
    assert not any(tmp_path.glob("[abcd].safetensors"))
