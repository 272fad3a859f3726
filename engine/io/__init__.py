"""Data in and out: windowed raster reading and tiled GeoTIFF writing, training labels (polygons rasterized on
the fly, label rasters), folder datasets in downloaded layouts, and tile export for other tools."""
