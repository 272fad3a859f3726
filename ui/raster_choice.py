"""Which raster layers the panel offers: imagery the chosen model can read. BuildSeg's own outputs (masks,
probabilities, heatmaps: marked by their style when Processing loads them) and rasters with fewer bands than
the model reads are left out; when the current choice is left out, the active layer is taken if it qualifies,
else the first that does."""

from qgis.core import QgsMapLayerType, QgsProject

OUTPUT_PROPERTY = "buildseg/output"  # set on every layer BuildSeg's Processing outputs load as


def readable(layer, bands_needed: int) -> bool:
    """Whether `layer` is imagery a model reading `bands_needed` bands can run on."""
    return layer is not None and layer.type() == QgsMapLayerType.RasterLayer and layer.isValid() and \
        not layer.customProperty(OUTPUT_PROPERTY) and layer.bandCount() >= bands_needed


def refresh(combo, bands_needed: int, active=None) -> list:
    """Leave out of the QgsMapLayerComboBox `combo` the rasters the model cannot read; returns them."""
    rasters = [lay for lay in QgsProject.instance().mapLayers().values()
               if lay.type() == QgsMapLayerType.RasterLayer]
    left_out = [lay for lay in rasters if not readable(lay, bands_needed)]
    current = combo.currentLayer()
    combo.setExceptedLayerList(left_out)
    if not readable(current, bands_needed):
        choice = active if readable(active, bands_needed) else \
            next((lay for lay in rasters if readable(lay, bands_needed)), None)
        combo.setLayer(choice)
    return left_out


def refresh_for_model(combo, model: str, iface=None) -> list:
    """refresh() for the model file `model` ('' = the default) of the panel's chooser."""
    from ..engine.models.modelfile import read_info
    from ..processing_provider import settings
    from ..processing_provider.base import DEFAULT_MODEL

    try:
        bands = read_info(settings.model_path(model, DEFAULT_MODEL)).in_channels
    except Exception:  # noqa: BLE001 - an unreadable model says so in its description: offer every raster
        bands = 1
    try:
        active = iface.activeLayer() if iface is not None else None
    except RuntimeError:  # the panel is being closed
        return []
    return refresh(combo, bands, active)
