"""Pseudo-masks from weak labels: tile labels -> classifier -> CAM / AdvCAM -> IRN random walk -> dense CRF
with the point and box constraints -> a label raster that 'Train building model' takes directly
(1 building, 0 background, 255 ignore = uncertain)."""

import json
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..core import device as devices
from ..core import windows
from ..core.atomic import atomic_path, check_writable
from ..core.errors import BuildSegError
from ..core.options import PROB_NODATA
from ..core.progress import Progress
from ..io.raster import RasterSource, RowWriter
from ..postprocess.crf import CrfParams, refine, stretch, to_rgb8
from . import cam as cams
from . import irn as relations
from .tile_labels import WeakLabels, pixel_points, rasterize, tile_labels

IGNORE = 255
STEPS = ("cam", "advcam", "irn", "crf")


@dataclass
class PseudoParams:
    cam: cams.CamParams = field(default_factory=cams.CamParams)
    irn: relations.IrnParams = field(default_factory=relations.IrnParams)
    crf: CrfParams = field(default_factory=CrfParams)
    cam_threshold: float = 0.3  # the CAM baseline, and the IRN map's building level
    fg_confidence: float = 0.7  # refined probability above: building
    bg_confidence: float = 0.3  # below: background; between: ignore
    max_irn_tiles: int = 200
    device: str = "auto"
    threads: int = 0  # CPU threads; 0: every core this process may use


def generate(raster: str, labels: WeakLabels, out_mask: str, out_cam: str = None, params: PseudoParams = None,
             progress: Progress = None, out_report: str = None, keep_steps: bool = False) -> dict:
    """Write the pseudo-mask (and CAM) rasters of one raster; returns the report (and per-step masks)."""
    params = params or PseudoParams()
    progress = progress or Progress()
    t0 = time.time()
    if labels.empty():
        raise BuildSegError("The weak labels are empty: give points on buildings, boxes around them, or areas "
                            "tagged building=yes/no over the raster.")
    for out in (o for o in (out_mask, out_cam, out_report) if o):
        check_writable(out, inputs=[raster])
    dev = devices.resolve(params.device)
    devices.set_torch_threads(dev, params.threads)
    progress.info(f"Device: {devices.describe(dev, params.threads)}")
    tile = params.cam.tile_size
    with RasterSource(raster) as src:
        bands = list(range(1, src.count + 1))
        ov = src.overview(bands, (min(512, src.height), min(512, src.width)))
        mean, std = ov.mean((1, 2)), np.maximum(ov.std((1, 2)), 1e-6)
        tiles = [(0, r, c, lab) for r, c, lab in tile_labels(src.width, src.height, src.transform, tile, labels)]
        counts = {"positive": sum(t[3] == 1 for t in tiles), "negative": sum(t[3] == 0 for t in tiles),
                  "unknown": sum(t[3] is None for t in tiles)}
        progress.info(f"Tiles of {tile} px: {counts['positive']} with buildings, {counts['negative']} without, "
                      f"{counts['unknown']} unknown")
        if not counts["positive"] or not counts["negative"]:
            raise BuildSegError("The classifier needs tiles with and without buildings: add rasters or an area with "
                                "no buildings (tag it building=no), or use a smaller tile size.")

        def normalise(data):
            return ((data - mean[:, None, None]) / std[:, None, None]).astype(np.float32)

        def read(t):
            return normalise(src.read(bands, t[1], t[2], tile, tile)[0])

        net = cams.build(len(bands), params.cam.backbone).to(dev)
        cams.train_classifier(net, read, tiles, params.cam, dev, progress.sub(0, 40))
        maps, head = _activation_maps(net, read, tiles, params, dev, progress)
        lo, hi = stretch(src, bands[:3])
        report = _write(src, bands, tiles, maps, labels, normalise, net, head, lo, hi, params, dev, out_mask, out_cam,
                        progress.sub(75, 100), keep_steps)
    report.update({"tiles": counts, "seconds": round(time.time() - t0, 1), "params": asdict(params)})
    if out_report:
        with atomic_path(out_report) as tmp, open(tmp, "w") as f:
            json.dump({k: v for k, v in report.items() if k != "steps"}, f, indent=1, default=str)
    progress.set_progress(100)
    return report


def _activation_maps(net, read, tiles, params, dev, progress):
    """CAM and AdvCAM of every tile with buildings ({(row, col): (cam, advcam)}, float16), and the inter-pixel
    relation head trained on a sample of them."""
    import torch

    tile = params.cam.tile_size
    maps = {}
    positives = [t for t in tiles if t[3] == 1]
    for i, t in enumerate(positives):
        progress.check()
        x = torch.from_numpy(read(t)[None]).to(dev)
        maps[t[1:3]] = (cams.cam(net, x, (tile, tile)).astype(np.float16),
                        cams.advcam(net, x, (tile, tile), params.cam).astype(np.float16))
        progress.set_progress(40 + 25 * (i + 1) / len(positives))
    rng = np.random.default_rng(params.irn.seed)
    chosen = rng.permutation(len(positives))[:params.max_irn_tiles]
    samples = [(torch.from_numpy(read(positives[i])[None]), maps[positives[i][1:3]][1].astype(np.float32))
               for i in chosen]
    head = relations.build_head(net.encoder.channels[1:4])
    relations.train_head(net, head, samples, params.irn, dev, progress.sub(65, 75))
    return maps, head


