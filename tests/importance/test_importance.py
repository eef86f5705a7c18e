"""Importances against independent brute-force computations (float64)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from scpviz.datasets import Task
from scpviz.distances import random_slices
from scpviz.importance import (
    fisher_importance,
    mas_importance,
    scp_importance,
    scp_importance_reference,
)


def mlp(sizes, seed=0, act=nn.Tanh):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers[:-1]).double()


@pytest.fixture(scope="module", autouse=True)
def default_dtype():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def rel_err(a, b):
    return max(((a[k] - b[k]).abs().max() / b[k].abs().max().clamp_min(1e-300)).item() for k in b)


def per_sample_brute(model, x, fn):
    """Σ_n fn(n, out_n) accumulated by a Python loop over samples (the independent reference)."""
    params = dict(model.named_parameters())
    acc = {k: torch.zeros_like(v) for k, v in params.items()}
    for n in range(len(x)):
        for weight, scalar, absval in fn(n, model(x[n:n + 1])):
            grads = torch.autograd.grad(scalar, list(params.values()), retain_graph=True, allow_unused=True)
            for k, g in zip(params, grads):
                if g is not None:
                    acc[k] += weight * (g.abs() if absval else g ** 2)
    return {k: v / len(x) for k, v in acc.items()}


# ----------------------------------------------------------------------------- SCP

@pytest.mark.parametrize("L", [3, 10, 40])
@pytest.mark.parametrize("vjp", ["loop", "batched"])
def test_scp_equals_algorithm1_classifier(L, vjp):
    model = mlp([6, 16, 12, 10])
    x = torch.randn(70, 6)
    sl = random_slices(L, 10, seed=1)
    fast = scp_importance(model, x, slices=sl, batch_size=16, vjp=vjp)
    ref = scp_importance_reference(model, x, sl)
    assert rel_err(fast, ref) < 1e-10


def test_scp_equals_algorithm1_autoencoder_K_greater_than_L():
    model = nn.Sequential(nn.Linear(30, 8), nn.ReLU(), nn.Linear(8, 30), nn.Sigmoid()).double()
    x = torch.rand(40, 30)
    sl = random_slices(5, 30, seed=2)
    assert rel_err(scp_importance(model, x, slices=sl, batch_size=7), scp_importance_reference(model, x, sl)) < 1e-10


def test_scp_hidden_layer_and_zero_after_it():
    model = mlp([6, 16, 12, 10])
    x = torch.randn(50, 6)
    sl = random_slices(20, 12, seed=3)
    fast = scp_importance(model, x, slices=sl, layer=model[2])
    by_name = scp_importance(model, x, slices=sl, layer="2")
    ref = scp_importance_reference(model, x, sl, layer=model[2])
    assert rel_err(fast, ref) < 1e-10 and rel_err(by_name, ref) < 1e-10
    assert torch.all(fast["4.weight"] == 0) and torch.all(fast["4.bias"] == 0)
    assert fast["0.weight"].abs().sum() > 0


def test_scp_exact_equals_independent_jacobian():
    model = mlp([5, 9, 4])
    x = torch.randn(30, 5)
    params = dict(model.named_parameters())
    phi_bar = model(x).mean(0)
    want = {k: torch.zeros_like(v) for k, v in params.items()}
    for k in range(4):  # (1/K) Σ_k (∂φ̄_k/∂θ)², one backward per output coordinate
        grads = torch.autograd.grad(phi_bar[k], list(params.values()), retain_graph=True)
        for name, g in zip(params, grads):
            want[name] += g ** 2 / 4
    got = scp_importance(model, x, exact=True, batch_size=8)
    assert rel_err(got, want) < 1e-10


def test_scp_converges_to_exact_like_inverse_sqrt_L():
    model = mlp([5, 12, 10], seed=4)
    x = torch.randn(40, 5)
    exact = scp_importance(model, x, exact=True)
    flat_exact = torch.cat([v.flatten() for v in exact.values()])
    errs = []
    for L in (10, 100, 1000):
        e = []
        for seed in range(8):
            g = scp_importance(model, x, n_slices=L, seed=seed)
            flat = torch.cat([v.flatten() for v in g.values()])
            e.append(((flat - flat_exact).norm() / flat_exact.norm()).item())
        errs.append(np.mean(e))
    assert errs[0] > errs[1] > errs[2]
    slope = np.polyfit(np.log([10, 100, 1000]), np.log(errs), 1)[0]
    assert -0.65 < slope < -0.35


def test_scp_batch_size_and_data_forms_do_not_matter():
    model = mlp([4, 8, 3])
    x, y = torch.randn(33, 4), torch.randint(0, 3, (33,))
    sl = random_slices(6, 3, seed=0)
    a = scp_importance(model, x, slices=sl, batch_size=33)
    for data in ((x, y), [x[:10], x[10:]], [(x[:5], y[:5]), (x[5:], y[5:])],
                 Task("t", x, y, x[:2], y[:2], dataset="toy")):
        assert rel_err(scp_importance(model, data, slices=sl, batch_size=4), a) < 1e-12


def test_averaging_slices_before_squaring_is_wrong_by_L():
    """The course-notebook bug: (1/L)Σ_l ξ_l projected first, squared once → ≈ Γ/L in expectation."""
    model = mlp([5, 10, 10], seed=1)
    x = torch.randn(30, 5)
    exact = scp_importance(model, x, exact=True)
    L, ratios = 100, []
    for seed in range(40):
        xi_mean = random_slices(L, 10, seed=seed).mean(0)
        phi_bar = model(x).mean(0)
        grads = torch.autograd.grad(xi_mean @ phi_bar, list(model.parameters()))
        ratios.append(sum(g.pow(2).sum() for g in grads).item() / sum(v.sum() for v in exact.values()).item())
    assert np.mean(ratios) == pytest.approx(1 / L, rel=0.35)


# ----------------------------------------------------------------------------- Fisher

@pytest.mark.parametrize("method", ["hooks", "func", "auto"])
def test_exact_fisher_equals_per_sample_per_class_loop(method):
    model = mlp([5, 11, 7, 4])
    x, y = torch.randn(25, 5), torch.randint(0, 4, (25,))

    def terms(n, out):
        logp = F.log_softmax(out, 1)[0]
        return [(logp[c].exp().item(), logp[c], False) for c in range(4)]

    want = per_sample_brute(model, x, terms)
    assert rel_err(fisher_importance(model, x, "exact", method=method, batch_size=9), want) < 1e-10
    emp = per_sample_brute(model, x, lambda n, out: [(1.0, F.log_softmax(out, 1)[0, y[n]], False)])
    assert rel_err(fisher_importance(model, (x, y), "empirical", method=method), emp) < 1e-10


def test_sample_fisher_is_unbiased():
    model = mlp([4, 8, 3], seed=2)
    x = torch.randn(20, 4)
    exact = fisher_importance(model, x, "exact")
    runs = [fisher_importance(model, x, "sample", seed=s) for s in range(300)]
    mean = {k: torch.stack([r[k] for r in runs]).mean(0) for k in exact}
    tot = sum(v.sum() for v in exact.values())
    assert abs(sum(v.sum() for v in mean.values()) / tot - 1) < 0.05
    assert rel_err(mean, exact) < 0.25
    a, b = fisher_importance(model, x, "sample", seed=7), fisher_importance(model, x, "sample", seed=7)
    assert rel_err(a, b) == 0


# ----------------------------------------------------------------------------- MAS

@pytest.mark.parametrize("method", ["hooks", "func"])
@pytest.mark.parametrize("form,absval", [("paper", False), ("aljundi", True)])
def test_mas_equals_brute_force(method, form, absval):
    model = mlp([5, 9, 6, 3])
    x = torch.randn(21, 5)
    want = per_sample_brute(model, x, lambda n, out: [(1.0, out.pow(2).sum(), absval)])
    assert rel_err(mas_importance(model, x, form=form, method=method, batch_size=8), want) < 1e-10


@pytest.mark.parametrize("method", ["hooks", "func"])
def test_mas_hidden_layer(method):
    model = mlp([5, 9, 6, 3])
    x = torch.randn(15, 5)

    def terms(n, out):
        h = model[2](model[1](model[0](x[n:n + 1])))
        return [(1.0, h.pow(2).sum(), False)]

    want = per_sample_brute(model, x, terms)
    got = mas_importance(model, x, layer=model[2], method=method)
    assert rel_err(got, want) < 1e-10
    assert torch.all(got["4.weight"] == 0)


def test_linear_fed_3d_inputs_falls_back_to_func():
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Flatten(), nn.Linear(18, 2)).double()
    x = torch.randn(10, 3, 4)
    want = per_sample_brute(model, x, lambda n, out: [(1.0, out.pow(2).sum(), False)])
    assert rel_err(mas_importance(model, x), want) < 1e-10
    with pytest.raises(ValueError, match="hooks"):
        mas_importance(model, x, method="hooks")


# ----------------------------------------------------------------------------- modes

class Recorder(nn.Module):
    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(self.training)
        return x


@pytest.mark.parametrize("fn", [
    lambda m, x: scp_importance(m, x, n_slices=5, seed=0),
    lambda m, x: fisher_importance(m, x),
    lambda m, x: mas_importance(m, x),
])
def test_eval_mode_during_and_restored_after(fn):
    rec = Recorder()
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), rec, nn.Linear(8, 3)).double()
    model.train()
    model[1].eval()  # a mixed state must come back as it was
    x = torch.randn(12, 4)
    a = fn(model, x)
    assert rec.seen and not any(rec.seen)
    assert model.training and not model[1].training and model[3].training
    b = fn(model, x)
    assert rel_err(a, b) < 1e-12  # dropout off → deterministic


# ----------------------------------------------------------------------------- bad input

def _m():
    return mlp([3, 4, 2])


@pytest.mark.parametrize("call,exc,match", [
    (lambda: scp_importance(_m(), torch.randn(5, 3), n_slices=0), ValueError, "n_slices=0"),
    (lambda: scp_importance(_m(), torch.randn(5, 3), slices=torch.ones(4, 3)), ValueError, r"shape \(n_slices, 2\)"),
    (lambda: scp_importance(_m(), torch.randn(5, 3), slices=torch.ones(4, 2)), ValueError, "unit vectors"),
    (lambda: scp_importance(_m(), torch.empty(0, 3)), ValueError, "empty"),
    (lambda: scp_importance(_m(), torch.full((4, 3), float("nan"))), ValueError, "NaN"),
    (lambda: scp_importance(_m(), torch.randn(5, 3), layer=nn.Linear(2, 2)), ValueError, "submodule"),
    (lambda: scp_importance(_m(), torch.randn(5, 3), layer="nope"), ValueError, "layer='nope'"),
    (lambda: scp_importance(_m(), torch.randn(5, 3), vjp="x"), ValueError, "vjp"),
    (lambda: fisher_importance(_m(), torch.randn(5, 3), labels="true"), ValueError, "labels='true'"),
    (lambda: fisher_importance(_m(), torch.randn(5, 3), labels="empirical"), ValueError, "labelled data"),
    (lambda: mas_importance(_m(), torch.randn(5, 3), form="l1"), ValueError, "form='l1'"),
    (lambda: mas_importance(_m().requires_grad_(False), torch.randn(5, 3)), ValueError, "no trainable"),
    (lambda: mas_importance(_m(), np.zeros((5, 3))), TypeError, "NumPy"),
])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_scp_chunked_vectors_and_one_shot_iterators_give_the_same_gamma():
    model = nn.Sequential(nn.Linear(12, 6), nn.ReLU(), nn.Linear(6, 12)).double()
    x = torch.randn(40, 12)
    sl = random_slices(5, 12, seed=4)
    ref = scp_importance_reference(model, x, sl)
    small = scp_importance(model, x, slices=sl, batch_size=9, max_memory=1)  # one vector per pass over the data
    gen = scp_importance(model, (b for b in torch.split(x, 7)), slices=sl, max_memory=1)
    assert rel_err(small, ref) < 1e-10 and rel_err(gen, ref) < 1e-10


@pytest.mark.parametrize("vjp", ["loop", "batched"])
@pytest.mark.parametrize("K_out,L", [(30, 5), (4, 9)])
@pytest.mark.parametrize("max_memory", [1, 2 ** 28])
def test_scp_single_batch_path_equals_algorithm1_and_the_batched_path(vjp, K_out, L, max_memory):
    """N ≤ batch_size squares each VJP at once; it must agree with Algorithm 1 and with the multi-batch sums."""
    model = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, K_out), nn.Sigmoid()).double()
    x = torch.rand(40, 12)
    sl = random_slices(L, K_out, seed=5)
    ref = scp_importance_reference(model, x, sl)
    one = scp_importance(model, x, slices=sl, batch_size=40, vjp=vjp, max_memory=max_memory)
    many = scp_importance(model, x, slices=sl, batch_size=9, vjp=vjp, max_memory=max_memory)
    assert rel_err(one, ref) < 1e-10 and rel_err(many, ref) < 1e-10


def test_diagonal_participation_matches_a_loop_and_rejects_bad_input():
    from scpviz import importance

    g = torch.Generator().manual_seed(0)
    a = torch.randn(7, 7, generator=g, dtype=torch.float64)
    m = a @ a.T
    d = [abs(float(m[i, i])) for i in range(7)]
    brute = sum(d) ** 2 / sum(x * x for x in d)
    assert importance.diagonal_participation(m) == pytest.approx(brute, rel=1e-12)
    assert 1.0 <= importance.diagonal_participation(m) <= 7.0
    with pytest.raises(ValueError, match="square"):
        importance.diagonal_participation(torch.ones(2, 3))
    with pytest.raises(ValueError, match="all-zero diagonal"):
        importance.diagonal_participation(torch.zeros(3, 3))


def test_rank_agreement_is_spearman_on_the_weights_all_importances_see():
    from scpviz import importance

    g = torch.Generator().manual_seed(1)
    a = {"w": torch.rand(50, generator=g, dtype=torch.float64), "b": torch.rand(3, generator=g, dtype=torch.float64)}
    b = {k: v + 0.3 * torch.rand(v.shape, generator=g, dtype=torch.float64) for k, v in a.items()}
    a["w"][:5] = 0.0   # weights one importance does not see are left out
    r = importance.rank_agreement({"a": a, "b": b})
    x = torch.cat([a["w"], a["b"]]).numpy()[np.r_[5:53]]
    y = torch.cat([b["w"], b["b"]]).numpy()[np.r_[5:53]]
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))   # ranks (no ties): Spearman = Pearson of ranks
    assert r[("a", "b")] == pytest.approx(np.corrcoef(rx, ry)[0, 1], rel=1e-12) and r["kept"] == pytest.approx(48 / 53)
    with pytest.raises(ValueError, match="at least two"):
        importance.rank_agreement({"a": a})
    with pytest.raises(ValueError, match="different models"):
        importance.rank_agreement({"a": a, "c": {"w": torch.ones(3)}})


# ----------------------------------------------------------------------------- convolutional layers

def conv_net(seed=0):
    """Conv2d + BatchNorm2d + ReLU + max-pool, twice, then Linear + BatchNorm1d + Dropout + Linear (VGG-like)."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(4, 5, 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(5), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(5 * 2 * 2, 6), nn.BatchNorm1d(6), nn.ReLU(),
                        nn.Dropout(0.5), nn.Linear(6, 3)).double()
    net.train()
    with torch.no_grad():   # non-trivial running statistics and BatchNorm affine parameters
        for _ in range(3):
            net(torch.randn(16, 2, 8, 8) * 2 + 0.5)
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return net


