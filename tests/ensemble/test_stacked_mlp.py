"""The stacked MLP is M independent MLPs: outputs and importances of every run equal the single-run ones (float64)."""
import pytest
import torch

from scpviz.distances import random_slices
from scpviz.ensemble import StackedMLP, stacked_importance
from scpviz.importance import fisher_importance, mas_importance, scp_importance
from scpviz.models import MLP, AutoEncoder

M, N, D, H, C = 4, 24, 6, (7, 5), 3


@pytest.fixture
def runs():
    torch.manual_seed(0)
    nets = [MLP(D, H, C, seed=s).double() for s in range(M)]
    x = torch.randn(M, N, D, dtype=torch.float64)      # each run its own inputs
    return nets, StackedMLP(nets), x


def test_forward_is_each_run_alone_and_runs_do_not_mix(runs):
    nets, stack, x = runs
    out = stack(x)
    for m in range(M):
        assert torch.allclose(out[m], nets[m](x[m]), atol=1e-12)
    y = x.clone()
    y[1] += 1.0                                             # another run's inputs change nothing for run 0
    assert torch.equal(stack(y)[0], out[0])
    out.sum().backward()                                    # nor does the sum of losses mix the gradients
    for m in (0, 2):
        net = nets[m]
        net.zero_grad()
        net(x[m]).sum().backward()
        assert torch.allclose(stack.weights[0].grad[m], net[0].weight.grad, atol=1e-12)
    assert torch.allclose(stack.run_model(2)(x[2]), nets[2](x[2]), atol=1e-12)


@pytest.mark.parametrize("method", ["ewc", "mas", "mas_abs"])
def test_fisher_and_mas_of_every_run_equal_the_single_run_rules(runs, method):
    nets, stack, x = runs
    got = stacked_importance(stack, x, method)
    for m in range(M):
        want = (fisher_importance(nets[m], x[m], labels="exact") if method == "ewc" else
                mas_importance(nets[m], x[m], form="paper" if method == "mas" else "aljundi"))
        for name, w in want.items():
            assert torch.allclose(got[name][m], w, rtol=1e-10, atol=1e-14), (method, m, name)


@pytest.mark.parametrize("by", ["samples", "vectors"])
@pytest.mark.parametrize("L", [4, 20])      # fewer and more slices than the K = 3 outputs
def test_scp_of_every_run_equals_algorithm_1(runs, L, by):
    nets, stack, x = runs
    slices = torch.stack([random_slices(L, C, seed=10 + m) for m in range(M)]).double()
    got = stacked_importance(stack, x, "scp", slices=slices, scp_by=by, max_memory=4096)   # small chunks
    for m in range(M):
        want = scp_importance(nets[m], x[m], slices=slices[m])
        for name, w in want.items():
            assert torch.allclose(got[name][m], w, rtol=1e-10, atol=1e-14), (L, m, name)
    seeded = stacked_importance(stack, x, "scp", n_slices=L, seed=10)        # run m's slices seeded 10 + m
    assert all(torch.allclose(seeded[k], got[k], rtol=1e-10, atol=1e-14) for k in got)
    exact = stacked_importance(stack, x, "scp", exact=True)
    want = scp_importance(nets[1], x[1], exact=True)
    assert all(torch.allclose(exact[k][1], want[k], rtol=1e-10, atol=1e-14) for k in want)


def test_bad_input_says_what_to_pass(runs):
    nets, stack, x = runs
    with pytest.raises(ValueError, match=r"x must have shape \(runs=4, batch, 6\)"):
        stack(x[:2])
    with pytest.raises(ValueError, match="share one architecture"):
        StackedMLP([MLP(D, H, C), MLP(D, (7,), C)])
    with pytest.raises(ValueError, match="models is empty"):
        StackedMLP([])
    with pytest.raises(ValueError, match="method=.l2. has no batched importance rule"):
        stacked_importance(stack, x, "l2")
    with pytest.raises(ValueError, match=r"slices must have shape \(runs=4, L, 3\)"):
        stacked_importance(stack, x, "scp", slices=torch.ones(2, 5, 3))


AE_VARIANTS = [dict(), dict(activation="leaky_relu"), dict(bias=False, init="xavier")]


@pytest.mark.parametrize("options", AE_VARIANTS)
@pytest.mark.parametrize("method,L", [("mas", None), ("mas_abs", None), ("scp", 4), ("scp", 40)])
def test_auto_encoder_stacks_run_for_run(options, method, L):
    """§5.2's auto-encoder (sigmoid output; ReLU or LeakyReLU; with or without biases): outputs, and MAS and SCP
    importances with fewer and more slices than its K = 6 outputs, equal each network's alone."""
    nets = [AutoEncoder(D, (7,), 3, seed=s, **options).double() for s in range(M)]
    x = torch.rand(M, N, D, dtype=torch.float64)
    stack = StackedMLP(nets)
    assert stack.names() == [n for n, _ in nets[0].named_parameters()]
    out = stack(x)
    for m in range(M):
        assert torch.allclose(out[m], nets[m](x[m]), atol=1e-12)
    assert torch.allclose(stack.run_model(2)(x[2]), out[2], atol=1e-12)
    if method == "scp":
        slices = torch.stack([random_slices(L, D, seed=m) for m in range(M)]).double()
        got = stacked_importance(stack, x, "scp", slices=slices, max_memory=4096,          # small chunks
                                 scp_by="samples" if L == 4 else "vectors")
    else:
        got = stacked_importance(stack, x, method, max_memory=4096)                   # forces small sample chunks
    for m in range(M):
        want = (scp_importance(nets[m], x[m], slices=slices[m]) if method == "scp" else
                mas_importance(nets[m], x[m], form="paper" if method == "mas" else "aljundi"))
        assert set(want) == set(got)
        for name, w in want.items():
            assert torch.allclose(got[name][m], w, rtol=1e-10, atol=1e-14), (method, m, name)


def test_only_chains_of_linear_layers_stack():
    with pytest.raises(TypeError, match="MLP or AutoEncoder"):
        StackedMLP([torch.nn.Linear(3, 2)])
    with pytest.raises(ValueError, match="share one architecture"):
        StackedMLP([AutoEncoder(D, (7,), 3), MLP(D, (7,), 3)])
    with pytest.raises(ValueError, match="one activation, output and bias"):
        StackedMLP([AutoEncoder(D, (7,), 3), AutoEncoder(D, (7,), 3, activation="leaky_relu")])
    with pytest.raises(ValueError, match="scp_by='slices' must be"):
        stacked_importance(StackedMLP([MLP(D, H, C)]), torch.randn(1, 5, D), "scp", scp_by="slices")
    with pytest.raises(ValueError, match="max_memory"):
        stacked_importance(StackedMLP([MLP(D, H, C)]), torch.randn(1, 5, D), "mas", max_memory=0)
