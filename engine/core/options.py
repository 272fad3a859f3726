"""The choices the engine accepts and the nodata values it writes, in one place. The Processing enums list the
choices in this order (the first is the default), so their indices never disagree with the engine's names."""

LOSSES = ["ce+dice", "ce", "dice", "focal"]
OPTIMIZERS = ["adamw", "sgd"]
SCHEDULES = ["cosine", "poly", "step", "constant"]
DEVICES = ["auto", "cpu", "cuda"]

MASK_NODATA = 255  # class masks (uint8)
PROB_NODATA = -1.0  # float32 probabilities
PROB_UINT8_NODATA = 255  # uint8 probabilities (0..254 stand for 0..1)
IGNORE = 255  # label pixels that do not count (unlabelled, nodata, uncertain)


def prob_nodata(uint8: bool):
    """The nodata value of a probability raster stored as uint8 or float32."""
    return PROB_UINT8_NODATA if uint8 else PROB_NODATA
