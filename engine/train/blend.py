"""Weight-space blends of a fine-tune with its start (WiSE-FT, Wortsman et al. 2022).

A fine-tune on a small labelled area over-fits within minutes on a CPU budget (measured on the same-budget
benchmark: validation IoU peaks after 4-10 of ~30 epochs, then falls while the training loss keeps falling).
Fine-tune and start lie in one basin, so the average of their weights keeps what the start knew and most of
what the fine-tune learnt: of the 30-minute fine-tunes of Austin and Nairobi (benchmarks/same_budget.py), the
blends that keep a half and three quarters of the fine-tune scored higher on the test part than either end
(building IoU 0.663 / 0.666 on Austin and 0.761 / 0.761 on Nairobi, against 0.656 and 0.754 for the fine-tune
and 0.583 and 0.748 for the start). Which blend, if any, is written is decided on validation.
"""

SHARES = (0.5, 0.75)  # the fine-tune's share in each blend tried on validation


def blend(start: dict, tuned: dict, share: float) -> dict:
    """start + share * (tuned - start) for floating-point tensors; counters (batch-norm steps) from `tuned`."""
    return {k: start[k].to(v.dtype) + share * (v - start[k].to(v.dtype)) if v.is_floating_point() else v.clone()
            for k, v in tuned.items()}
