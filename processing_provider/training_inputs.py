"""Training inputs from QGIS layers: rasters and label layers into the engine's scenes (reprojected, aligned,
reviewed against what the model sees), class lists and palettes."""

import math
import os

from qgis.core import (
    QgsProcessingException,
    QgsUnitTypes,
)

from ..engine.core.atomic import work_dir
from . import layers
from .base import FeedbackProgress


class TrainingInputs:
    """The layer-to-scene part of TrainingRecipe (its parameter names come from it)."""

    def _model_view(self, parameters, context, feedback, raster, work, k):
        """The model's building probability over a raster (for incomplete labels)."""
        from ..engine.extract.inference import ExtractParams, extract

        prob = os.path.join(work, f"incomplete{k}.tif")
        feedback.pushInfo("Labels are incomplete: finding the buildings the model sees that the labels miss.")
        self.run_engine(extract, raster, self.model_file(parameters, context), out_probability=prob,
                        params=ExtractParams(separate=False, threads=self.threads()),
                        progress=FeedbackProgress(feedback))
        return prob

    def _review(self, feedback, layer, shapes, area, prob, stale_sink):
        """Free labels against the model's view: stale polygons are ignored in training (and sent to the sink);
        a missing labelled area is estimated. Returns (shapes, area)."""
        from ..engine.io.labels import IGNORE
        from ..engine.train import label_review

        stale = self.run_engine(label_review.stale_labels, shapes, prob)
        if stale:
            review = "review them in the stale labels layer" if stale_sink else \
                "choose a stale labels output to review them"
            feedback.pushWarning(f"{layer.name()}: {len(stale)} of {len(shapes)} label polygon(s) lie where the "
                                 "model sees bare ground (mean building probability below "
                                 f"{label_review.STALE_BELOW:g}): left out of training; {review}.")
            if stale_sink:
                stale_sink.add(layer, shapes, stale)
            gone = {s.index for s in stale}
            shapes = [(g, IGNORE) if i in gone else (g, v) for i, (g, v) in enumerate(shapes)]
        if area is None:
            area = self.run_engine(label_review.estimate_labelled_area, shapes, prob)
            if not area:
                raise QgsProcessingException(f"{layer.name()}: no part of the raster looks completely labelled "
                                             f"(the labels cover under {label_review.LABELLED_COVER:.0%} of what "
                                             "the model sees as buildings everywhere). Draw a labelled area, or "
                                             "untick 'labels are incomplete'.")
            feedback.pushInfo(f"{layer.name()}: labelled area estimated from the labels and the model "
                              f"({len(area)} part(s)); give a labelled area to set it yourself.")
        return shapes, area

    def _aligned(self, parameters, context, feedback, raster, shapes, name):
        """The label shapes moved onto the imagery: by the given offset, or by the estimated one when clear."""
        from ..engine.train import align

        if not shapes:
            return shapes
        given = (self.parameterAsString(parameters, self.LABEL_OFFSET, context) or "").strip()
        if given:
            dx, dy = _label_offset(given)
            feedback.pushInfo(f"{name}: labels moved by ({dx:+.2f}, {dy:+.2f}) as given.")
            return align.shift_shapes(shapes, dx, dy)
        if not self.parameterAsBool(parameters, self.ALIGN_LABELS, context):
            return shapes
        try:
            with work_dir("buildseg-align-") as work:
                offset = self.run_engine(align.estimate, raster, shapes, self.model_file(parameters, context), work)
        except QgsProcessingException as exc:
            feedback.pushWarning(f"{name}: the labels' shift could not be estimated ({exc}); used as they are.")
            return shapes
        (feedback.pushWarning if offset.clear or offset.at_edge else feedback.pushInfo)(f"{name}: "
                                                                                       f"{offset.describe()}.")
        return align.shift_shapes(shapes, offset.dx, offset.dy) if offset.clear else shapes

    @staticmethod
    def _band_count(scenes):
        import rasterio

        with rasterio.open(scenes[0].raster) as ds:
            return ds.count

    def _palette(self, parameters, context):
        from ..engine.io.labels import parse_palette

        text = self.parameterAsString(parameters, self.PALETTE, context)
        try:
            return parse_palette(text) if text else None
        except (ValueError, KeyError):
            raise QgsProcessingException(f"Cannot read the palette '{text}': write it as "
                                         "'#rrggbb=id;#rrggbb=id'.") from None

    def _folder_scenes(self, parameters, context, feedback, folder):
        from ..engine.io import layouts

        palette = self._palette(parameters, context)
        found = self.run_engine(layouts.detect, folder)
        scenes = self.run_engine(layouts.scenes, folder, palette, found)
        lonely = layouts.unpaired(folder, found)
        text = layouts.describe(found, self.run_engine(layouts.summary, scenes), lonely)
        (feedback.pushWarning if lonely else feedback.pushInfo)(text)
        return scenes, self.run_engine(_palette_classes, palette)

    def _scenes(self, parameters, context, feedback, rasters, paths, scene_cls, work=None):
        from ..engine.io.labels import AreaSplitLabels, IncompleteLabels, PolygonLabels, RasterLabels

        label_raster = self.parameterAsRasterLayer(parameters, self.LABEL_RASTER, context)
        source = self.parameterAsSource(parameters, self.LABELS, context)
        if label_raster is not None:
            if len(rasters) != 1:
                raise QgsProcessingException("A label raster goes with exactly one input raster; use label "
                                             "polygons to train on several rasters.")
            palette = self._palette(parameters, context)
            labels = self.run_engine(RasterLabels, layers.raster_file(label_raster, "label raster"), palette)
            return [scene_cls(paths[0], labels)], self.run_engine(_palette_classes, palette)
        if source is None:
            raise QgsProcessingException("Give labelled building polygons or a label raster.")
        if source.featureCount() == 0:
            raise QgsProcessingException("The label layer is empty: draw or load building polygons first.")
        field = self.parameterAsString(parameters, self.CLASS_FIELD, context) or None
        value_map, classes = self.run_engine(_classes, source, field)
        area_source = self.parameterAsSource(parameters, self.LABELLED_AREA, context)
        val_source = self.parameterAsSource(parameters, self.VALIDATION_AREA, context)
        incomplete = bool(work) and self.parameterAsBool(parameters, self.INCOMPLETE_LABELS, context)
        wanted = incomplete and parameters.get(self.OUTPUT_STALE_LABELS) not in (None, "")
        stale_sink = _StaleLabels(rasters[0].crs(), context) if wanted else None
        scenes, overlapping, unlabelled = [], 0, []
        for layer, path in zip(rasters, paths):
            ext = layer.extent()
            shapes = layers.shapes(source, layer.crs(), context, feedback, field, value_map, extent=ext)
            shapes = self._aligned(parameters, context, feedback, path, shapes, layer.name())
            area = None
            bounds = (ext.xMinimum(), ext.yMinimum(), ext.xMaximum(), ext.yMaximum())
            if area_source is not None:
                area = [g for g, _ in layers.shapes(area_source, layer.crs(), context, feedback,
                                                    what="labelled area", extent=ext)]
                if not layers.extent_overlaps([(g, 1) for g in area], bounds):
                    unlabelled.append(layer.name())
                    continue  # no labelled ground on this raster: nothing to learn from it
            if layers.extent_overlaps(shapes, bounds):
                overlapping += 1
            elif len(rasters) > 1:
                feedback.pushInfo(f"No labels over {layer.name()}: it is used as background only.")
            prob = self._model_view(parameters, context, feedback, path, work, len(scenes)) \
                if incomplete and shapes else None
            if prob:
                shapes, area = self._review(feedback, layer, shapes, area, prob, stale_sink)
            labels = PolygonLabels(shapes, area, self.parameterAsInt(parameters, self.SEPARATE_GAP, context))
            if prob:
                labels = IncompleteLabels(labels, prob)
            val = layers.shapes(val_source, layer.crs(), context, feedback, what="validation area",
                                extent=ext) if val_source is not None else []
            if val:
                val = [g for g, _ in val]
                scenes.append(scene_cls(path, AreaSplitLabels(labels, val, keep_inside=False), role="area",
                                        val_labels=AreaSplitLabels(labels, val, keep_inside=True)))
            else:
                scenes.append(scene_cls(path, labels))
        if unlabelled and not scenes:
            raise QgsProcessingException("The labelled area does not overlap the input raster(s) (or has no area): "
                                         "draw it over the imagery where buildings are labelled, check its CRS, "
                                         "or leave it empty to treat the whole raster as labelled.")
        if unlabelled:
            feedback.pushWarning(f"The labelled area does not cover {', '.join(unlabelled)}: not used for training.")
        if not overlapping:
            raise QgsProcessingException("The labelled polygons do not overlap any input raster: check that the "
                                         "labels and the rasters cover the same place (and their CRS).")
        self.stale_output = stale_sink.write(self, parameters) if stale_sink else None
        return scenes, classes


