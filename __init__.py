"""BuildSeg QGIS plugin entry point."""


def classFactory(iface):
    from .plugin import BuildSegPlugin

    return BuildSegPlugin(iface)
