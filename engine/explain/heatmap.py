"""Heatmaps on the input grid: class probability, Grad-CAM / Grad-CAM++, uncertainty (entropy, variance
across test-time augmentations) and layer activations, streamed and blended like extraction."""

import contextlib
import os
from dataclasses import dataclass, field

import numpy as np

from ..core import device as devices
from ..core import memory
from ..core.atomic import atomic_path, check_writable, work_dir
from ..core.errors import BuildSegError
from ..core.progress import Progress
from ..extract.blend import blend_scene
from ..extract.inference import blend_bytes
from ..extract.plan import make_plan
from ..extract.predict import tta_transforms
from ..io import resample
from ..io.raster import RasterSource, RowWriter, open_source, src_path
from ..models import modelfile, registry

MODES = ["probability", "gradcam", "gradcam++", "entropy", "tta-variance", "features"]
NODATA = -9999.0
# the layer Grad-CAM and feature maps look at when none is named: a decoder stage at stride 2-4 where the
# architecture has one (semantic, yet sharp enough to outline buildings), else the last context module
@dataclass
class HeatmapParams:
    mode: str = "probability"
    target_class: str = "building"
    layer: str = ""  # empty: the architecture's registry entry's gradcam_layer
    channels: list = None  # features mode: channel indices to average (default all)
    tile_size: int = 0
    overlap: int = 64
    batch_size: int = 0
    device: str = "auto"
    threads: int = 0  # CPU threads; 0: every core this process may use
    aoi: list = field(default=None, repr=False)


def layer_names(model, depth: int = 3) -> list:
    """Module names down to `depth` dots, the choices for `layer`."""
    return [n for n, _ in model.named_modules() if n and n.count(".") < depth]


def _layer(model, name: str, arch: str):
    name = name or (registry.ARCHITECTURES[arch].gradcam_layer if arch in registry.ARCHITECTURES else "")
    modules = dict(model.named_modules())
    if name not in modules:
        choices = ", ".join(layer_names(model, 2)[:40])
        raise BuildSegError(f"The model has no layer '{name}'. Choose one of: {choices}")
    return name, modules[name]


class _Hook:
    def __init__(self, module):
        self.value = None
        self.handle = module.register_forward_hook(self._save)

    def _save(self, module, inputs, output):
        out = output[0] if isinstance(output, (tuple, list)) else output
        if out.requires_grad:
            out.retain_grad()
        self.value = out

    def close(self):
        self.handle.remove()


def _tile_function(torch, model, mode, target, hook, channels, device, num_classes):
    """The per-tile function for blend_scene, and its number of output channels."""
    def forward(x, grad=False):
        t = torch.from_numpy(x).to(device)
        with torch.set_grad_enabled(grad):
            return model(t)

    if mode == "probability":
        return (lambda x: torch.softmax(forward(x), 1)[:, target:target + 1].detach().cpu().numpy()), 1
    if mode == "entropy":  # blended class probabilities; the entropy is taken after blending
        return (lambda x: torch.softmax(forward(x), 1).detach().cpu().numpy()), num_classes
    if mode == "tta-variance":
        def variance(x):
            outs = [inv(torch.softmax(forward(np.ascontiguousarray(fwd(x))), 1)[:, target:target + 1]
                        .detach().cpu().numpy()) for fwd, inv in tta_transforms("d4")]
            return np.var(np.stack(outs), axis=0)
        return variance, 1
    if mode == "features":
        def features(x):
            forward(x)
            a = hook.value.detach()
            if channels:
                a = a[:, channels]
            m = a.mean(1, keepdim=True)
            return torch.nn.functional.interpolate(m, size=x.shape[-2:], mode="bilinear",
                                                   align_corners=False).cpu().numpy()
        return features, 1

    def cam(x):  # Grad-CAM / Grad-CAM++ for the target class over the segmentation output
        model.zero_grad(set_to_none=True)
        logits = forward(x, grad=True)
        pred = logits.argmax(1) == target
        region = pred if pred.any() else torch.ones_like(pred)
        score = (logits[:, target] * region).sum()
        score.backward()
        a, g = hook.value.detach(), hook.value.grad.detach()
        if mode == "gradcam":
            w = g.mean((2, 3), keepdim=True)
        else:
            g2, g3 = g ** 2, g ** 3
            alpha = g2 / (2 * g2 + a.sum((2, 3), keepdim=True) * g3 + 1e-12)
            alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
            w = (alpha * torch.relu(g)).sum((2, 3), keepdim=True)
        m = torch.relu((w * a).sum(1, keepdim=True))
        return torch.nn.functional.interpolate(m, size=x.shape[-2:], mode="bilinear",
                                               align_corners=False).cpu().numpy()
    return cam, 1


