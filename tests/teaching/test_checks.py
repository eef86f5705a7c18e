"""Each checker accepts correct code written independently of the package and rejects each known bug with its hint."""
import numpy as np
import pytest
import torch

from scpviz.teaching import bugs, checks


# --------------------------------------------------------------------------- correct, independently written

def sliced_cramer_loop(X, Y, slices, p=2):
    """Per slice: the CDFs of both samples on the merged sorted points, integrated exactly (a plain loop)."""
    total = 0.0
    for xi in slices:
        u, v = (X @ xi).numpy(), (Y @ xi).numpy()
        t = np.sort(np.concatenate([u, v]))
        Fu = np.searchsorted(np.sort(u), t[:-1], side="right") / len(u)
        Fv = np.searchsorted(np.sort(v), t[:-1], side="right") / len(v)
        total += np.sum(np.abs(Fu - Fv) ** p * np.diff(t))
    return (total / len(slices)) ** (1 / p)


def scp_loop(model, x, slices):
    model.eval()
    params = dict(model.named_parameters())
    phi_bar = model(x).mean(0)
    gamma = {n: torch.zeros_like(p) for n, p in params.items()}
    for xi in slices:
        for n, g in zip(params, torch.autograd.grad(xi @ phi_bar, list(params.values()), retain_graph=True)):
            gamma[n] += g ** 2 / len(slices)
    return gamma


def fisher_loop(model, x):
    model.eval()
    params = dict(model.named_parameters())
    F = {n: torch.zeros_like(p) for n, p in params.items()}
    for i in range(len(x)):
        logp = torch.log_softmax(model(x[i:i + 1])[0], 0)
        for y in range(len(logp)):
            grads = torch.autograd.grad(logp[y], list(params.values()), retain_graph=True)
            for n, g in zip(params, grads):
                F[n] += logp[y].exp().detach() * g ** 2 / len(x)
    return F


def mas_loop(model, x):
    model.eval()
    params = dict(model.named_parameters())
    om = {n: torch.zeros_like(p) for n, p in params.items()}
    for i in range(len(x)):
        grads = torch.autograd.grad((model(x[i:i + 1]) ** 2).sum(), list(params.values()))
        for n, g in zip(params, grads):
            om[n] += g ** 2 / len(x)
    return om


def merge(old, new, alpha):
    return {k: v.clone() for k, v in new.items()} if old is None else \
        {k: torch.lerp(old[k], new[k], alpha) for k in new}


def penalty(model, imp, theta_star, lam):
    flat = torch.cat([p.flatten() for p in model.parameters()])
    star = torch.cat([theta_star[n].flatten() for n, _ in model.named_parameters()])
    w = torch.cat([imp[n].flatten() for n, _ in model.named_parameters()])
    return lam * torch.dot(w, (flat - star) ** 2)


def forgetting(acc):
    T = len(acc)
    best = np.nanmax(np.where(np.isnan(acc[:-1]), -np.inf, acc[:-1]), axis=0)[:T - 1]
    return float((best - acc[-1, :T - 1]).mean())


def test_checkers_accept_independent_correct_code():
    assert checks.check_sliced_cramer(sliced_cramer_loop)
    assert checks.check_scp_importance(scp_loop)
    assert checks.check_fisher_importance(fisher_loop)
    assert checks.check_mas_importance(mas_loop)
    assert checks.check_online_merge(merge)
    assert checks.check_penalty(penalty)
    assert checks.check_forgetting(forgetting)


# --------------------------------------------------------------------------- the bugs, each with its hint

def _train_mode(fn):
    def wrong(model, *args):
        model.train()
        torch.manual_seed(0)
        try:
            return fn(model, *args)
        finally:
            model.eval()
    return wrong


def _sum_instead_of_mean(fn, n_of):
    return lambda model, x, *a: {k: v * n_of(x, *a) for k, v in fn(model, x, *a).items()}


