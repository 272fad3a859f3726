"""Weak supervision: pixel pseudo-masks from coarse labels (points, boxes, tile tags).

Steps, one module each: tile_labels (tile-level labels from the weak labels) -> cam (a ResNet classifier with
global pooling, class activation maps refined by adversarial climbing, AdvCAM) -> irn (inter-pixel relations:
a boundary network trained on confident CAM regions, random walk propagation) -> pseudomasks (dense CRF with
the point / box constraints, ignore where uncertain, rasters and report).
"""
