"""BuildSeg's settings in Processing's options (Settings > Options > Processing > Providers > BuildSeg)."""

import os

DEVICE = "BUILDSEG_DEVICE"
MODEL_FOLDER = "BUILDSEG_MODEL_FOLDER"
THREADS = "BUILDSEG_THREADS"
DEFAULT_MODEL_NAME = "default.safetensors"


def _config():
    from processing.core.ProcessingConfig import ProcessingConfig, Setting

    return ProcessingConfig, Setting


def add(group: str) -> None:
    config, setting = _config()
    config.addSetting(setting(group, DEVICE, "Default device when an algorithm's device is 'auto' (auto, cpu, "
                                             "cuda or cuda:N)", "auto"))
    config.addSetting(setting(group, MODEL_FOLDER, f"Model folder (its {DEFAULT_MODEL_NAME} replaces the bundled "
                                                   "model; bare model names are looked up here)", "",
                              valuetype=setting.FOLDER))
    config.addSetting(setting(group, THREADS, "CPU threads (0: all cores)", 0, valuetype=setting.INT))
    config.readSettings()


def remove() -> None:
    config, _ = _config()
    for key in (DEVICE, MODEL_FOLDER, THREADS):
        config.removeSetting(key)


def value(key):
    try:
        config, _ = _config()
    except ImportError:  # Processing plugin absent: defaults
        return None
    return config.getSetting(key)


def device(choice: str) -> str:
    """The algorithm's device choice, or the default device setting when it is 'auto'."""
    if choice != "auto":
        return choice
    return (value(DEVICE) or "auto").strip() or "auto"


def threads() -> int:
    """The CPU threads setting, else the BUILDSEG_THREADS environment variable (for scripts and qgis_process),
    else 0 (every core); passed explicitly to each run's parameters, never through the engine's environment."""
    for raw in (value(THREADS), os.environ.get(THREADS)):
        try:
            if int(raw or 0) > 0:
                return int(raw)
        except (TypeError, ValueError):
            continue
    return 0


def model_path(chosen: str, bundled: str) -> str:
    """The chosen model file (a bare name is looked up in the model folder, then among the bundled models
    beside `bundled`), else the folder's default model, else the bundled one."""
    folder = value(MODEL_FOLDER) or ""
    if chosen:
        if not os.path.dirname(chosen) and not os.path.exists(chosen):
            name = chosen if chosen.endswith((".safetensors", ".onnx")) else chosen + ".safetensors"
            places = [os.path.join(d, name) for d in (folder, os.path.dirname(bundled)) if d]
            return next((p for p in places if os.path.isfile(p)), os.path.join(folder, name) if folder else chosen)
        return chosen
    default = os.path.join(folder, DEFAULT_MODEL_NAME) if folder else ""
    return default if default and os.path.isfile(default) else bundled


def model_folder() -> str:
    """Where trained models go by default: the model folder setting, else ~/.local/share/buildseg/models."""
    folder = (value(MODEL_FOLDER) or "").strip()
    return folder or os.path.join(os.path.expanduser("~"), ".local", "share", "buildseg", "models")


def new_model_path(stem: str, ext: str = ".safetensors") -> str:
    """A file name in the model folder that no model has yet: `<stem>.safetensors`, `<stem>-2.safetensors`…"""
    import re

    return new_file_path(model_folder(), re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") or "model", ext)


def new_file_path(folder: str, stem: str, ext: str) -> str:
    """`folder/<stem><ext>`, or `<stem>-2<ext>`, `<stem>-3<ext>`… when taken (the folder is made)."""
    os.makedirs(folder, exist_ok=True)
    path, n = os.path.join(folder, stem + ext), 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(folder, f"{stem}-{n}{ext}")
    return path
