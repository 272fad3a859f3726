"""The extraction plan, one for every front end (whole-scene extraction, Dask blocks, heatmaps, the fit check):
which raster bands feed the model, the tile size and overlap, and the grid the model runs on (its own ground
resolution: the input is warped on the fly when it differs)."""

import dataclasses
import os
from dataclasses import dataclass

import numpy as np

from ..core.errors import BuildSegError
from ..core.progress import Progress
from ..io import resample
from ..io.value_scale import normalisation, uses_scene_statistics

MIN_SIDE = 8  # px: below this no building can be told from its surroundings
MAX_TILE_PIXELS = 8192 * 8192


@dataclass(frozen=True)
class Plan:
    """What runs where: passed whole to every stage (the sliding window, the blend, the block workers)."""

    info: object  # the model's ModelInfo; its mean/std: the normalisation this raster gets (io.value_scale)
    bands: list  # raster bands in the model's order
    tile: int  # px on the model's grid
    overlap: int
    grid: tuple = None  # (CRS WKT, pixel size) the model runs on; None: the input's own grid
    batch: int = 1  # tiles per model call
    resolution: float = None  # m per pixel the model runs at where the input is resampled (None: the model's)

    def for_batch(self, batch: int, max_tile_pixels: int = MAX_TILE_PIXELS) -> "Plan":
        """The plan with `batch` tiles per model call, refused when tile and batch cannot fit in memory (the
        one place tile sizes are checked)."""
        check_tile_size(self.tile, self.overlap, batch, self.info.in_channels, max_tile_pixels)
        return dataclasses.replace(self, batch=batch)

    def model_input(self, src, work: str) -> str:
        """The path of a VRT (written in `work`) warping `src` onto the model's grid; only when `grid` is set."""
        return resample.warped_input(src, self.grid, os.path.join(work, "input.vrt"))


def make_plan(src, info, bands=None, tile_size: int = 0, overlap: int = 0, progress: Progress = None,
              max_tile_pixels: int = MAX_TILE_PIXELS, resolution: float = 0.0, scene_colours: bool = False) -> Plan:
    """Check the raster against the model and choose the bands, the tile and the grid; refusals name the fix.
    `resolution` (m per pixel, 0: the model's own): run the model at another ground resolution.
    `scene_colours`: normalise with the scene's own band statistics, whatever its value scale."""
    progress = progress or Progress()
    bands_given = bool(bands)
    bands = validate_bands(info, src, bands)
    if not src.crs:
        raise BuildSegError(f"The raster {src.name} has no coordinate reference system. Assign one "
                            "(Raster > Projections > Assign Projection) and run again.")
    if not bands_given and bands != list(info.bands):
        progress.info(colour_note(bands))
    if resolution and resolution < 0:
        raise BuildSegError(f"The work resolution must be positive (m per pixel), or 0 for the model's own; got "
                            f"{resolution:g}.")
    run_at = resolution or info.resolution
    tile = fit_tile(tile_size or info.tile_size, src, info, overlap, progress, run_at)
    return Plan(normalised_for(src, info, bands, progress, scene_colours), bands, tile, overlap,
                resample.model_grid(src, info, progress, run_at), resolution=run_at).for_batch(1, max_tile_pixels)


def normalised_for(src, info, bands, progress: Progress, scene_colours: bool = False):
    """`info`, or a copy normalising with the scene's own band statistics: asked (`scene_colours`) or for a model
    trained so (said), or when the raster is on another value scale than the model learnt from (warned)."""
    mean, std, reason = normalisation(src, bands, info, scene_colours)
    if reason:
        progress.warn(f"{reason}.")
    elif uses_scene_statistics(info, scene_colours):
        progress.info(f"Each band standardised by this scene's own mean and standard deviation: mean "
                      f"{[round(m, 1) for m in mean]}, std {[round(s, 1) for s in std]} (the model's: "
                      f"{[round(m, 1) for m in info.mean]}, {[round(s, 1) for s in info.std]}).")
    else:
        return info
    return dataclasses.replace(info, mean=mean, std=std)