@pytest.mark.parametrize("method", ["hooks", "func"])
def test_conv_bn_dropout_importances_equal_per_sample_loops(method):
    model = conv_net()
    x, y = torch.randn(13, 2, 8, 8), torch.randint(0, 3, (13,))
    model.eval()   # the reference loop runs in eval mode, as the importances do
    fisher = per_sample_brute(model, x, lambda n, out: [(F.softmax(out, 1)[0, c].item(), F.log_softmax(out, 1)[0, c],
                                                         False) for c in range(3)])
    emp = per_sample_brute(model, x, lambda n, out: [(1.0, F.log_softmax(out, 1)[0, y[n]], False)])
    mas = per_sample_brute(model, x, lambda n, out: [(1.0, out.pow(2).sum(), False)])
    mas_abs = per_sample_brute(model, x, lambda n, out: [(1.0, out.pow(2).sum(), True)])
    model.train()  # the importances switch to eval mode themselves and restore this
    running = model[1].running_mean.clone()
    assert rel_err(fisher_importance(model, x, "exact", method=method, batch_size=5), fisher) < 1e-10
    assert rel_err(fisher_importance(model, (x, y), "empirical", method=method), emp) < 1e-10
    assert rel_err(mas_importance(model, x, method=method, batch_size=6), mas) < 1e-10
    assert rel_err(mas_importance(model, x, form="aljundi", method=method), mas_abs) < 1e-10
    assert model.training and torch.equal(model[1].running_mean, running)   # mode and running stats untouched


