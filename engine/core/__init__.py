"""Foundations every stage uses: errors, progress and cancel, atomic writes and disk checks, the model cache,
memory estimates, the torch device and CPU threads, the dependency check and installer, option lists."""
