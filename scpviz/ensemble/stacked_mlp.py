"""M copies of a fully connected network as one model: every weight carries a leading run dimension.

The networks are chains of linear layers — the §5.1 classifier (:class:`~scpviz.models.MLP`) and the §5.2
auto-encoder (:class:`~scpviz.models.AutoEncoder`, ReLU or LeakyReLU, with or without biases, a sigmoid output).
Run m's layer l is ``W[l][m] @ a + b[l][m]``; a batch of the whole ensemble is a tensor (M, B, features) — each run
its own inputs — and one batched matmul (:func:`torch.baddbmm`) per layer serves every run. Runs never mix: the
output of run m depends on run m's parameters and inputs only, so the gradient of Σ_m loss_m with respect to run
m's parameters is the gradient of loss_m (what lets one backward pass train M runs).

The importances of every run come from the same per-layer rules as :mod:`scpviz.importance` (one batched backward
to the layer outputs, then the factorised sums), with the run dimension carried along:

* EWC's F (eq 3–4, all classes weighted by p) and MAS's Ω (eq 7, squared or Aljundi et al.'s absolute form):
  Σ_n f(δ_n a_nᵀ) = f(δ)ᵀ f(a) per run, a batched matmul over runs;
* SCP's Γ (eq 19): Γ = Σ_v (r_vᵀ J̄)² with J̄ = ∂φ̄/∂θ, so per run and vector r_v the weight part of r_vᵀ J̄ is
  (1/N) Σ_n δ_{v,n} a_nᵀ — one batched matmul over (run, vector) pairs.

No Python loop over runs, samples or slices; the classes of the exact Fisher are handled together in the same way.
Memory is bounded by ``max_memory``: the samples (EWC, MAS) or the vectors r_v (SCP) are taken in chunks.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import methods
from ..models import MLP, AutoEncoder

__all__ = ["StackedMLP", "stacked_importance", "stacked_rule", "STACKABLE"]

#: the networks a stack can hold
STACKABLE = (MLP, AutoEncoder)


def _layout(model):
    """The linear layers of ``model`` in forward order, the hidden activation's negative slope (0 for ReLU) and
    the output head (None or ``"sigmoid"``); a TypeError for a network that is not such a chain."""
    leaves = [m for m in model.modules() if not list(m.children())]
    linears, after = [], []
    for i, m in enumerate(leaves):
        if isinstance(m, nn.Linear):
            nxt = leaves[i + 1] if i + 1 < len(leaves) else None
            linears.append(m)
            after.append(None if isinstance(nxt, nn.Linear) else nxt)
    slopes = set()
    for a in after[:-1]:
        if isinstance(a, nn.ReLU):
            slopes.add(0.0)
        elif isinstance(a, nn.LeakyReLU):
            slopes.add(float(a.negative_slope))
        else:
            raise TypeError(f"every hidden layer must end in a ReLU or LeakyReLU, got {a!r}.")
    if len(slopes) > 1:
        raise TypeError(f"the hidden activations differ ({sorted(slopes)}): a stack has one activation.")
    head = after[-1]
    if head is not None and not isinstance(head, nn.Sigmoid):
        raise TypeError(f"the output must be linear or a sigmoid, got {head!r}.")
    return linears, slopes.pop() if slopes else 0.0, None if head is None else "sigmoid"


class StackedMLP(torch.nn.Module):
    """M fully connected networks of one architecture, trained and evaluated as one model (parameters (M, ...)).

    Parameters
    ----------
    models : sequence of MLP or AutoEncoder
        The runs' networks at their initialisation (copied: the stack does not share storage with them).

    Attributes
    ----------
    weights, biases : nn.ParameterList
        Layer l's weights (M, out, in) and biases (M, out); ``biases`` is empty for networks without them.
    slope : float
        The hidden activation's negative slope: 0 for ReLU, 0.1 for the auto-encoder's LeakyReLU option.
    head : None or "sigmoid"
        What follows the last linear layer (the auto-encoder's sigmoid).

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
            raise ValueError("models is empty: pass the runs' networks (one per run).")
        if not all(isinstance(m, STACKABLE) for m in models):
            raise TypeError("models must be scpviz.models.MLP or AutoEncoder instances (the per-layer rules assume "
                            "a chain of linear layers).")
        if len({type(m) for m in models}) != 1 or len({tuple(p.shape for p in m.parameters()) for m in models}) != 1:
            raise ValueError("models must share one architecture (type and widths): stack runs of one experiment "
                             "budget only.")
        layouts = [_layout(m) for m in models]
        if len({(lay[1], lay[2], all(layer.bias is not None for layer in lay[0])) for lay in layouts}) != 1:
            raise ValueError("models must share one activation, output and bias setting.")
        linears, self.slope, self.head = layouts[0]
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.stack([lay[0][i].weight.detach() for lay in layouts]).clone())
            for i in range(len(linears)))
        self.biases = torch.nn.ParameterList(
            torch.nn.Parameter(torch.stack([lay[0][i].bias.detach() for lay in layouts]).clone())
            for i in range(len(linears)) if linears[i].bias is not None)
        self.in_features = linears[0].in_features
        self._names = [n for n, _ in models[0].named_parameters()]
        self._template = copy.deepcopy(models[0]).cpu()     # the architecture of run_model, not its values

    @property
    def n_runs(self) -> int:
        """M, the number of runs in the stack."""
        return self.weights[0].shape[0]

    @property
    def widths(self) -> list:
        """The output width of every linear layer, first to last."""
        return [w.shape[1] for w in self.weights]

    def names(self) -> list:
        """The parameter names of one run's network, in the order of :meth:`stacked_parameters`."""
        return list(self._names)

    def stacked_parameters(self) -> list:
        """[W₀, b₀, W₁, b₁, …] (or [W₀, W₁, …] without biases), each with the run dimension first (the order of
        :meth:`names`)."""
        if not len(self.biases):
            return list(self.weights)
        return [p for w, b in zip(self.weights, self.biases) for p in (w, b)]

    def run_model(self, m: int) -> torch.nn.Module:
        """Run ``m`` as an ordinary network of the stacked type (a copy), e.g. to save or to check it alone."""
        if not 0 <= m < self.n_runs:
            raise IndexError(f"m={m} is not a run of this stack (0 … {self.n_runs - 1}).")
        net = copy.deepcopy(self._template).to(device=self.weights[0].device, dtype=self.weights[0].dtype)
        with torch.no_grad():
            for p, q in zip(net.parameters(), self.stacked_parameters()):
                p.copy_(q[m])
        return net

    def select(self, idx) -> "StackedMLP":
        """A stack of runs ``idx`` of this one (detached copies of their parameters)."""
        sub = StackedMLP.__new__(StackedMLP)
        torch.nn.Module.__init__(sub)
        sub.slope, sub.head, sub.in_features = self.slope, self.head, self.in_features
        sub._names, sub._template = self._names, self._template
        sub.weights = torch.nn.ParameterList(torch.nn.Parameter(w.detach()[idx]) for w in self.weights)
        sub.biases = torch.nn.ParameterList(torch.nn.Parameter(b.detach()[idx]) for b in self.biases)
        return sub

    def _check(self, x):
        if x.ndim != 3 or x.shape[0] != self.n_runs or x.shape[2] != self.in_features:
            raise ValueError(f"x must have shape (runs={self.n_runs}, batch, {self.in_features}), got "
                             f"{tuple(x.shape)}: one batch per run, images flattened.")

    def activation(self, z):
        """The hidden activation: ReLU, or LeakyReLU of slope :attr:`slope`."""
        return torch.relu(z) if self.slope == 0.0 else F.leaky_relu(z, self.slope)

    def activation_grad(self, z):
        """Its derivative at ``z``: 1 where z > 0, else the slope (as autograd takes it, 0 at z = 0 for ReLU)."""
        one = torch.ones((), dtype=z.dtype, device=z.device)
        return torch.where(z > 0, one, one * self.slope)

    def output(self, z):
        """The network's output from the last layer's ``z`` (the head, if any)."""
        return z if self.head is None else torch.sigmoid(z)

    def forward_layers(self, x):
        """Outputs of every linear layer (before its activation), each (M, B, out)."""
        self._check(x)
        outs, a = [], x
        last = len(self.weights) - 1
        for i, w in enumerate(self.weights):
            z = torch.baddbmm(self.biases[i].unsqueeze(1), a, w.transpose(1, 2)) if len(self.biases) \
                else torch.bmm(a, w.transpose(1, 2))
            outs.append(z)
            a = self.activation(z) if i < last else z
        return outs

    def forward(self, x):
        """Outputs (M, B, out) of inputs (M, B, in_features): run m sees x[m] only."""
        return self.output(self.forward_layers(x)[-1])


