"""Second-order Taylor expansions of the replay regularizers, checked with numbers (§2, §3.3, supp. 8).

Each memory-replay regularizer R(θ) (eq 1, 6, 14) vanishes at θ* together with
its gradient, so R(θ* + εv) ≈ ½ ε² vᵀ H v with H its Hessian at θ*. The paper
identifies H with F (EWC), Ω (MAS, up to a factor ½) and Γ (SCP). This module
turns a model and replayed inputs into R as a function of the flat parameter
vector, so that torch.func can take exact Hessians, and sweeps ε along
directions to compare R with a quadratic form.

Everything here is meant for float64 and small networks (notebook 03).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.func import functional_call, hessian

from ..consolidation import kl_replay, mas_replay, sliced_cramer_replay
from ..importance import trainable_parameters

__all__ = ["FlatModel", "replay_regularizer", "directional_profile", "quadratic_form", "local_slopes",
           "translation_directions", "slice_density_weights", "random_unit_directions", "diagonal_ratio",
           "exact_hessian", "mean_preserving_directions", "flat_jacobian"]


class FlatModel:
    """A model viewed as a function of one flat parameter vector θ (for torch.func).

    Attributes
    ----------
    theta : Tensor, shape (M,)
        The current parameters, flattened (θ*).
    names, shapes : lists
        The flattening order.
    """

    def __init__(self, model):
        self.model = model
        params = trainable_parameters(model)
        self.names = list(params)
        self.shapes = [p.shape for p in params.values()]
        self.sizes = [p.numel() for p in params.values()]
        self.theta = torch.cat([p.detach().reshape(-1) for p in params.values()])

    def unflatten(self, theta) -> dict:
        """``{name: tensor}``: the flat vector ``theta`` cut and reshaped into the model's parameters."""
        return {n: t.reshape(s) for n, t, s in zip(self.names, torch.split(theta, self.sizes), self.shapes)}

    def __call__(self, theta, x):
        return functional_call(self.model, self.unflatten(theta), (x,))

    def index_of(self, name) -> slice:
        """Positions of parameter ``name`` in the flat vector."""
        start = 0
        for n, k in zip(self.names, self.sizes):
            if n == name:
                return slice(start, start + k)
            start += k
        raise ValueError(f"name={name!r} is not a trainable parameter; choose one of {self.names}.")


def replay_regularizer(flat: FlatModel, x, kind: str, slices=None, bandwidth=None):
    """R(θ) for replayed inputs ``x``, against the outputs at θ* = ``flat.theta``.

    kind : {"kl", "mas", "sc"}
        ``"kl"``: E_x KL(p_θ* ‖ p_θ) (eq 1); ``"mas"``: E_x ½(‖φ_θ‖² − ‖φ_θ*‖²)² (eq 6);
        ``"sc"``: SC₂²(p_Z(·|θ*), p_Z(·|θ)) with the given ``slices`` (eq 14), optionally
        kernel-smoothed with ``bandwidth``.
    """
    with torch.no_grad():
        ref = flat(flat.theta, x).detach()
    if kind == "kl":
        return lambda th: kl_replay(flat(th, x), ref)
    if kind == "mas":
        return lambda th: mas_replay(flat(th, x), ref)
    if kind == "sc":
        if slices is None:
            raise ValueError("kind='sc' needs slices (an L × K tensor of unit vectors).")
        return lambda th: sliced_cramer_replay(flat(th, x), ref, slices=slices, bandwidth=bandwidth)
    raise ValueError(f"kind={kind!r} must be 'kl', 'mas' or 'sc'.")


def directional_profile(R, theta, v, eps) -> np.ndarray:
    """R(θ + εv) for every ε (a float64 array)."""
    with torch.no_grad():
        return np.array([float(R(theta + float(e) * v)) for e in np.asarray(eps, dtype=float)])


def quadratic_form(M, v) -> float:
    """vᵀ M v."""
    return float(v @ (M @ v))


def local_slopes(eps, values) -> np.ndarray:
    """d log R / d log ε between consecutive ε (2 for a quadratic, 1 for a cusp |ε|)."""
    e, r = np.log(np.asarray(eps, float)), np.log(np.asarray(values, float))
    return np.diff(r) / np.diff(e)


def random_unit_directions(n, dim, seed=0, dtype=torch.float64) -> torch.Tensor:
    """``n`` random unit vectors in R^dim (rows), seeded."""
    g = torch.Generator().manual_seed(int(seed))
    v = torch.randn(n, dim, generator=g, dtype=dtype)
    return v / v.norm(dim=1, keepdim=True)


def translation_directions(flat: FlatModel, bias_name: str, n=3, seed=0) -> torch.Tensor:
    """Unit directions that move only the last layer's bias: pure translations of the output cloud."""
    idx = flat.index_of(bias_name)
    d = random_unit_directions(n, idx.stop - idx.start, seed=seed, dtype=flat.theta.dtype)
    out = torch.zeros(n, flat.theta.numel(), dtype=flat.theta.dtype)
    out[:, idx] = d
    return out


def slice_density_weights(phi, slices, bandwidth) -> torch.Tensor:
    """w_l = ∫ p_ξl(t)² dt for the kernel-smoothed projected output density on each slice.

    With p_ξ = (1/N) Σ_n N(·; ξ·φ_n, h²): w = (1/N²) Σ_{n,n'} N(ξ·φ_n − ξ·φ_n'; 0, 2h²). A translation of
    the outputs by δ moves slice l by s_l = ξ_l·δ and costs C₂² ≈ s_l² w_l: the smoothed SC₂² Hessian is
    2 J̄ᵀ ((1/L) Σ_l w_l ξ_l ξ_lᵀ) J̄ along translations — eq 19's Γ with per-slice weights.
    """
    proj = slices @ phi.T                                   # (L, N)
    d = proj[:, :, None] - proj[:, None, :]
    var = 2.0 * bandwidth ** 2
    return (torch.exp(-0.5 * d ** 2 / var) / math.sqrt(2 * math.pi * var)).mean((1, 2))


def diagonal_ratio(M, directions) -> np.ndarray:
    """vᵀ M v / vᵀ diag(M) v for each direction (1 where the diagonal approximation is exact)."""
    D = torch.diagonal(M)
    return np.array([quadratic_form(M, v) / float((D * v * v).sum()) for v in directions])


def exact_hessian(R, theta) -> torch.Tensor:
    """The exact M × M Hessian of R at θ (``torch.func.hessian``)."""
    return hessian(R)(theta)



def flat_jacobian(flat: FlatModel, jac: dict) -> torch.Tensor:
    """J̄ from :func:`scpviz.importance.mean_jacobian` as a K × M matrix in ``flat``'s order."""
    K = next(iter(jac.values())).shape[0]
    return torch.cat([jac[n].reshape(K, -1) for n in flat.names], dim=1)


def mean_preserving_directions(J, n=3, seed=0) -> torch.Tensor:
    """Unit directions v with J̄ v = 0: they change the outputs' *shape* but not their mean (vᵀ Γ v = 0)."""
    V = random_unit_directions(n, J.shape[1], seed=seed, dtype=J.dtype)
    P = torch.linalg.pinv(J @ J.T)
    V = V - (V @ J.T) @ P @ J
    return V / V.norm(dim=1, keepdim=True)