def test_conv_rule_chunks_and_unsupported_convs_fall_back():
    from scpviz.importance.per_sample import _conv_weight_sum

    torch.manual_seed(1)
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, dilation=1).double()
    a = torch.randn(7, 3, 9, 9)
    d = torch.randn(7, 4, 5, 5)
    want = sum(torch.autograd.grad((conv(a[n:n + 1]) * d[n:n + 1]).sum(), conv.weight)[0] ** 2 for n in range(7))
    for chunk in (1, 200, 2 ** 25):     # one sample at a time, a few, all at once
        assert torch.allclose(_conv_weight_sum(conv, a, d, torch.square, chunk_elems=chunk), want, rtol=1e-12)
    grouped = nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.Flatten(), nn.Linear(4 * 4 * 4, 2)).double()
    x = torch.randn(5, 2, 6, 6)
    want = per_sample_brute(grouped, x, lambda n, out: [(1.0, out.pow(2).sum(), False)])
    assert rel_err(mas_importance(grouped, x), want) < 1e-10        # groups > 1: the torch.func path
    with pytest.raises(ValueError, match="hooks"):
        mas_importance(grouped, x, method="hooks")


def _nontrivial_batchnorm(net, shape):
    """Running statistics and affine parameters away from their initial values, as after training."""
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(16, *shape, dtype=torch.float64) * 1.5 + 0.3)
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return net


