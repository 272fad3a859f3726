"""The parameters of an extraction, with their units."""

from dataclasses import dataclass, field

from .plan import MAX_TILE_PIXELS


@dataclass
class ExtractParams:
    bands: list = None  # 1-based raster bands; default: the model's
    tile_size: int = 0  # 0: the model's
    overlap: int = 64
    batch_size: int = 0  # 0: 1 on CPU; on CUDA, tiles of CUDA_BATCH_PIXELS together (32 of 256 px)
    device: str = "auto"
    backend: str = "auto"
    threshold: float = 0.5
    tta: str = "none"
    min_area: float = 10.0  # m²
    simplify: float = 0.0  # map units
    fill_holes: bool = False
    separate: bool = True  # split touching buildings (watershed on the distance transform)
    separation_h: float = 2.0  # px: how much lower a waist must be than both building centres
    separation_neck: float = 0.5  # split only where the waist's half-width is below this share of the smaller part's
    regularize: bool = False  # square up footprints (engine.postprocess.regularize), tolerance = one pixel
    probability_uint8: bool = False
    target_class: str = "building"
    max_tile_pixels: int = MAX_TILE_PIXELS
    check_fit: bool = False  # first run the model-fit check on a few tiles (engine.extract.fit.preflight) and record it
    adapt: bool = False  # re-estimate the model's normalisation statistics on this scene first (engine.extract.adapt)
    scene_colours: bool = False  # standardise each band by this scene's own mean and std (io.value_scale)
    threads: int = 0  # CPU threads; 0: every core this process may use
    work_resolution: float = 0.0  # m per pixel the model runs at; 0: the model's own (coarser runs faster on
    # imagery much coarser than the model, which is otherwise upsampled to it: docs/extraction.md)
    aoi: list = field(default=None, repr=False)  # GeoJSON geometries in the raster's CRS
