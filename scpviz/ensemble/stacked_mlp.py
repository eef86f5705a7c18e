"""M copies of the §5.1 MLP as one model: every weight carries a leading run dimension.

Run m's layer l is ``W[l][m] @ a + b[l][m]``; a batch of the whole ensemble is a tensor (M, B, features) — each run
its own images — and one batched matmul (:func:`torch.baddbmm`) per layer serves every run. Runs never mix: the
output of run m depends on run m's parameters and inputs only, so the gradient of Σ_m loss_m with respect to run
m's parameters is the gradient of loss_m (what lets one backward pass train M runs).

The importances of every run come from the same per-layer rules as :mod:`scpviz.importance` (one batched backward
to the layer outputs, then the factorised sums), with the run dimension carried along:

* EWC's F (eq 3–4, all classes weighted by p) and MAS's Ω (eq 7, squared or Aljundi et al.'s absolute form):
  Σ_n f(δ_n a_nᵀ) = f(δ)ᵀ f(a) per run, a batched matmul over runs;
* SCP's Γ (eq 19): Γ = Σ_v (r_vᵀ J̄)² with J̄ = ∂φ̄/∂θ, so per run and vector r_v the weight part of r_vᵀ J̄ is
  (1/N) Σ_n δ_{v,n} a_nᵀ — one batched matmul over (run, vector) pairs.

No Python loop over runs, samples or slices; the classes of the exact Fisher are handled together in the same way.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import methods
from ..models import MLP

__all__ = ["StackedMLP", "stacked_importance", "stacked_rule"]


class StackedMLP(torch.nn.Module):
    """M ReLU MLPs of one architecture, trained and evaluated as one model (parameters (M, ...) per layer).

    Parameters
    ----------
    models : sequence of MLP
        The runs' networks at their initialisation (copied: the stack does not share storage with them).

    Attributes
    ----------
    weights, biases : nn.ParameterList
        Layer l's weights (M, out, in) and biases (M, out).

    Examples
    --------
    >>> nets = [MLP(4, (8,), 3, seed=s) for s in range(5)]
    >>> stack = StackedMLP(nets)
    >>> x = torch.randn(5, 2, 4)
    >>> torch.allclose(stack(x)[3], nets[3](x[3]), atol=1e-6)
    True
    """

    def __init__(self, models):
        super().__init__()
        models = list(models)
        if not models:
            raise ValueError("models is empty: pass the runs' MLPs (one per run).")
        if not all(isinstance(m, MLP) for m in models):
            raise TypeError("models must be scpviz.models.MLP instances (the per-layer rules assume Linear + ReLU).")
        shapes = {tuple(p.shape for p in m.parameters()) for m in models}
        if len(shapes) != 1:
            raise ValueError("models must share one architecture (in_features, hidden, n_classes): stack runs of one "
                             "experiment budget only.")
        linears = [[layer for layer in m if isinstance(layer, torch.nn.Linear)] for m in models]
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.stack([ls[i].weight.detach() for ls in linears]).clone())
            for i in range(len(linears[0])))
        self.biases = torch.nn.ParameterList(
            torch.nn.Parameter(torch.stack([ls[i].bias.detach() for ls in linears]).clone())
            for i in range(len(linears[0])))
        self.in_features, self.hidden, self.n_classes = models[0].in_features, models[0].hidden, models[0].n_classes

    @property
    def n_runs(self) -> int:
        """M, the number of runs in the stack."""
        return self.weights[0].shape[0]

    def names(self) -> list:
        """The parameter names of one run's MLP, in the order of :meth:`stacked_parameters`."""
        out = []
        for i in range(len(self.weights)):
            out += [f"{2 * i}.weight", f"{2 * i}.bias"]
        return out

    def stacked_parameters(self) -> list:
        """[W₀, b₀, W₁, b₁, …], each with the run dimension first (the order of :meth:`names`)."""
        return [p for w, b in zip(self.weights, self.biases) for p in (w, b)]

    def run_model(self, m: int) -> MLP:
        """Run ``m`` as an ordinary :class:`~scpviz.models.MLP` (a copy), e.g. to save or to check it alone."""
        if not 0 <= m < self.n_runs:
            raise IndexError(f"m={m} is not a run of this stack (0 … {self.n_runs - 1}).")
        net = MLP(self.in_features, self.hidden, self.n_classes).to(self.weights[0].dtype)
        with torch.no_grad():
            for p, q in zip(net.parameters(), self.stacked_parameters()):
                p.copy_(q[m])
        return net

    def _check(self, x):
        if x.ndim != 3 or x.shape[0] != self.n_runs or x.shape[2] != self.in_features:
            raise ValueError(f"x must have shape (runs={self.n_runs}, batch, {self.in_features}), got "
                             f"{tuple(x.shape)}: one batch per run, images flattened.")

    def forward_layers(self, x):
        """Outputs of every linear layer (pre-activation), each (M, B, out); the last is the logits."""
        self._check(x)
        outs, a = [], x
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = torch.baddbmm(b.unsqueeze(1), a, w.transpose(1, 2))
            outs.append(z)
            a = torch.relu(z) if i < len(self.weights) - 1 else z
        return outs

    def forward(self, x):
        """Logits (M, B, n_classes) of inputs (M, B, in_features): run m sees x[m] only."""
        return self.forward_layers(x)[-1]


