"""The pieces of scp_importance (eq 19, Algorithm 1) against direct computations (float64)."""
import pytest
import torch
from torch import nn

from scpviz.distances import random_slices
from scpviz.importance import gamma_from_jacobian, iter_batches, mean_jacobian, scp_importance
from scpviz.importance import scp


def _mlp(sizes=(5, 7, 4), seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.Tanh(), nn.Linear(sizes[1], sizes[2])).double()


def _jacobian_rows(model, x):
    """J̄ by torch.func: {name: (K, *shape)}, independent of the VJP code."""
    params = {n: p.detach() for n, p in model.named_parameters()}
    jac = torch.func.jacrev(lambda p: torch.func.functional_call(model, p, (x,)).mean(0))(params)
    return jac


@pytest.mark.parametrize("K, L", [(4, 9), (4, 4), (6, 3)])
def test_scp_vectors_factor_the_slice_second_moment(K, L):
    xi = random_slices(L, K, seed=1)
    R = scp._scp_vectors(xi, K, exact=False)
    assert R.shape == (min(K, L), K)
    assert torch.allclose(R.T @ R, xi.T @ xi / L, atol=1e-14)
    exact = scp._scp_vectors(None, K, exact=True)
    assert torch.allclose(exact.T @ exact, torch.eye(K, dtype=torch.float64) / K, atol=1e-15)


@pytest.mark.parametrize("vjp, chunk", [("loop", None), ("batched", None), ("batched", 2)])
def test_vjps_are_the_rows_of_vectors_times_the_jacobian_and_free_the_graph(vjp, chunk):
    model = _mlp()
    x = torch.randn(11, 5, dtype=torch.float64)
    params = list(model.parameters())
    vectors = torch.randn(3, 4, dtype=torch.float64)
    out = model(x).mean(0)
    got = [torch.zeros((3,) + p.shape, dtype=torch.float64) for p in params]
    for rows, grads in scp._vjps(out, params, vectors, vjp, chunk):
        for acc, g in zip(got, grads):
            acc[rows] += g
    jac = _jacobian_rows(model, x)
    for acc, (name, _) in zip(got, model.named_parameters()):
        assert torch.allclose(acc, torch.einsum("vk,k...->v...", vectors, jac[name]), atol=1e-14)
    with pytest.raises(RuntimeError):  # the last product freed the graph
        torch.autograd.grad(out, params, grad_outputs=vectors[0])


@pytest.mark.parametrize("vjp", ["loop", "batched"])
def test_jacobian_sums_over_batches_and_squared_vjps_give_eq19(vjp):
    model = _mlp()
    x = torch.randn(23, 5, dtype=torch.float64)
    params = list(model.parameters())
    xi = random_slices(10, 4, seed=2)
    R = scp._scp_vectors(xi, 4, exact=False)
    want = gamma_from_jacobian(_jacobian_rows(model, x), xi)
    sums, n = scp._jacobian_sums(model, iter_batches(x, 6), None, params, R, vjp)
    assert n == 23
    jac = _jacobian_rows(model, x)
    for s, (name, _) in zip(sums, model.named_parameters()):
        assert torch.allclose(s / n, torch.einsum("vk,k...->v...", R, jac[name]), atol=1e-14)
    for add in (lambda g: scp._add_squared_vjps(g, model(x).mean(0), params, R, vjp, chunk=3),
                lambda g: scp._add_squared_mean_vjps(g, model, iter_batches(x, 6), None, params, R, vjp)):
        gamma = [torch.zeros_like(p) for p in params]
        add(gamma)
        for g, name in zip(gamma, want):
            assert torch.allclose(g, want[name], rtol=1e-12, atol=1e-18)


def test_mean_jacobian_equals_torch_func_over_batches_and_skips_unused_parameters():
    model = _mlp()
    model.register_parameter("unused", nn.Parameter(torch.ones(2, dtype=torch.float64)))
    x = torch.randn(17, 5, dtype=torch.float64)
    jac = mean_jacobian(model, x, batch_size=5)
    want = _jacobian_rows(model, x)
    assert list(jac) == [n for n, _ in model.named_parameters()]
    assert torch.equal(jac["unused"], torch.zeros(4, 2, dtype=torch.float64))
    for name in want:
        if name != "unused":
            assert torch.allclose(jac[name], want[name], atol=1e-14)


def test_replayable_batches_replays_a_one_shot_iterator_and_re_iterates_containers():
    x = torch.arange(12.0).reshape(6, 2)
    for data in (x, [x[:4], x[4:]], iter([x[:4], x[4:]])):
        batches = scp._replayable_batches(data, 4, "cpu", torch.float64)
        first, second = [torch.cat([b for b, _ in batches()]) for _ in range(2)]
        assert torch.equal(first, x.double()) and torch.equal(second, x.double())
    assert scp._only_batch(scp._replayable_batches(x, 6, "cpu", None)) is not None
    assert scp._only_batch(scp._replayable_batches(x, 5, "cpu", None)) is None


def test_vectors_per_pass_is_bounded_by_memory_and_by_the_vectors():
    params = [torch.zeros(10, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)]  # 120 bytes per vector
    assert scp._vectors_per_pass(params, 7, 1) == 1
    assert scp._vectors_per_pass(params, 7, 360) == 3
    assert scp._vectors_per_pass(params, 7, 10 ** 9) == 7


def test_draw_slices_checks_given_slices_and_seeds_random_ones():
    assert scp._draw_slices(None, 5, 0, True, 3) is None
    assert torch.equal(scp._draw_slices(None, 5, 0, False, 3), random_slices(5, 3, seed=0))
    given = random_slices(4, 3, seed=1).float()
    assert scp._draw_slices(given, None, None, False, 3).dtype == torch.float64
    with pytest.raises(ValueError, match="unit vectors"):
        scp._draw_slices(torch.ones(2, 3), None, None, False, 3)


@pytest.mark.parametrize("vjp", ["loop", "batched"])
def test_one_batch_and_many_batches_agree_for_each_path(vjp):
    model = _mlp(sizes=(5, 9, 6))
    x = torch.randn(30, 5, dtype=torch.float64)
    for n_slices in (3, 20):  # K > L and K <= L
        one = scp_importance(model, x, n_slices=n_slices, seed=0, vjp=vjp)
        many = scp_importance(model, x, n_slices=n_slices, seed=0, vjp=vjp, batch_size=7, max_memory=600)
        for name in one:
            assert torch.allclose(one[name], many[name], rtol=1e-12, atol=1e-18)
