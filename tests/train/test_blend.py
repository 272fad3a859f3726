"""A fine-tune blended with its start: the blend is start + share * change, and it is written only when it
validates above both the fine-tune and the start."""

from types import SimpleNamespace

import numpy as np
import pytest

from conftest import DEFAULT_MODEL


def _states():
    """The default model's weights (the start) and the same model moved by a fixed random change."""
    import torch

    from buildseg.engine.models import modelfile

    model, _ = modelfile.load(DEFAULT_MODEL)
    start = {k: v.detach().clone() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(0)
    tuned = {k: v + 0.01 * torch.randn(v.shape, generator=gen) if v.is_floating_point() else v + 7
             for k, v in start.items()}
    return model, start, tuned


def test_blend_is_the_start_plus_a_share_of_the_change():
    from buildseg.engine.train.blend import blend

    _, start, tuned = _states()
    for share in (0.0, 0.5, 0.75, 1.0):
        mixed = blend(start, tuned, share)
        for k, v in start.items():
            if v.is_floating_point():
                np.testing.assert_allclose(mixed[k].numpy(), (v + share * (tuned[k] - v)).numpy(), atol=1e-6)
            else:  # batch-norm step counters are the fine-tune's
                assert int(mixed[k].sum()) == int(tuned[k].sum())


def _run(model, start, tuned, best_share, tuned_score, start_score):
    """A finished fine-tune whose validation peaks at `best_share` of the way from start to fine-tune."""
    import torch

    key = next(k for k, v in start.items() if v.is_floating_point() and v.numel() > 100)
    messages = []

    def validate():  # peaked at the blend of best_share; the fine-tune and start score as given
        share = float(((model.state_dict()[key] - start[key]).sum() / (tuned[key] - start[key]).sum()))
        score = {0.0: start_score, 1.0: tuned_score}.get(round(share, 3), 1.0 - abs(share - best_share))
        return {"share": share}, score

    return SimpleNamespace(
        torch=torch, ema=None, model=model, cancelled=False, validate=validate,
        start={"score": start_score, "epoch": 0, "metrics": {}}, start_state=start,
        kept={"score": tuned_score, "epoch": 3, "metrics": {}}, kept_state=tuned,
        progress=SimpleNamespace(info=messages.append, warn=messages.append), messages=messages)


@pytest.mark.parametrize("best_share, tuned_score, start_score, written", [
    (0.5, 0.80, 0.70, 0.5),  # the half-way blend validates best: written
    (0.75, 0.80, 0.70, 0.75),
    (0.5, 1.5, 0.70, None),  # the fine-tune alone validates best: kept as it is
    (0.5, 0.60, 1.5, None),  # the start validates best: no blend (the guard then keeps the start)
])
def test_a_blend_replaces_the_fine_tune_only_when_it_validates_above_both(best_share, tuned_score, start_score,
                                                                          written):
    from buildseg.engine.train.blend import blend
    from buildseg.engine.train.loop import _blend_with_start

    model, start, tuned = _states()
    run = _run(model, start, tuned, best_share, tuned_score, start_score)
    _blend_with_start(run)
    assert run.kept.get("blend") == written
    expected = tuned if written is None else blend(start, tuned, written)
    assert all(np.allclose(run.kept_state[k].float().numpy(), expected[k].float().numpy(), atol=1e-6)
               for k in start)
    assert any("validates best: it is written" in m for m in run.messages) == (written is not None)
    assert any("blended with its start: 50% fine-tune" in m for m in run.messages)
    if written is not None:
        assert run.kept["score"] > max(tuned_score, start_score) and run.kept["epoch"] == 3