def tiny_vgg(seed=0):
    """Figure 8's layout (scpviz.models.VGGLike) at toy widths, float64, with non-trivial BatchNorm statistics."""
    from scpviz.models import VGGLike

    net = VGGLike(image_size=10, channels=(3, 4), hidden=(5,), dropout=0.5, seed=seed).double()
    return _nontrivial_batchnorm(net, (1, 10, 10)), (1, 10, 10), 10


def tiny_wrn(seed=0):
    """The CIFAR-100 network (scpviz.models.WideResNet, WRN-10-0.25: pre-activation blocks, 1×1 shortcuts, strided
    convolutions, convolutions without bias, global average pooling), float64, Dropout on in training."""
    from scpviz.models import WideResNet

    net = WideResNet(depth=10, widen_factor=0.25, n_classes=6, dropout=0.3, seed=seed).double()
    return _nontrivial_batchnorm(net, (3, 8, 8)), (3, 8, 8), 6


@pytest.mark.parametrize("build", [tiny_vgg, tiny_wrn], ids=["vgg_like", "wide_resnet"])
def test_convnet_importances_equal_per_sample_loops_and_algorithm1(build):
    """The MNIST → SVHN network (issue 18) and the CIFAR-100 Wide-ResNet (issue 19): F (exact, sampled, empirical),
    Ω and Γ by the per-layer rules equal a loop over samples (Γ: Algorithm 1 verbatim), BatchNorm in eval mode,
    Dropout off, running stats untouched."""
    model, shape, k = build()
    x, y = torch.randn(11, *shape, dtype=torch.float64), torch.randint(0, k, (11,))
    model.eval()
    fisher = per_sample_brute(model, x, lambda n, out: [(F.softmax(out, 1)[0, c].item(), F.log_softmax(out, 1)[0, c],
                                                         False) for c in range(k)])
    emp = per_sample_brute(model, x, lambda n, out: [(1.0, F.log_softmax(out, 1)[0, y[n]], False)])
    with torch.no_grad():    # the labels the sampled Fisher draws: y ~ p(·|x) from a generator seeded with 4
        drawn = torch.multinomial(F.softmax(model(x), 1), 1, generator=torch.Generator().manual_seed(4)).squeeze(1)
    sampled = per_sample_brute(model, x, lambda n, out: [(1.0, F.log_softmax(out, 1)[0, drawn[n]], False)])
    mas = per_sample_brute(model, x, lambda n, out: [(1.0, out.pow(2).sum(), False)])
    sl = random_slices(7, k, seed=2)
    gamma_ref = scp_importance_reference(model, x, sl)
    model.train()
    state = {kk: v.clone() for kk, v in model.state_dict().items()}
    assert rel_err(fisher_importance(model, x, "exact", method="hooks", batch_size=4), fisher) < 1e-10
    assert rel_err(fisher_importance(model, (x, y), "empirical", method="hooks"), emp) < 1e-10
    assert rel_err(fisher_importance(model, x, "sample", seed=4, method="hooks"), sampled) < 1e-10
    assert rel_err(mas_importance(model, x, method="hooks", batch_size=5), mas) < 1e-10
    assert rel_err(scp_importance(model, x, slices=sl, batch_size=4), gamma_ref) < 1e-10
    assert model.training and all(torch.equal(v, model.state_dict()[kk]) for kk, v in state.items())
    assert all(float(v.abs().sum()) > 0 for v in fisher.values())      # every layer's weights seen


