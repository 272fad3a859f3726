"""A model traced to ONNX: BuildSeg's own export (softmax inside, its header as metadata) and the writer every
ONNX profile shares."""

import warnings

from ..core.atomic import atomic_path


class Softmax:
    """Wraps a segmentation network so it returns probabilities."""

    @staticmethod
    def wrap(model):
        import torch

        class WithSoftmax(torch.nn.Module):
            def __init__(self, net):
                super().__init__()
                self.net = net

            def forward(self, x):
                return torch.softmax(self.net(x), dim=1)

        return WithSoftmax(model).eval()


def export_onnx(model, info, path: str, tile: int = None) -> None:
    """Export `model` (logits) to ONNX with softmax and the BuildSeg metadata; atomic.

    Height and width are fixed at `tile` (default: the model's tile size): several architectures (pyramid
    pooling, point flow) trace size-dependent constants, so a graph is only right at the size it was traced at.
    """
    tile = tile or info.tile_size
    write_onnx(Softmax.wrap(model.cpu().float().eval()), info.in_channels, tile, path, ("image", "probabilities"),
               {"buildseg": info.to_json()})


def write_onnx(net, channels: int, tile: int, path: str, names: tuple, metadata: dict) -> None:
    """Trace `net` at (batch, channels, tile, tile), batch dynamic, into `path` (atomic) with `metadata` as the
    ONNX metadata properties; `names`: (input, output)."""
    import onnx
    import torch

    with atomic_path(path) as tmp, warnings.catch_warnings():
        # the TorchScript exporter, chosen (its deprecation notices are not the user's business): every
        # architecture of the registry traces with it, tested (tests/models)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(net, torch.zeros(1, channels, tile, tile), tmp, input_names=[names[0]],
                          output_names=[names[1]], dynamic_axes={n: {0: "batch"} for n in names},
                          opset_version=17, dynamo=False)
        proto = onnx.load(tmp)
        _static_output_size(proto, tile)
        for key, value in metadata.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, tmp)


def _static_output_size(proto, tile: int) -> None:
    """The output's height and width declared as the tile's (the tracer leaves them symbolic, the height named
    like the batch: clients reading the declared shape would take it for a second batch axis)."""
    for out in proto.graph.output:
        dims = out.type.tensor_type.shape.dim
        if len(dims) == 4:
            for d in dims[2:]:
                d.Clear()
                d.dim_value = tile
