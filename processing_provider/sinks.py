"""Feature sinks that write atomically: a file destination is written under a temporary name and renamed
only when the algorithm finishes; on an error or a cancel the temporary file is removed."""

import contextlib
import os

from qgis.core import QgsProcessingException, QgsProcessingOutputLayerDefinition, QgsProperty

from ..engine.core.atomic import atomic_path, check_writable


def _file_destination(value):
    """The file path of a sink parameter value, or None (memory layer, database, temporary output)."""
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        value = value.sink.staticValue()
    if not isinstance(value, str) or value.startswith(("memory:", "postgres:", "ogr:", "TEMPORARY_OUTPUT")):
        return None
    return value if os.path.splitext(value)[1] else None


@contextlib.contextmanager
def atomic_sink(alg, parameters, name, context, fields, wkb_type, crs, inputs=()):
    """Yield (sink, destination) like parameterAsSink; a file destination appears only complete."""
    final = _file_destination(parameters.get(name))
    if final is None:
        yield alg.parameterAsSink(parameters, name, context, fields, wkb_type, crs)
        return
    try:
        check_writable(final, inputs=list(inputs))
    except Exception as exc:
        raise QgsProcessingException(str(exc)) from None
    with atomic_path(final, read_back=False) as tmp:  # QGIS's writer reports its own errors
        value = parameters[name]
        definition = QgsProcessingOutputLayerDefinition(value) if isinstance(
            value, QgsProcessingOutputLayerDefinition) else QgsProcessingOutputLayerDefinition(final)
        definition.sink = QgsProperty.fromValue(tmp)
        sink, dest = alg.parameterAsSink(dict(parameters, **{name: definition}), name, context, fields, wkb_type,
                                         crs)
        if sink is None:
            raise QgsProcessingException(f"Cannot create the output {final}.")
        proxy = _Sink(sink)
        del sink
        yield proxy, final
        proxy.close()  # the writer is closed (its file flushed) before the rename, whoever still holds the proxy
        loads = context.layersToLoadOnCompletion()
        details = loads.pop(dest, None)
        context.setLayersToLoadOnCompletion(loads)
        if details is not None:
            context.addLayerToLoadOnCompletion(final, details)


class _Sink:
    """A feature sink the caller may keep a reference to: close() drops the only reference to QGIS's writer,
    which closes its file (a GeoPackage renamed while open loses its last writes)."""

    def __init__(self, sink):
        self._sink = sink

    def __getattr__(self, name):
        if self.__dict__.get("_sink") is None:
            raise QgsProcessingException("The output was already closed.")
        return getattr(self._sink, name)

    def close(self) -> None:
        self._sink = None