@pytest.mark.parametrize("wrong, hint", [
    (lambda X, Y, S, p=2: float(np.mean([sliced_cramer_loop(X, Y, S[l:l + 1], p) for l in range(len(S))])),
     "averaged C_p over the slices"),
    (lambda X, Y, S, p=2: sliced_cramer_loop(X, Y, S, p) ** p, "forgot the final 1/p-th root"),
    (lambda X, Y, S, p=2: sliced_cramer_loop(X, Y, S[:1], p), "only the first slice"),
    (lambda X, Y, S, p=2: float(((torch.sort(X @ S.T, 0)[0] - torch.sort(Y @ S.T, 0)[0]).abs() ** p).mean() ** (1 / p)),
     "sliced \\*Wasserstein\\*"),
])
def test_sliced_cramer_bugs(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_sliced_cramer(wrong)


def _scp_per_sample(model, x, S):
    model.eval()
    params = dict(model.named_parameters())
    gamma = {n: torch.zeros_like(p) for n, p in params.items()}
    for i in range(len(x)):
        phi = model(x[i:i + 1])[0]
        for xi in S:
            for n, g in zip(params, torch.autograd.grad(xi @ phi, list(params.values()), retain_graph=True)):
                gamma[n] += g ** 2 / (len(S) * len(x))
    return gamma


@pytest.mark.parametrize("wrong, hint", [
    (bugs.scp_average_slices_first, "averaged the slices before squaring"),
    (_sum_instead_of_mean(scp_loop, lambda x, S: len(S)), "summed over the slices"),
    (_train_mode(lambda model, x, S: _no_eval(scp_loop)(model, x, S)), "train mode"),
    (_scp_per_sample, "projects the \\*mean\\*"),
    (lambda model, x, S: bugs.scp_per_batch_divided(model, x, S, batch_size=4), "squared per batch"),
])
def test_scp_bugs(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_scp_importance(wrong)


def _no_eval(fn):
    """``fn`` with its model.eval() call disabled (the model stays in whatever mode it is)."""
    def run(model, *args):
        real_eval = model.eval
        model.eval = lambda: model
        try:
            return fn(model, *args)
        finally:
            model.eval = real_eval
    return run


def _fisher_empirical(model, x):
    model.eval()
    params = dict(model.named_parameters())
    F = {n: torch.zeros_like(p) for n, p in params.items()}
    for i in range(len(x)):
        logp = torch.log_softmax(model(x[i:i + 1])[0], 0)
        for n, g in zip(params, torch.autograd.grad(logp.max(), list(params.values()))):
            F[n] += g ** 2 / len(x)
    return F


def _fisher_batch_squared(model, x):
    model.eval()
    params = dict(model.named_parameters())
    logp = torch.log_softmax(model(x), 1)
    grads = torch.autograd.grad(logp.max(1).values.mean(), list(params.values()))
    return {n: g ** 2 for n, g in zip(params, grads)}


@pytest.mark.parametrize("wrong, hint", [
    (_fisher_empirical, "one label per sample"),
    (_fisher_batch_squared, "batch-mean log-likelihood"),
    (_sum_instead_of_mean(fisher_loop, lambda x: len(x)), "summed over samples"),
    (_train_mode(_no_eval(fisher_loop)), "train mode"),
])
def test_fisher_bugs(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_fisher_importance(wrong)


def _mas_abs(model, x):
    model.eval()
    params = dict(model.named_parameters())
    om = {n: torch.zeros_like(p) for n, p in params.items()}
    for i in range(len(x)):
        for n, g in zip(params, torch.autograd.grad((model(x[i:i + 1]) ** 2).sum(), list(params.values()))):
            om[n] += g.abs() / len(x)
    return om


def _mas_norm(model, x):
    model.eval()
    params = dict(model.named_parameters())
    om = {n: torch.zeros_like(p) for n, p in params.items()}
    for i in range(len(x)):
        for n, g in zip(params, torch.autograd.grad(model(x[i:i + 1]).norm(), list(params.values()))):
            om[n] += g ** 2 / len(x)
    return om


def _mas_batch(model, x):
    model.eval()
    params = dict(model.named_parameters())
    grads = torch.autograd.grad((model(x) ** 2).sum(1).mean(), list(params.values()))
    return {n: g ** 2 for n, g in zip(params, grads)}


@pytest.mark.parametrize("wrong, hint", [
    (_mas_abs, "averaged \\|gradients\\|"),
    (_mas_norm, "the norm ‖φ‖ instead of the squared norm"),
    (_mas_batch, "batch-mean ‖φ‖²"),
    (_sum_instead_of_mean(mas_loop, lambda x: len(x)), "summed over samples"),
    (_train_mode(_no_eval(mas_loop)), "train mode"),
])
def test_mas_bugs(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_mas_importance(wrong)


def _in_place(old, new, alpha):
    if old is None:
        return new
    for k in old:
        old[k].mul_(1 - alpha).add_(alpha * new[k])
    return old


@pytest.mark.parametrize("wrong, hint", [
    (lambda old, new, a: merge(old, new, 1 - a) if old is not None else dict(new), "applied to the old importance"),
    (lambda old, new, a: dict(new) if old is None else {k: old[k] + (old[k] + new[k]) for k in new}, "added the merged total"),
    (lambda old, new, a: dict(new) if old is None else {k: old[k] + new[k] for k in new}, "summed the importances"),
    (lambda old, new, a: {k: a * new[k] + (1 - a) * old[k] for k in new}, "raised TypeError"),   # old=None not handled
    (lambda old, new, a: {k: a * v for k, v in new.items()} if old is None else merge(old, new, a), "first task"),
    (_in_place, "in place"),
])
def test_merge_bugs(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_online_merge(wrong)


@pytest.mark.parametrize("wrong, hint", [
    (lambda m, imp, ts, lam: penalty(m, imp, ts, lam) / 2, "λ/2"),
    (lambda m, imp, ts, lam: lam * sum((imp[n] * (p - ts[n]).abs()).sum() for n, p in m.named_parameters()),
     "not squared"),
    (lambda m, imp, ts, lam: lam * sum(((p - ts[n]) ** 2).sum() for n, p in m.named_parameters()),
     "importance is missing"),
    (lambda m, imp, ts, lam: penalty(m, imp, ts, lam).detach(), "does not depend on the parameters"),
    (lambda m, imp, ts, lam: penalty(m, imp, ts, lam).detach().item(), "scalar tensor"),
    (lambda m, imp, ts, lam: lam * sum((imp[n] * (p - ts[n]) ** 2).sum() for n, p in list(m.named_parameters())[:-1])
     + lam * sum((imp[n] * (p.detach() - ts[n]) ** 2).sum() for n, p in list(m.named_parameters())[-1:]),
     "its gradient"),
])
def test_penalty_bugs(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_penalty(wrong)


@pytest.mark.parametrize("wrong, hint", [
    (lambda A: float(np.mean([A[j, j] - A[-1, j] for j in range(len(A) - 1)])), "right after learning"),
    (lambda A: float(np.mean([np.nanmax(A[:-1, j]) - A[-1, j] if j < len(A) - 1 else 0.0 for j in range(len(A))])),
     "included the last task"),
    (lambda A: -forgetting(A), "sign is reversed"),
])
def test_forgetting_bugs(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_forgetting(wrong)
