"""Each checker accepts correct code written independently of the package and rejects each known bug with its hint."""
import numpy as np
import pytest
import torch

from scpviz.teaching import bugs, checks


# --------------------------------------------------------------------------- correct, independently written

def restoring(fn):
    """``fn`` that hands the model back in the mode it was given (the checkers hand over train-mode models)."""
    def run(model, *args):
        was = model.training
        try:
            return fn(model, *args)
        finally:
            model.train(was)
    return run


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


@restoring
def scp_loop(model, x, slices):
    model.eval()
    params = dict(model.named_parameters())
    phi_bar = model(x).mean(0)
    gamma = {n: torch.zeros_like(p) for n, p in params.items()}
    for xi in slices:
        for n, g in zip(params, torch.autograd.grad(xi @ phi_bar, list(params.values()), retain_graph=True)):
            gamma[n] += g ** 2 / len(slices)
    return gamma


@restoring
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


@restoring
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
    star = torch.cat([theta_star[n].detach().flatten() for n, _ in model.named_parameters()])
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


@restoring
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


@restoring
def _scp_stale_grad(model, x, S):
    """Algorithm 1 through .backward(): gradients zeroed after each slice, but not before the first."""
    model.eval()
    params = dict(model.named_parameters())
    gamma = {n: torch.zeros_like(p) for n, p in params.items()}
    phi_bar = model(x).mean(0)
    for xi in S:
        (xi @ phi_bar).backward(retain_graph=True)
        for n, p in params.items():
            gamma[n] += p.grad ** 2 / len(S)
        model.zero_grad()
    return gamma


def _scp_no_restore(model, x, S):
    out = scp_loop(model, x, S)
    model.eval()   # right values, but the model is handed back in eval mode
    return out


