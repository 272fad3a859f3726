"""Segmentation architectures; see `registry.ARCHITECTURES`."""
