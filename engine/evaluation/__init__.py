"""Honest evaluation: confusion matrices and pixel scores (metrics), one-to-one building matching
(matching), and the evaluation of a model or a mask against reference polygons (evaluate)."""