def test_conv_batches_are_cut_to_bound_the_patches(monkeypatch):
    """The unfolded patches are kept for every term of a batch; batches are cut so that they fit a budget — with a
    budget of one sample, the result is the same."""
    from scpviz.importance import per_sample

    model = tiny_vgg(1)[0]
    x = torch.randn(9, 1, 10, 10, dtype=torch.float64)
    whole = fisher_importance(model, x, "exact", method="hooks")
    cuts = []
    real = per_sample._split_for_patches

    def tiny_budget(model, rule, batches, budget_bytes=None):
        out = list(real(model, rule, batches, budget_bytes=8))
        cuts.append(len(out))
        return iter(out)

    monkeypatch.setattr(per_sample, "_split_for_patches", tiny_budget)
    one_by_one = fisher_importance(model, x, "exact", method="hooks")
    assert cuts == [9] and rel_err(one_by_one, whole) < 1e-12


def test_unet_dense_output_importances_equal_per_sample_loops():
    """The segmentation network (issue 20): a tiny U-Net, dense output K = C·H·W. MAS (per-image squared output
    norm) by the per-layer rules equals a loop over images; Γ with K ≫ L slices equals Algorithm 1 verbatim."""
    from scpviz.models import UNet

    model = UNet(in_channels=3, n_classes=4, base=2, depth=2, seed=0).double()
    x = torch.randn(5, 3, 8, 12, dtype=torch.float64)
    mas = per_sample_brute(model, x, lambda n, out: [(1.0, out.pow(2).sum(), False)])
    assert rel_err(mas_importance(model, x, method="hooks", batch_size=3), mas) < 1e-10
    sl = random_slices(6, 4 * 8 * 12, seed=1)
    assert rel_err(scp_importance(model, x, slices=sl, batch_size=2), scp_importance_reference(model, x, sl)) < 1e-10