def _write(src, bands, tiles, maps, labels, normalise, net, head, lo, hi, params, dev, out_mask, out_cam, progress,
           keep_steps):
    import contextlib

    import torch

    tile = params.cam.tile_size
    by_pos = {(r, c): lab for _, r, c, lab in tiles}
    rows = windows.tile_rows(src.height, src.width, tile)
    pts = pixel_points(labels, src.transform)
    steps = {k: np.zeros((src.height, src.width), np.uint8) for k in STEPS} if keep_steps else None
    shares = {"building": 0, "background": 0, "ignore": 0}
    with contextlib.ExitStack() as stack:
        mask_w = RowWriter(stack.enter_context(atomic_path(out_mask)), src, "uint8", IGNORE)
        cam_w = RowWriter(stack.enter_context(atomic_path(out_cam)), src, "float32", PROB_NODATA) if out_cam else None
        try:
            for i, row in enumerate(rows):
                y, (r0, r1) = row.y, row.core
                strip = np.full((r1 - r0, src.width), IGNORE, np.uint8)
                cam_strip = np.zeros((r1 - r0, src.width), np.float32)
                for win in row.windows:
                    progress.check()
                    x, (c0, c1) = win.x, win.core
                    label = by_pos.get((y, x))
                    core = np.s_[r0 - y:r1 - y, c0 - x:c1 - x]
                    if label == 0:
                        strip[:, c0:c1] = 0
                        continue
                    if label is None:
                        continue
                    plain, adv = (m.astype(np.float32) for m in maps[(y, x)])
                    data, _ = src.read(bands, y, x, tile, tile)  # one read: the network's input and the CRF's image
                    t = torch.from_numpy(normalise(data)[None])
                    walked = relations.random_walk(net, head, t, adv, params.irn, dev)
                    p = np.clip(walked, 0.02, 0.98)
                    q = refine(to_rgb8(data, lo, hi), np.stack([1 - p, p]), params.crf)[1]
                    out = _constrain(q, params, pts, labels, src.transform, y, x, tile)
                    strip[:, c0:c1] = out[core]
                    cam_strip[:, c0:c1] = adv[core]
                    if steps is not None:
                        for k, m in (("cam", plain), ("advcam", adv), ("irn", walked)):
                            steps[k][r0:r1, c0:c1] = (m[core] >= params.cam_threshold)
                        steps["crf"][r0:r1, c0:c1] = out[core] == 1
                mask_w.write_rows(strip)
                if cam_w:
                    cam_w.write_rows(cam_strip)
                for name, value in (("building", 1), ("background", 0), ("ignore", IGNORE)):
                    shares[name] += int((strip == value).sum())
                progress.set_progress(100.0 * (i + 1) / len(rows))
        finally:
            mask_w.close()
            if cam_w:
                cam_w.close()
    total = max(1, sum(shares.values()))
    report = {"pixel_shares": {k: round(v / total, 4) for k, v in shares.items()}}
    if steps is not None:
        report["steps"] = steps
    return report


def _constrain(q, params, pts, labels, transform, y, x, tile) -> np.ndarray:
    """Confident labels from the refined probability, then: a building must hold a point (when points are
    given), a point must lie on a building, buildings stay inside boxes (when boxes are given)."""
    from rasterio.transform import Affine
    from skimage.measure import label as components

    out = np.full(q.shape, IGNORE, np.uint8)
    out[q >= params.fg_confidence] = 1
    out[q <= params.bg_confidence] = 0
    if len(pts):
        inside = pts[(pts[:, 0] >= y) & (pts[:, 0] < y + tile) & (pts[:, 1] >= x) & (pts[:, 1] < x + tile)]
        local = np.floor(inside - [y, x]).astype(int)
        comp = components(out == 1, connectivity=1)
        keep = {int(comp[r, c]) for r, c in local if comp[r, c]}
        out[(comp > 0) & ~np.isin(comp, list(keep))] = IGNORE
        for r, c in local:
            if out[r, c] != 1:
                out[max(0, r - 3):r + 4, max(0, c - 3):c + 4] = IGNORE
    if labels.boxes:
        boxes = rasterize(labels.boxes, q.shape, transform * Affine.translation(x, y), all_touched=True)
        out[(boxes == 0) & (out == 1)] = 0
        comp = components(boxes > 0, connectivity=1)
        for k in range(1, comp.max() + 1):
            if not (out[comp == k] == 1).any():
                out[comp == k] = IGNORE
    return out
