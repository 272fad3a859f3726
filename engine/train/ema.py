"""An exponential moving average of the weights (torch's AveragedModel): what training validates and writes.

On a CPU budget a run makes a few hundred small-batch steps at a high learning rate, and the weights of any one
step swing (measured on Austin: building IoU 0.56, then 0.23, with the next epoch's weights); their average over
the last ~1/(1-decay) steps does not. The decay warms up, (1 + n) / (10 + n), so short runs are not held at
their first weights.
"""


def averaged_model(model, decay: float):
    """An AveragedModel of `model` (parameters and batch-norm statistics); call update_parameters(model) after
    each optimizer step."""
    import torch
    from torch.optim.swa_utils import AveragedModel

    def ema(averaged: list, current: list, n) -> None:
        if not averaged[0].is_floating_point():  # batch-norm step counters
            torch._foreach_copy_(averaged, current)
            return
        n = float(n)  # one device sync per step and dtype, not per tensor
        torch._foreach_lerp_(averaged, current, 1.0 - min(decay, (1.0 + n) / (10.0 + n)))

    return AveragedModel(model, multi_avg_fn=ema, use_buffers=True)