def _factorised(stack, inputs, fsum, f):
    """Per run, Σ f(δ)ᵀ f(a) for each weight and Σ f(δ) for each bias, from each layer's f(δ) (M, N, out)."""
    out = []
    for a, fd in zip(inputs, fsum):
        out.append(torch.bmm(fd.transpose(1, 2), f(a)))
        if len(stack.biases):
            out.append(fd.sum(1))
    return out


def stacked_rule(method: str) -> str:
    """The batched rule of ``method`` (its row's ``stacked_rule`` in :mod:`scpviz.methods`); a clear error when it
    has none."""
    rule = methods.get(method).stacked_rule
    if rule is None:
        batched = [m for m in methods.names() if methods.get(m).stacked_rule]
        raise ValueError(f"method={method!r} has no batched importance rule: the ensemble computes {batched}.")
    return rule


def stacked_importance(stack, x, method, *, slices=None, n_slices=100, exact=False, seed=None, seeds=None,
                       max_memory=2 ** 30, scp_by="auto"):
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
    max_memory : int
        Bytes for the working tensors beyond the inputs: EWC and MAS take the samples, SCP the vectors r_v, in
        chunks that fit (the result does not depend on it beyond float rounding).
    scp_by : {"auto", "samples", "vectors"}
        SCP: sum r_vᵀ J̄ over chunks of samples (keeps V = min(K, L) copies of the weights) or take every sample at
        once and the vectors in chunks (keeps every layer's outputs on all N samples); ``"auto"``: whichever keeps
        less.

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
    if isinstance(max_memory, bool) or not isinstance(max_memory, int) or max_memory < 1:
        raise ValueError(f"max_memory={max_memory!r} must be a positive number of bytes.")
    M, N = x.shape[:2]
    x = x.detach()
    if rule == "scp":
        if seeds is None:
            seeds = [None if seed is None else seed + m for m in range(M)]
        if len(seeds) != M:
            raise ValueError(f"seeds has {len(seeds)} entries for {M} runs: one slice seed per run.")
        grads = _scp_vector_grads(stack, x, slices, n_slices, exact, seeds, max_memory, scp_by)
        return dict(zip(stack.names(), grads))
    f = torch.abs if rule == "mas_abs" else torch.square
    # per sample: the layer outputs z and inputs a, and δ, of every layer (and the graph): ~4 numbers per unit
    per_sample = 4 * M * (sum(stack.widths) + stack.in_features) * x.element_size()
    chunk = max(1, min(N, max_memory // per_sample))
    total = None
    for i in range(0, N, chunk):
        part = _factorised_sums(stack, x[:, i:i + chunk], rule, f)
        total = part if total is None else [t.add_(p) for t, p in zip(total, part)]
    return {n: g / N for n, g in zip(stack.names(), total)}


def _factorised_sums(stack, x, rule, f):
    """Σ over the samples of ``x`` of f(∂ℓ_n/∂θ) for every run (EWC: summed over the classes, weighted by p)."""
    with torch.enable_grad():
        zs = stack.forward_layers(x)
        inputs = [x] + [stack.activation(z).detach() for z in zs[:-1]]
        out = stack.output(zs[-1])
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
    return _factorised(stack, inputs, fsum, f)


@torch.no_grad()
def _scp_vector_grads(stack, x, slices, n_slices, exact, seeds, max_memory, by="auto"):
    """Γ of every run: Σ_v (r_vᵀ J̄)², r_v the rows of each run's S = Σ_v r_v r_vᵀ (see :mod:`scpviz.importance.scp`).

    The gradient of r_v · φ̄ at the last layer's output is r_v ⊙ h'(z_n) / N for sample n (h the output head, the
    identity or a sigmoid); it is carried back through the layers by hand (a product with Wᵀ and the activation's
    derivative per layer). ``by="samples"`` sums r_vᵀ J̄ over chunks of samples (it keeps V copies of the weights);
    ``by="vectors"`` takes every sample at once and the vectors in chunks (it keeps every layer's outputs on all N
    samples); ``"auto"`` picks the one that keeps less — the samples for permuted MNIST (V = 10), the vectors for
    the auto-encoders (V = L = 100 > the few thousand images of a digit would cost).
    """
    from ..distances import random_slices

    M, N = x.shape[:2]
    K = stack.weights[-1].shape[1]
    if exact:
        R = torch.eye(K, dtype=torch.float64).expand(M, K, K) / math.sqrt(K)
    else:
        if slices is None:
            slices = torch.stack([random_slices(n_slices, K, seed=s) for s in seeds])   # M small draws, no data
        slices = torch.as_tensor(slices)
        if slices.ndim != 3 or slices.shape[0] != M or slices.shape[2] != K:
            raise ValueError(f"slices must have shape (runs={M}, L, {K}), got {tuple(slices.shape)}.")
        R = _batched_scp_vectors(slices.to(torch.float64), K)
    R = R.to(device=x.device, dtype=x.dtype) / N                                          # (M, V, K), r_v / N
    V = R.shape[1]
    if by == "auto":
        n_params = sum(p[0].numel() for p in stack.stacked_parameters())
        by = "samples" if V * n_params < 3 * N * sum(stack.widths) else "vectors"
    if by not in ("samples", "vectors"):
        raise ValueError(f"scp_by={by!r} must be 'auto', 'samples' or 'vectors'.")
    size = x.element_size()
    if by == "samples":
        # per sample: δ of two layers for every vector, and the layer outputs, activations and their derivatives
        chunk = max(1, min(N, max_memory // (M * (2 * V * max(stack.widths) + 3 * sum(stack.widths)) * size)))
        sums_w = [torch.zeros((M, V) + w.shape[1:], dtype=w.dtype, device=w.device) for w in stack.weights]
        sums_b = [torch.zeros((M, V) + b.shape[1:], dtype=b.dtype, device=b.device) for b in stack.biases]
        for n0 in range(0, N, chunk):
            for i, delta, act in _backward(stack, x[:, n0:n0 + chunk], R):
                for v in range(V):      # Σ_n δ_{v,n} a_nᵀ, one batched matmul over the runs per vector
                    sums_w[i][:, v] += torch.bmm(delta[:, v].transpose(1, 2), act)
                if sums_b:
                    sums_b[i] += delta.sum(2)
        gw = [t.square().sum(1) for t in sums_w]
        gb = [t.square().sum(1) for t in sums_b]
    else:
        # two (M, chunk, N, width) tensors live at once: the δ of a layer and of the one below
        chunk = max(1, min(V, max_memory // (2 * M * N * max(stack.widths) * size)))
        gw = [torch.zeros_like(w) for w in stack.weights]
        gb = [torch.zeros_like(b) for b in stack.biases]
        terms = _layer_terms(stack, x)
        for v0 in range(0, V, chunk):
            for i, delta, act in _backward(stack, x, R[:, v0:v0 + chunk], terms):
                # Σ_v (r_vᵀ J̄)² for the weight: one batched matmul over the runs per vector r_v — 1.5x faster on a
                # CPU than one einsum over all vectors, which materialises (M, V, out, in)
                for v in range(delta.shape[1]):
                    gw[i] += torch.bmm(delta[:, v].transpose(1, 2), act).square()
                if gb:
                    gb[i] += delta.sum(2).square().sum(1)
    if not gb:
        return gw
    return [g for pair in zip(gw, gb) for g in pair]


def _layer_terms(stack, x):
    """Each layer's input a, the activation's derivative at each hidden layer, and the head's derivative h'(z)."""
    zs = stack.forward_layers(x)
    acts = [x] + [stack.activation(z) for z in zs[:-1]]
    grads_act = [stack.activation_grad(z) for z in zs[:-1]]
    head = None if stack.head is None else (lambda s: s * (1 - s))(torch.sigmoid(zs[-1]))   # (M, n, K)
    return acts, grads_act, head


def _backward(stack, x, R, terms=None):
    """``(layer, δ, a)`` from the last layer to the first: δ (M, V, n, out) the gradient of r_v · φ̄ at the layer's
    output for each sample of ``x`` and vector of ``R`` (M, V, K), a (M, n, in) the layer's input."""
    acts, grads_act, head = _layer_terms(stack, x) if terms is None else terms
    n = x.shape[1]
    delta = R.unsqueeze(2) * head.unsqueeze(1) if head is not None else R.unsqueeze(2).expand(-1, -1, n, -1)
    for i in range(len(stack.weights) - 1, -1, -1):
        yield i, delta, acts[i]
        if i > 0:
            delta = (delta @ stack.weights[i].unsqueeze(1)) * grads_act[i - 1].unsqueeze(1)


def _batched_scp_vectors(slices, K):
    """:func:`scpviz.importance.scp._scp_vectors` for every run at once: (M, min(K, L), K)."""
    L = slices.shape[1]
    if K <= L:
        S = slices.transpose(1, 2) @ slices / L
        evals, evecs = torch.linalg.eigh(S)
        return (evecs * evals.clamp_min(0.0).sqrt().unsqueeze(1)).transpose(1, 2)
    return slices / math.sqrt(L)
