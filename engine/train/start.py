"""The fine-tune's start: the model it begins from (bands, colours, value scale), and at the end whether a
blend with it, or the start itself, validates better than what was learnt."""



from ..core.errors import BuildSegError
from ..extract.plan import colour_note, rgb_by_colour
from ..io.value_scale import Standardised, scene_normalisation
from ..models import modelfile
from ..models.modelfile import DEFAULT_CLASSES, ModelInfo
from .blend import SHARES, blend
from .dataset import band_statistics
from .validation import _kept


def _blend_with_start(run) -> None:
    """A fine-tune's kept weights averaged with its start's (blend.SHARES of the fine-tune): a blend that
    validates above both ends replaces the fine-tune's weights (the guard below then compares it with the
    start)."""
    if run.start is None or run.kept["epoch"] == 0 or run.cancelled:
        return
    tuned, best, scored = run.kept_state, None, []
    for share in SHARES:
        state = blend(run.start_state, tuned, share)
        _kept(run).load_state_dict(state)
        sc, score = run.validate()
        scored.append(f"{share:.0%} fine-tune {score:.4f}")
        if score > max(run.kept["score"], run.start["score"]) and (best is None or score > best[1]):
            best = (share, score, sc, state)
    run.progress.info(f"Validation IoU of the fine-tune blended with its start: {', '.join(scored)} (the "
                      f"fine-tune alone {run.kept['score']:.4f}, the start {run.start['score']:.4f}).")
    if best is None:
        return
    share, score, sc, state = best
    run.progress.info(f"The blend of {share:.0%} fine-tune validates best: it is written.")
    run.kept, run.kept_state = {**run.kept, "score": score, "metrics": sc, "blend": share}, state


def _keep_start_if_better(run) -> None:
    """A fine-tune never ends below its start on the validation tiles: unless it scores higher, the start is
    written."""
    if run.start is None or run.kept["epoch"] == 0 or run.kept["score"] > run.start["score"]:
        return
    if not run.params.keep_better_start:
        run.progress.warn(f"Fine-tuning scored below the starting model on the validation tiles (IoU "
                          f"{run.kept['score']:.4f} against {run.start['score']:.4f}); its weights are written "
                          "anyway, as asked (keep the better start: off).")
        return
    run.progress.warn(f"Fine-tuning did not beat the starting model on the validation tiles (IoU "
                      f"{run.kept['score']:.4f} against {run.start['score']:.4f}): the starting model's weights "
                      "are kept.")
    run.kept, run.kept_state = run.start, run.start_state
    run.info.resolution = run.start_resolution


def _initial_model(params, bands, scenes, resolution, progress):
    if params.init_model:
        model, info = modelfile.load(params.init_model)
        if info.in_channels != len(bands):
            raise BuildSegError(f"The starting model {params.init_model} takes {info.in_channels} band(s) but "
                                f"{len(bands)} are selected; choose matching bands or train from scratch.")
        classes = params.classes or info.classes
        if len(classes) != info.num_classes:
            raise BuildSegError(f"The starting model has {info.num_classes} classes but the labels have "
                                f"{len(classes)}; train from scratch for other classes.")
        info.bands = bands
        progress.info(f"Fine-tuning {params.init_model}")
        if params.scene_normalisation and info.normalisation != "scene":
            progress.warn("Scene normalisation applies to models trained from scratch: the fine-tune keeps its "
                          "starting model's normalisation.")
        if info.normalisation == "scene":
            _standardise(scenes, progress)
        else:
            _rescale_for(info, scenes, bands, params, progress)
        return model.train(), info
    if params.scene_normalisation:
        _standardise(scenes, progress)
        mean, std = [0.0] * len(bands), [1.0] * len(bands)
    else:
        mean, std = band_statistics(scenes, bands, params.tile_size, seed=params.seed)
    info = ModelInfo(architecture=params.architecture, in_channels=len(bands),
                     classes=params.classes or [dict(c) for c in DEFAULT_CLASSES],
                     arch_params=dict(params.arch_params), bands=bands, mean=mean, std=std,
                     normalisation="scene" if params.scene_normalisation else "model",
                     tile_size=params.tile_size, resolution=resolution)
    model = modelfile.build_model(info, pretrained=True)
    encoder = getattr(model, "encoder", None)
    if encoder is not None:
        info.training["encoder_init"] = "imagenet" if getattr(encoder, "pretrained", False) else "random"
        progress.info(f"Encoder starts from {info.training['encoder_init']} weights.")
    return model.train(), info


def _standardise(scenes, progress) -> None:
    """Every raster read standardised by its own band statistics (a model of scene normalisation)."""
    for s in scenes:
        if not isinstance(s.src, Standardised):
            s.src = Standardised(s.src)
    progress.info("Each raster is standardised by its own band statistics (scene normalisation), as extraction "
                  "will standardise every scene the model runs on.")


def _colour_bands(params, src, progress) -> list:
    """A fine-tune of a red, green, blue model on rasters whose colour interpretation puts those bands elsewhere
    (BGR, BGRN): those bands, as extraction would feed them; else None."""
    if not params.init_model:
        return None

    found = rgb_by_colour(modelfile.read_info(params.init_model), src)
    if found:
        progress.info(colour_note(found))
    return found


def _rescale_for(info, scenes, bands, params, progress) -> None:
    """A model that learnt from 8-bit imagery, fine-tuned on rasters of another value scale (16-bit, 0..1):
    normalised by the rasters' own band statistics, which the fine-tuned model then records (io.value_scale)."""
    for s in scenes:
        reason = scene_normalisation(s.src, bands, info.mean, info.std)[2]
        if reason:
            info.mean, info.std = band_statistics(scenes, bands, params.tile_size, seed=params.seed)
            progress.warn(f"{reason}; the fine-tuned model records the training rasters' statistics.")
            return