def validate_bands(info, src, bands) -> list:
    """The raster bands fed to the model (checked against the model and the raster); also refuses a raster
    too small to hold a building."""
    if min(src.width, src.height) < MIN_SIDE:
        raise BuildSegError(f"The raster {src.name} is only {src.width}x{src.height} px: too small to find "
                            f"buildings in (at least {MIN_SIDE}x{MIN_SIDE} px). Choose a larger raster or extent.")
    bands = list(bands) if bands else (rgb_by_colour(info, src) or list(info.bands))
    if len(bands) != info.in_channels:
        raise BuildSegError(f"The model needs {info.in_channels} input band(s) but {len(bands)} were mapped "
                            f"({bands}). Map exactly {info.in_channels} raster band(s).")
    if max(bands) > src.count:
        grey = f" (grey imagery: '{','.join(['1'] * info.in_channels)}' feeds its one band to every input)" \
            if src.count == 1 else ""
        raise BuildSegError(
            f"The model expects {info.in_channels} band(s) (raster bands {info.bands}) but the raster has "
            f"{src.count}. Choose a band mapping with bands 1..{src.count}{grey}, or a model trained on "
            f"{src.count}-band imagery.")
    return bands


def rgb_bands(src) -> list:
    """The raster's red, green and blue bands by GDAL's colour interpretation (a BGR or BGRN file says so), or
    None when it does not name all three."""
    colours = getattr(src, "colours", None) or []
    if not all(c in colours for c in ("red", "green", "blue")):
        return None
    return [colours.index(c) + 1 for c in ("red", "green", "blue")]


def rgb_by_colour(info, src) -> list:
    """For a model of red, green, blue in bands 1-3 (the default model), the raster's red, green and blue bands
    when its colour interpretation puts them elsewhere; else None (the model's own bands)."""
    names = [n.lower() for n in info.band_names] if info.band_names else ["red", "green", "blue"]
    if info.in_channels != 3 or list(info.bands) != [1, 2, 3] or names != ["red", "green", "blue"]:
        return None
    found = rgb_bands(src)
    return found if found and found != [1, 2, 3] else None


def colour_note(bands) -> str:
    return f"Raster bands {bands} feed the model as red, green, blue (the raster's colour interpretation says so)."


def fit_tile(tile: int, src, info, overlap: int, progress, resolution: float) -> int:
    """No tile larger than the raster on the grid the model runs on (`resolution` m, None: the raster's own;
    rounded up to 32 px): padding a small raster into a huge tile only costs memory."""
    if info.arch_params.get("fixed_tile"):  # ONNX models traced at one size
        return tile
    try:
        scale = src.ground_resolution() / resolution if resolution else 1.0
    except Exception:
        scale = 1.0
    longest = int(np.ceil(max(src.width, src.height) * scale / 32) * 32)
    smaller = max(64, longest, int(np.ceil(2 * overlap / 32) * 32))
    if smaller < tile:
        progress.info(f"Tile size {tile} px reduced to {smaller} px: the raster is only about {longest} px on the "
                      "model's grid.")
        return smaller
    return tile


def check_tile_size(tile: int, overlap: int, batch: int, in_ch: int, limit: int = MAX_TILE_PIXELS) -> None:
    if tile < 32:
        raise BuildSegError(f"Tile size {tile} is too small: use at least 32 px (typical 256-1024).")
    if tile * tile > limit or tile * tile * batch * max(in_ch, 8) * 4 * 40 > 64 * 2**30:
        raise BuildSegError(f"Tile size {tile} px would not fit in memory; use 2048 px or less "
                            "(typical 512) and a smaller batch.")
    if not 0 <= overlap < tile // 2 + 1:
        raise BuildSegError(f"Overlap {overlap} must be between 0 and half the tile size ({tile // 2}).")