@pytest.mark.parametrize("wrong, hint", [
    (bugs.scp_average_slices_first, "averaged the slices before squaring"),
    (_sum_instead_of_mean(scp_loop, lambda x, S: len(S)), "summed over the slices"),
    (_no_eval(scp_loop), "train mode"),
    (_scp_stale_grad, "gradients already stored in .grad"),
    (_scp_no_restore, "left the model in eval mode"),
    (_scp_per_sample, "projects the \\*mean\\*"),
    (lambda model, x, S: bugs.scp_per_batch_divided(model, x, S, batch_size=4), "squared per batch"),
])
def test_scp_bugs(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_scp_importance(wrong)


@restoring
def _fisher_empirical(model, x):
    model.eval()
    params = dict(model.named_parameters())
    F = {n: torch.zeros_like(p) for n, p in params.items()}
    for i in range(len(x)):
        logp = torch.log_softmax(model(x[i:i + 1])[0], 0)
        for n, g in zip(params, torch.autograd.grad(logp.max(), list(params.values()))):
            F[n] += g ** 2 / len(x)
    return F


@restoring
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
    (_no_eval(fisher_loop), "train mode"),
])
def test_fisher_bugs(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_fisher_importance(wrong)


@restoring
def _mas_abs(model, x):
    model.eval()
    params = dict(model.named_parameters())
    om = {n: torch.zeros_like(p) for n, p in params.items()}
    for i in range(len(x)):
        for n, g in zip(params, torch.autograd.grad((model(x[i:i + 1]) ** 2).sum(), list(params.values()))):
            om[n] += g.abs() / len(x)
    return om


@restoring
def _mas_norm(model, x):
    model.eval()
    params = dict(model.named_parameters())
    om = {n: torch.zeros_like(p) for n, p in params.items()}
    for i in range(len(x)):
        for n, g in zip(params, torch.autograd.grad(model(x[i:i + 1]).norm(), list(params.values()))):
            om[n] += g ** 2 / len(x)
    return om


@restoring
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
    (_no_eval(mas_loop), "train mode"),
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
    (lambda m, imp, ts, lam: lam * sum((imp[n] * (p - ts[n]) ** 2).sum() for n, p in m.named_parameters()),
     "detach it"),   # θ* not treated as a constant
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


# --------------------------------------------------------------------------- the holes an earlier checker left open

def _cramer_samples(u, v, p=2):
    t = torch.sort(torch.cat([u, v])).values
    Fu = torch.searchsorted(torch.sort(u).values, t[:-1], right=True) / len(u)
    Fv = torch.searchsorted(torch.sort(v).values, t[:-1], right=True) / len(v)
    return float(((Fu - Fv).abs() ** p * torch.diff(t)).sum() ** (1 / p))


def test_cramer_samples_written_passes_and_borrowed_is_refused():
    from scpviz import distances

    assert checks.check_cramer_samples(_cramer_samples)
    with pytest.raises(AssertionError, match="you called scpviz's own"):
        checks.check_cramer_samples(lambda u, v, p=2: float(distances.cramer_samples(u, v, p=p)))
    with pytest.raises(AssertionError, match="you called scpviz's own"):   # sliced, borrowed
        checks.check_sliced_cramer(lambda X, Y, slices, p=2: float(distances.sliced_cramer(X, Y, slices=slices, p=p)))
    from scpviz.distances import samples, slicing   # the same functions reached through their submodules

    with pytest.raises(AssertionError, match="you called scpviz's own"):
        checks.check_cramer_samples(lambda u, v, p=2: float(samples.cramer_samples(u, v, p=p)))
    with pytest.raises(AssertionError, match="you called scpviz's own"):
        checks.check_sliced_cramer(lambda X, Y, slices, p=2: float(slicing.sliced_cramer(X, Y, slices=slices, p=p)))
    assert distances.sliced_cramer is slicing.sliced_cramer   # and every one is put back afterwards


def test_js_constant_is_caught_where_the_supports_overlap():
    from scpviz import distances

    def js_at(tau):
        x = np.linspace(-1.0, 6.0, 14001)
        return float(distances.js_distance(((x >= 0) & (x <= 1)).astype(float), ((x >= tau) & (x <= tau + 1))
                                           .astype(float), x))

    assert checks.check_js_at(js_at)
    with pytest.raises(AssertionError, match="only once the supports separate"):
        checks.check_js_at(lambda tau: float(np.sqrt(np.log(2))))


def test_averaged_first_and_bias_are_checked_against_the_mistake_itself():
    scp = restoring(lambda m, x, S: scp_loop(m, x, S))

    @restoring
    def averaged_first(model, x, S):
        return scp_loop(model, x, S.mean(0, keepdim=True))

    assert checks.check_averaged_first(averaged_first)
    with pytest.raises(AssertionError, match="divided by L"):
        checks.check_averaged_first(restoring(lambda m, x, S: {k: v / len(S) for k, v in scp_loop(m, x, S).items()}))

    def bias(model, x, L, n_draws=30):
        from scpviz import distances
        K = model(x).shape[1]
        tot = lambda g: float(sum(v.sum() for v in g.values()))
        return float(np.mean([tot(averaged_first(model, x, S)) / tot(scp(model, x, S)) for S in
                              (distances.random_slices(L, K, seed=s).to(x.dtype) for s in range(n_draws))]))

    assert checks.check_bias(bias, scp, averaged_first)
    with pytest.raises(AssertionError, match="you returned 1/L"):
        checks.check_bias(lambda model, x, L, n_draws=30: 1 / L, scp, averaged_first)


def test_choosing_on_test_and_ignoring_an_error_metric_are_caught():
    from scpviz import sweeps

    def choose(grid, method, split="val", respect_direction=True):
        lams = sorted({c["lam"] for c, _ in grid if c["method"] == method})
        sign = 1.0 if grid[0][1].higher_is_better or not respect_direction else -1.0
        return max(lams, key=lambda l: sign * np.mean([h.final_average_metric(split) for c, h in grid
                                                       if c["method"] == method and c["lam"] == l]))

    assert checks.check_choose_on_validation(choose)
    with pytest.raises(AssertionError, match="\\*test\\* split"):
        checks.check_choose_on_validation(lambda g, m: choose(g, m, "test"))
    with pytest.raises(AssertionError, match="lower is better"):
        checks.check_choose_on_validation(lambda g, m: choose(g, m, respect_direction=False))
    assert sweeps  # the grids come from the shipped results


def test_blind_spot_checkers_reject_their_mistakes():
    import copy

    def reset_entries(model, theta_star, mask):
        twin = copy.deepcopy(model)
        with torch.no_grad():
            for n, p in twin.named_parameters():
                p.copy_(torch.where(mask[n], theta_star[n], p))
        return twin

    assert checks.check_blind_mask(lambda imp, rel=1e-9: {n: v < rel * max(float(w.max()) for w in imp.values())
                                                          for n, v in imp.items()})
    with pytest.raises(AssertionError, match="its own maximum"):
        checks.check_blind_mask(lambda imp, rel=1e-9: {n: v < rel * v.max() for n, v in imp.items()})
    assert checks.check_reset_entries(reset_entries)

    def in_place(model, theta_star, mask):
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(torch.where(mask[n], theta_star[n], p))
        return model

    with pytest.raises(AssertionError, match="returned the model itself"):
        checks.check_reset_entries(in_place)
    from scpviz.training import blind_reset_test
    swapped = lambda m, imp, ts, x, rel=1e-9: {**(r := blind_reset_test(m, imp, ts, x, rel_tol=rel)),
                                              "blind_reset": r["seen_reset"], "seen_reset": r["blind_reset"]}
    with pytest.raises(AssertionError, match="the other reset's error"):
        checks.check_blind_reset_test(swapped)
