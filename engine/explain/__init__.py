"""Explainability: heatmaps on the input grid (probability, Grad-CAM, uncertainty, hardest windows) and model
inspection (first-layer kernels, weight statistics)."""
