"""Extraction: the sliding-window plan (windows), the model backends (predict), blending of overlapping tiles,
running at the model's ground resolution (resample), the background writer stage, the model-fit check, and
the whole-scene front end (inference)."""
