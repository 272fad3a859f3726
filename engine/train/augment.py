"""Photometric and sensor augmentation of normalised training tiles: what differs between cities and sensors.

Each sample (float32 (bands, H, W), z-scored per band) may get, each with its own probability: colour balance
and saturation, gamma, a coarser ground resolution (downsampled up to 3x and back), blur, sensor noise and
JPEG artefacts (3-band tiles). Geometry is untouched, so labels stay aligned.
"""

import numpy as np


def _unit_range(x):
    lo, hi = np.percentile(x, 0.5), np.percentile(x, 99.5)
    scale = max(float(hi - lo), 1e-6)
    return np.clip((x - lo) / scale, 0, 1), lo, scale


def colour(x, rng):
    """Per-band gain/offset (white balance, hue shift) and saturation around the band mean."""
    n = x.shape[0]
    x = x * rng.uniform(0.85, 1.15, (n, 1, 1)).astype(np.float32) + rng.normal(0, 0.15, (n, 1, 1)).astype(np.float32)
    if n >= 3:
        grey = x.mean(0, keepdims=True)
        x = grey + (x - grey) * np.float32(rng.uniform(0.5, 1.5))
    return x


def gamma(x, rng):
    u, lo, scale = _unit_range(x)
    return (u ** np.float32(np.exp(rng.uniform(-0.4, 0.4)))) * scale + lo


def coarser(x, rng, max_factor: float = 3.0):
    """Simulate imagery of a coarser ground resolution: area-downsample, then bilinear back."""
    import cv2

    f = float(rng.uniform(1.3, max_factor))
    h, w = x.shape[1:]
    small = (max(4, int(round(w / f))), max(4, int(round(h / f))))
    return np.stack([cv2.resize(cv2.resize(b, small, interpolation=cv2.INTER_AREA), (w, h),
                                interpolation=cv2.INTER_LINEAR) for b in x])


def blur(x, rng):
    import cv2

    s = float(rng.uniform(0.5, 1.5))
    return np.stack([cv2.GaussianBlur(b, (0, 0), s) for b in x])


def noise(x, rng):
    return x + rng.normal(0, rng.uniform(0.02, 0.12), x.shape).astype(np.float32)


def jpeg(x, rng):
    """JPEG artefacts at quality 30-90 (3-band tiles only)."""
    import cv2

    if x.shape[0] != 3:
        return x
    u, lo, scale = _unit_range(x)
    img = np.ascontiguousarray((u.transpose(1, 2, 0) * 255).round().astype(np.uint8))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 91))])
    if not ok:
        return x
    back = cv2.imdecode(buf, cv2.IMREAD_COLOR).astype(np.float32).transpose(2, 0, 1) / 255
    return back * scale + lo


STEPS = [(colour, 0.8), (gamma, 0.4), (coarser, 0.3), (blur, 0.2), (noise, 0.3), (jpeg, 0.3)]


def sensor_augment(x: np.ndarray, rng) -> np.ndarray:
    """One normalised sample through the steps above, each applied with its probability."""
    x = x.astype(np.float32, copy=False)
    for step, p in STEPS:
        if rng.random() < p:
            x = step(x, rng).astype(np.float32, copy=False)
    return x
