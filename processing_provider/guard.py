"""Checks every algorithm runs before any work: no destination may be an input or another destination, an
existing folder or in a missing folder; polygon parameters get polygon layers. Messages name the parameter."""

import os

from qgis.core import (
    QgsMapLayer,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorLayer,
    QgsProcessingUtils,
    QgsWkbTypes,
)

_INPUT_PARAMS = (QgsProcessingParameterRasterLayer, QgsProcessingParameterVectorLayer,
                 QgsProcessingParameterFeatureSource, QgsProcessingParameterMultipleLayers, QgsProcessingParameterFile)
_GEOMETRY_NAMES = {QgsWkbTypes.PointGeometry: "points", QgsWkbTypes.LineGeometry: "lines",
                   QgsWkbTypes.NullGeometry: "no geometry"}


def _file_of(source: str):
    """The file behind a layer source ('path|layername=x' -> path), or None for non-file sources."""
    path = (source or "").split("|")[0]
    return os.path.realpath(path) if path and os.path.exists(path) else None


def _sources(value, context) -> list:
    """Layer sources or paths named by a parameter value, without opening any file (opening a raster can
    write a .aux.xml beside it)."""
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _sources(v, context)]
    if isinstance(value, QgsProcessingFeatureSourceDefinition):
        value = value.source.staticValue()
    if isinstance(value, QgsMapLayer):
        return [value.source()]
    if isinstance(value, str) and value:
        layer = QgsProcessingUtils.mapLayerFromString(value, context, False)  # a layer of the project
        return [layer.source() if layer is not None else value]
    return []


def input_files(alg, parameters, context) -> dict:
    """realpath -> parameter name, for every file an input parameter reads."""
    out = {}
    for p in alg.parameterDefinitions():
        if p.isDestination() or not isinstance(p, _INPUT_PARAMS):
            continue
        for s in _sources(parameters.get(p.name()), context):
            f = _file_of(s)
            if f:
                out.setdefault(f, p.name())
    return out


def destination_path(alg, p, parameters, context):
    """The file (or folder) a destination parameter will write, or None (temporary, memory, database)."""
    value = parameters.get(p.name())
    if value in (None, "") or "TEMPORARY_OUTPUT" in str(value):
        return None
    if isinstance(p, QgsProcessingParameterFolderDestination):
        return alg.parameterAsString(parameters, p.name(), context) or None
    if p.type() in ("sink", "vectorDestination", "rasterDestination"):
        path = alg.parameterAsOutputLayer(parameters, p.name(), context)
    else:
        path = alg.parameterAsFileOutput(parameters, p.name(), context)
    if not path or path.startswith(("memory:", "postgres:", "ogr:")):
        return None
    return path.split("|")[0]


def check_destinations(alg, parameters, context) -> None:
    inputs = input_files(alg, parameters, context)
    seen = {}
    for p in alg.destinationParameterDefinitions():
        path = destination_path(alg, p, parameters, context)
        if not path:
            continue
        real = os.path.realpath(path)
        label = f"'{p.description()}' ({p.name()})"
        if real in inputs:
            raise QgsProcessingException(
                f"The output {label} is the file {path}, which is also the input {inputs[real]}: BuildSeg never "
                "overwrites its inputs. Choose another output file.")
        if real in seen:
            raise QgsProcessingException(
                f"The outputs {seen[real]} and {p.name()} are the same file {path}: give each output its own file.")
        seen[real] = p.name()
        if isinstance(p, QgsProcessingParameterFolderDestination):
            holder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
            if os.path.isdir(holder):
                _check_writable(label, holder)
            continue
        if os.path.isdir(path):
            raise QgsProcessingException(f"The output {label} is an existing folder ({path}): give a file name, "
                                         f"for example {os.path.join(path, p.name().lower() + _extension(p))}.")
        allowed = _extensions(p)
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        if allowed and ext not in allowed:
            raise QgsProcessingException(f"The output {label} cannot be written as '.{ext}' ({path}): use one of "
                                         + ", ".join("." + e for e in sorted(allowed)) + ".")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise QgsProcessingException(f"The folder of the output {label} does not exist: {folder}. Create it "
                                         "or choose another folder.")
        _check_writable(label, folder)


def _check_writable(label: str, folder: str) -> None:
    from ..engine.core.atomic import writable

    if not writable(folder):
        raise QgsProcessingException(f"The folder {folder} of the output {label} is not writable: choose a folder "
                                     "you may write to.")


def _extensions(p) -> set:
    """The file extensions a destination parameter's writer handles (empty: any)."""
    import re

    if p.type() == "rasterDestination":
        return {e.lower() for e in p.supportedOutputRasterLayerExtensions()}
    if p.type() in ("vectorDestination", "sink"):
        return {e.lower() for e in p.supportedOutputVectorLayerExtensions()}
    if p.type() == "fileDestination":
        found = {e.lower() for e in re.findall(r"\*\.([A-Za-z0-9]+)", p.fileFilter())}
        return set() if "*" in p.fileFilter().replace("*.", "") else found
    return set()


def _extension(p) -> str:
    try:
        return "." + p.defaultFileExtension()
    except AttributeError:
        return ""


def check_polygon_inputs(alg, parameters, context) -> None:
    """Parameters declared for polygons refuse point, line and table layers (qgis_process does not check)."""
    for p in alg.parameterDefinitions():
        if not isinstance(p, QgsProcessingParameterFeatureSource) or parameters.get(p.name()) in (None, ""):
            continue
        if p.dataTypes() != [QgsProcessing.TypeVectorPolygon]:
            continue
        source = alg.parameterAsSource(parameters, p.name(), context)
        if source is None:
            continue
        kind = QgsWkbTypes.geometryType(source.wkbType())
        if kind != QgsWkbTypes.PolygonGeometry:
            raise QgsProcessingException(
                f"'{p.description()}' ({p.name()}) needs polygons, but the layer holds "
                f"{_GEOMETRY_NAMES.get(kind, 'other geometries')}. Choose a polygon layer (points or lines can be "
                "turned into polygons with Vector > Geoprocessing Tools > Buffer).")