def export_heatmap(raster, model_path: str, out_path: str, params: HeatmapParams = None,
                   progress: Progress = None, quicklook: str = None) -> dict:
    """Write the heatmap of `params.mode` as a float32 GeoTIFF on the input grid (NODATA outside data)."""
    import torch

    params = params or HeatmapParams()
    progress = progress or Progress()
    if params.mode not in MODES:
        raise BuildSegError(f"Unknown heatmap mode '{params.mode}': use {', '.join(MODES)}.")
    check_writable(out_path, inputs=[src_path(raster), model_path])
    if quicklook:
        check_writable(quicklook, inputs=[src_path(raster), model_path])
    info = modelfile.read_info(model_path)
    target = info.class_index(params.target_class)
    dev = devices.resolve(params.device)
    devices.set_torch_threads(dev, params.threads)
    progress.info(f"Device: {devices.describe(dev, params.threads)}")
    model, _ = modelfile.load(model_path, dev)
    hook = None
    if params.mode in ("gradcam", "gradcam++", "features"):
        name, module = _layer(model, params.layer, info.architecture)
        progress.info(f"Layer: {name}")
        hook = _Hook(module)
    fn, channels = _tile_function(torch, model, params.mode, target, hook, params.channels, dev,
                                  info.num_classes)
    try:
        with open_source(raster) as src, contextlib.ExitStack() as stack:
            plan = make_plan(src, info, None, params.tile_size, params.overlap, progress)
            final = stack.enter_context(atomic_path(out_path))
            work = stack.enter_context(work_dir("buildseg-heat-"))
            calc = stack.enter_context(RasterSource(plan.model_input(src, work))) if plan.grid else src
            on_grid = os.path.join(work, "model_grid.tif") if plan.grid else final
            job = (plan, fn, channels, params, dev)
            stats = _compute(calc, job, on_grid, work, progress.sub(0, 95 if plan.grid else 100))
            if plan.grid:
                resample.warp_to_input(src, on_grid, final, "bilinear", NODATA)
            if quicklook:
                _quicklook(src, final, quicklook)
    finally:
        if hook:
            hook.close()
    progress.set_progress(100)
    return stats


def _compute(src, job, out_path, work, progress) -> dict:
    """The heatmap of `src` (on the model's grid) into `out_path`; Grad-CAM rescaled over the whole scene."""
    plan, fn, channels, params, dev = job
    info, tile = plan.info, plan.tile
    stats = {"min": np.inf, "max": -np.inf}
    plan = plan.for_batch(params.batch_size or (4 if dev.type == "cuda" else 1))
    plan = plan.for_batch(memory.fit_batch(tile, plan.batch, info.in_channels, blend_bytes(src, tile, channels),
                                           progress, dev,
                                           kind="training" if params.mode in ("gradcam", "gradcam++") else "inference"))
    normalise = params.mode in ("gradcam", "gradcam++")
    first = os.path.join(work, "raw.tif") if normalise else out_path
    writer = RowWriter(first, src, "float32", NODATA)

    def on_rows(values, ok):
        v = values[0] if channels == 1 else _entropy(values)
        if ok.any():
            stats["min"] = min(stats["min"], float(v[ok].min()))
            stats["max"] = max(stats["max"], float(v[ok].max()))
        writer.write_rows(np.where(ok, v, NODATA).astype(np.float32))

    try:
        blend_scene(src, plan, fn, channels, on_rows, progress.sub(0, 90 if normalise else 100), params.aoi)
    finally:
        writer.close()
    if normalise:  # one scale for the whole scene, not per tile (no seams)
        _rescale(first, out_path, src, stats["max"], progress)
        stats = {"min": 0.0, "max": 1.0 if stats["max"] > 0 else 0.0, "raw_max": stats["max"]}
    return stats