def test_per_position_fisher_of_a_segmentation_net_equals_a_loop():
    """§5.3's EWC on a dense output: log p(Y|x) = Σ_positions log softmax_c; the sampled Fisher (one label map per
    image, every position from its own softmax) and the empirical one equal a loop over images (float64)."""
    from scpviz.models import UNet

    model = UNet(in_channels=3, n_classes=4, base=2, depth=1, seed=1).double()
    x = torch.randn(4, 3, 6, 8, dtype=torch.float64)
    y = torch.randint(0, 4, (4, 6, 8))
    with torch.no_grad():     # the draw: per image, per position, from a generator seeded with 7, in that order
        probs = F.softmax(model(x), 1).movedim(1, -1)
        drawn = torch.multinomial(probs.reshape(-1, 4), 1, generator=torch.Generator().manual_seed(7)).reshape(4, 6, 8)
    for labels, maps in (("sample", drawn), ("empirical", y)):
        want = per_sample_brute(model, x, lambda n, out: [(1.0, F.log_softmax(out, 1)[0].gather(0, maps[n][None]).sum(),
                                                           False)])
        got = fisher_importance(model, (x, y), labels, seed=7, per_position=True,
                                batch_size=500 if labels == "sample" else 3)   # one draw over the whole data
        assert rel_err(got, want) < 1e-10, labels
    with pytest.raises(ValueError, match="C·H·W"):
        fisher_importance(model, x, "exact", per_position=True)
