"""The choices the engine accepts, in one place; the Processing enums list them in this order (the first is
the default), so their indices never disagree with the engine's names."""

LOSSES = ["ce+dice", "ce", "dice", "focal"]
OPTIMIZERS = ["adamw", "sgd"]
SCHEDULES = ["cosine", "poly", "step", "constant"]
DEVICES = ["auto", "cpu", "cuda"]