def _inputs_and_outputs(stack, x):
    """Each layer's input a (M, N, in), detached, and output z (M, N, out), in the graph."""
    zs = stack.forward_layers(x)
    inputs = [x] + [torch.relu(z).detach() for z in zs[:-1]]
    return inputs, zs


def _factorised(stack, inputs, fsum, f):
    """Per run, Σ f(δ)ᵀ f(a) for each weight and Σ f(δ) for each bias, from the summed f(δ) of every layer."""
    out = []
    for a, fd in zip(inputs, fsum):
        out += [torch.bmm(fd.transpose(1, 2), f(a)), fd.sum(1)]
    return out


def stacked_rule(method: str) -> str:
    """The batched rule of ``method`` (its row's ``stacked_rule`` in :mod:`scpviz.methods`); a clear error when it
    has none."""
    rule = methods.get(method).stacked_rule
    if rule is None:
        batched = [m for m in methods.names() if methods.get(m).stacked_rule]
        raise ValueError(f"method={method!r} has no batched importance rule: the ensemble computes {batched}.")
    return rule


def stacked_importance(stack, x, method, *, slices=None, n_slices=100, exact=False, seed=None, seeds=None):
    r"""The importance of every run of ``stack`` at its current parameters: F, Ω or Γ per run, batched.

    Parameters
    ----------
    stack : StackedMLP
    x : Tensor, (M, N, in_features)
        Each run's task inputs (its own images; the same N for every run).
    method : str
        A method of :mod:`scpviz.methods` with a batched rule (its ``stacked_rule``): ``"ewc"``, the exact
        diagonal Fisher (eq 3, every class weighted by p_θ(y|x)), as :func:`scpviz.importance.fisher_importance`
        with ``labels="exact"``; ``"mas"``, Ω of eq 7 (squared); ``"mas_abs"``, Aljundi et al.'s absolute form;
        ``"scp"``, Γ of eq 19 on the output.
    slices : Tensor, (M, L, K), optional
        SCP: each run's unit slice vectors. Default: L = ``n_slices`` random slices per run
        (:func:`scpviz.distances.random_slices`), run m's seeded ``seeds[m]``, or ``seed + m`` when only ``seed``
        is given.
    exact : bool
        SCP: E[ξξᵀ] = I/K (no Monte-Carlo noise).

    Returns
    -------
    dict[str, Tensor]
        Parameter name → (M, *shape): run m's importance is ``[m]`` of each tensor, equal to the single-run
        function's on ``stack.run_model(m)`` and ``x[m]`` (float64: to 1e-10; tested).

    Examples
    --------
    >>> stack = StackedMLP([MLP(4, (8,), 3, seed=s) for s in range(2)])
    >>> F_ = stacked_importance(stack, torch.randn(2, 16, 4), "ewc")
    >>> F_["0.weight"].shape
    torch.Size([2, 8, 4])
    """
    rule = stacked_rule(method)
    stack._check(x)
    M, N = x.shape[:2]
    with torch.enable_grad():
        inputs, zs = _inputs_and_outputs(stack, x)
        out = zs[-1]
        if rule == "scp":
            if seeds is None:
                seeds = [None if seed is None else seed + m for m in range(M)]
            if len(seeds) != M:
                raise ValueError(f"seeds has {len(seeds)} entries for {M} runs: one slice seed per run.")
            grads = _scp_vector_grads(stack, x, zs, slices, n_slices, exact, seeds)
            return dict(zip(stack.names(), grads))
        f = torch.abs if rule == "mas_abs" else torch.square
        if rule == "fisher":
            logp = F.log_softmax(out, dim=2)                                              # (M, N, C)
            w = logp.detach().exp().sqrt()
            terms = [w[:, :, c] * logp[:, :, c] for c in range(logp.shape[2])]            # one per class
        else:
            terms = [out.pow(2).sum(2)]
        fsum = [None] * len(zs)
        for t, ell in enumerate(terms):   # a loop over the C classes of the exact Fisher, as the single-run rule
            deltas = torch.autograd.grad(ell.sum(), zs, retain_graph=t < len(terms) - 1)
            fsum = [f(d) if s is None else s.add_(f(d)) for s, d in zip(fsum, deltas)]
        return {n: g / N for n, g in zip(stack.names(), _factorised(stack, inputs, fsum, f))}