class _StaleLabels:
    """Stale label polygons gathered over the rasters, then written at once (atomically) as a layer in the
    first raster's CRS, with the raster and the model's mean building probability inside each."""

    def __init__(self, crs, context):
        self.crs, self.context, self.features = crs, context, []

    def add(self, layer, shapes, stale) -> None:
        import json

        from osgeo import ogr
        from qgis.core import QgsCoordinateTransform, QgsGeometry

        tr = QgsCoordinateTransform(layer.crs(), self.crs, self.context.transformContext())
        for s in stale:
            geom = QgsGeometry.fromWkt(ogr.CreateGeometryFromJson(json.dumps(shapes[s.index][0])).ExportToWkt())
            geom.convertToMultiType()
            geom.transform(tr)
            self.features.append((geom, [layer.name(), s.mean_probability, s.pixels]))

    def write(self, alg, parameters) -> str:
        from qgis.core import QgsFeature, QgsFeatureSink, QgsField, QgsFields, QgsWkbTypes
        from qgis.PyQt.QtCore import QVariant

        from .sinks import atomic_sink

        fields = QgsFields()
        for name, kind in (("raster", QVariant.Type.String), ("mean_prob", QVariant.Type.Double),
                           ("pixels", QVariant.Type.Int)):
            fields.append(QgsField(name, kind))
        with atomic_sink(alg, parameters, alg.OUTPUT_STALE_LABELS, self.context, fields, QgsWkbTypes.MultiPolygon,
                         self.crs) as (sink, dest):
            for geom, values in self.features:
                feat = QgsFeature(fields)
                feat.setGeometry(geom)
                feat.setAttributes(values)
                if not sink.addFeature(feat, QgsFeatureSink.FastInsert):
                    raise QgsProcessingException(f"Cannot write the stale labels layer: {sink.lastError()}")
        return dest


def _label_offset(text: str):
    try:
        dx, dy = (float(v) for v in text.replace(";", ",").split(","))
    except ValueError:
        raise QgsProcessingException(f"Label offset '{text}' must be two numbers 'dx,dy' (for example 1.5,-2).") \
            from None
    if not all(math.isfinite(v) and abs(v) < 1e6 for v in (dx, dy)):
        raise QgsProcessingException(f"Label offset '{text}' is not a finite shift: give dx,dy in the raster CRS's "
                                     "units (for example 1.5,-2).")
    return dx, dy


def _classes(source, field):
    """({value: class id} or None, classes) of the label layer: one class per value of `field`, or buildings."""
    from ..engine.train import classes

    if not field:
        return None, classes.buildings_only()
    return classes.from_values(f[field] for f in source.getFeatures())


def _palette_classes(palette):
    from ..engine.train.classes import from_palette

    return from_palette(palette)


def _resolution(layer):
    """Ground metres per pixel of a raster layer (None for geographic CRSs)."""
    crs = layer.crs()
    if crs.isGeographic():
        return None
    factor = QgsUnitTypes.fromUnitToUnitFactor(crs.mapUnits(), QgsUnitTypes.DistanceMeters)
    return layer.rasterUnitsPerPixelX() * factor
