"""Importance over a neighbourhood of θ*: equal to the plain one at zero perturbation, the mean over copies
perturbed by hand otherwise, and it sees the weights of units that are silent at θ*."""
import copy

import pytest
import torch
from torch import nn

from scpviz import importance
from scpviz.consolidation import Consolidation


def _net():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    with torch.no_grad():
        model[0].bias[:2] = -0.3   # two units that barely never fire on inputs in [-0.05, 0.05]^5
    return model, 0.1 * (torch.rand(30, 5, dtype=torch.float64) - 0.5)


@pytest.mark.parametrize("fn, kw", [(importance.mas_importance, {}),
                                    (importance.scp_importance, dict(n_slices=6, seed=3)),
                                    (importance.fisher_importance, {})])
def test_zero_perturbation_gives_the_plain_importance(fn, kw):
    model, x = _net()
    if fn is importance.fisher_importance:
        x = (x, torch.arange(30) % 3)
    plain = fn(model, x, **kw)
    got = importance.neighbourhood_importance(fn, model, x, n_copies=3, scale=0.0, perturbation_seed=1, **kw)
    for n in plain:
        assert torch.allclose(got[n], plain[n], rtol=1e-12, atol=0)


def test_equals_the_mean_over_copies_perturbed_by_hand_and_sees_silent_units():
    model, x = _net()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    assert torch.count_nonzero(importance.mas_importance(model, x)["0.weight"][:2]) == 0   # blind at θ*
    got = importance.neighbourhood_importance(importance.mas_importance, model, x, n_copies=3, scale=2.0, perturbation_seed=5)
    want = None
    for c in range(3):      # the documented perturbation: θ + 2.0 · rms(tensor) · N(0, 1), generator seeded 5 + c
        twin = copy.deepcopy(model)
        g = torch.Generator().manual_seed(5 + c)
        with torch.no_grad():
            for p in twin.parameters():
                p.add_(2.0 * p.pow(2).mean().sqrt() * torch.randn(p.shape, generator=g, dtype=p.dtype))
        imp = importance.mas_importance(twin, x)
        want = imp if want is None else {n: want[n] + imp[n] for n in want}
    for n in want:
        assert torch.allclose(got[n], want[n] / 3, rtol=1e-10)
    assert torch.count_nonzero(got["0.weight"][:2]) > 0           # the silent units' weights are seen nearby
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())   # θ* untouched
    for bad, match in ((dict(n_copies=0), "n_copies"), (dict(scale=-1.0), "scale")):
        with pytest.raises(ValueError, match=match):
            importance.neighbourhood_importance(importance.mas_importance, model, x, **bad)


def test_consolidation_option():
    model, x = _net()
    plain = Consolidation("mas", lam=1.0).compute_importance(model, x)
    zero = Consolidation("mas", lam=1.0, neighbourhood=2, neighbourhood_scale=0.0).compute_importance(model, x)
    wide = Consolidation("mas", lam=1.0, neighbourhood=2, neighbourhood_scale=1.0)
    assert all(torch.allclose(zero[n], plain[n], rtol=1e-12) for n in plain)
    assert not torch.allclose(wide.compute_importance(model, x)["0.weight"], plain["0.weight"])
    assert wide.config()["neighbourhood"] == 2 and "neighbourhood" not in Consolidation("mas").config()
    with pytest.raises(ValueError, match="neighbourhood"):
        Consolidation("mas", neighbourhood=-1)
