"""From probabilities to map features: building polygons (vectorize), separation of touching buildings,
footprint regularization, and dense-CRF refinement."""