def _scp_vector_grads(stack, x, zs, slices, n_slices, exact, seeds):
    """Γ of every run: Σ_v (r_vᵀ J̄)², r_v the rows of each run's S = Σ_v r_v r_vᵀ (see :mod:`scpviz.importance.scp`).

    The gradient of r_v · φ̄ at the output is r_v / N for every sample; it is carried back through the layers by
    hand (a product with Wᵀ and the ReLU mask per layer), for every run and vector at once.
    """
    from ..distances import random_slices

    M, N, K = zs[-1].shape
    if exact:
        R = torch.eye(K, dtype=torch.float64).expand(M, K, K) / math.sqrt(K)
    else:
        if slices is None:
            slices = torch.stack([random_slices(n_slices, K, seed=s) for s in seeds])   # M small draws, no data
        slices = torch.as_tensor(slices)
        if slices.ndim != 3 or slices.shape[0] != M or slices.shape[2] != K:
            raise ValueError(f"slices must have shape (runs={M}, L, {K}), got {tuple(slices.shape)}.")
        R = _batched_scp_vectors(slices.to(torch.float64), K)
    R = R.to(device=x.device, dtype=x.dtype)                                              # (M, V, K)
    V = R.shape[1]
    acts = [x.detach()] + [torch.relu(z).detach() for z in zs[:-1]]
    delta = (R / N).unsqueeze(2).expand(M, V, N, K)                                       # (M, V, N, K)
    grads = []
    for i in range(len(zs) - 1, -1, -1):                                                  # layers, last to first
        # Σ_v (r_vᵀ J̄)² for the weight: one batched matmul over the runs per vector r_v (min(K, L) of them, 10 for
        # MNIST) — 1.5x faster on a CPU than one einsum over all vectors, which materialises (M, V, out, in)
        gw = torch.zeros_like(stack.weights[i])
        for v in range(V):
            gw += torch.bmm(delta[:, v].transpose(1, 2), acts[i]).square()
        grads = [gw, delta.sum(2).square().sum(1)] + grads
        if i > 0:
            mask = (zs[i - 1] > 0).to(x.dtype).unsqueeze(1)
            delta = (delta @ stack.weights[i].detach().unsqueeze(1)) * mask
    return grads


def _batched_scp_vectors(slices, K):
    """:func:`scpviz.importance.scp._scp_vectors` for every run at once: (M, min(K, L), K)."""
    L = slices.shape[1]
    if K <= L:
        S = slices.transpose(1, 2) @ slices / L
        evals, evecs = torch.linalg.eigh(S)
        return (evecs * evals.clamp_min(0.0).sqrt().unsqueeze(1)).transpose(1, 2)
    return slices / math.sqrt(L)