def _entropy(probs):
    p = np.clip(probs, 1e-7, 1)
    return -(p * np.log(p)).sum(0) / np.log(probs.shape[0])


def _rescale(src_path, out_path, like, peak, progress):
    import rasterio
    from rasterio.windows import Window

    scale = 1.0 / peak if peak > 0 else 0.0
    writer = RowWriter(out_path, like, "float32", NODATA)
    try:
        with rasterio.open(src_path) as raw:
            for y in range(0, raw.height, RowWriter.BLOCK):
                progress.check()
                rows = raw.read(1, window=Window(0, y, raw.width, min(RowWriter.BLOCK, raw.height - y)))
                writer.write_rows(np.where(rows == NODATA, NODATA, rows * scale).astype(np.float32))
    finally:
        writer.close()


def _quicklook(src, heat_path, png_path, size: int = 1024):
    """PNG: the image (2-98% stretch) with the heatmap over it (inferno, half transparent)."""
    import cv2
    import rasterio

    f = min(1.0, size / max(src.width, src.height))
    shape = (max(1, int(src.height * f)), max(1, int(src.width * f)))
    img = src.overview(list(range(1, min(3, src.count) + 1)), shape)
    if img.shape[0] == 1:
        img = np.repeat(img, 3, 0)
    lo, hi = np.percentile(img, 2), np.percentile(img, 98)
    rgb = np.clip((img - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    with rasterio.open(heat_path) as h:
        heat = h.read(1, out_shape=shape)
    ok = heat != NODATA
    if ok.any():
        lo, hi = heat[ok].min(), heat[ok].max()
        scaled = np.clip((heat - lo) / max(hi - lo, 1e-12) * 255, 0, 255).astype(np.uint8)
    else:
        scaled = np.zeros(shape, np.uint8)
    colour = cv2.applyColorMap(scaled, cv2.COLORMAP_INFERNO)[:, :, ::-1]
    blend = np.where(ok[..., None], (0.5 * rgb + 0.5 * colour).astype(np.uint8), rgb)
    with atomic_path(png_path) as tmp:
        cv2.imwrite(tmp, np.ascontiguousarray(blend[:, :, ::-1]))


def hardest_windows(path: str, size_px: int = 256, count: int = 10) -> list:
    """Where to label next: the `count` windows of `size_px` with the highest mean of a heatmap (an uncertainty
    map), at least half valid (edge windows at least a quarter of the size), most uncertain first:
    [(mean, (minx, miny, maxx, maxy))] in the raster's CRS."""
    import rasterio

    found = []
    with rasterio.open(path) as ds:
        for row in range(0, ds.height, size_px):
            h = min(size_px, ds.height - row)
            data = ds.read(1, window=((row, row + h), (0, ds.width)), masked=True)
            ok = ~np.ma.getmaskarray(data) & (data.filled(-1) >= 0)
            values = np.where(ok, data.filled(0), 0).astype(np.float64)
            for col in range(0, ds.width, size_px):
                w = min(size_px, ds.width - col)
                n = ok[:, col:col + w].sum()
                if h * w >= size_px * size_px / 4 and n >= 0.5 * h * w:  # no slivers, mostly valid
                    x0, y0 = ds.transform * (col, row + h)
                    x1, y1 = ds.transform * (col + w, row)
                    found.append((float(values[:, col:col + w].sum() / n),
                                  (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))))
    return sorted(found, key=lambda f: -f[0])[:count]
