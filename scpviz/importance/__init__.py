"""Synaptic importances: EWC's Fisher F, MAS's Ω and SCP's Γ (§2, §4, Algorithm 1).

Each function returns a dict ``name → tensor`` with one entry per *trainable*
parameter of the model, shaped like the parameter, holding the diagonal of the
importance matrix. The model is put in eval mode for the computation (BatchNorm
uses running statistics, Dropout is off) and every submodule's previous mode is
restored afterwards.

``data`` is any of: a tensor of inputs; a ``(x, y)`` *tuple* of two tensors
(inputs and integer labels of equal length); an iterable of batches, each ``x``
or ``(x, y)`` (a ``DataLoader``, a list); or a :class:`scpviz.datasets.Task`
(its *training* split). Tensors are cut into batches of ``batch_size``.

Conventions (where implementations in the wild differ)
------------------------------------------------------
* All three are **expectations over the data** (divided by N once), and SCP's
  slices are **unit vectors** (‖ξ‖ = 1 per slice).
* SCP squares the gradient **per slice, then averages over slices** (eq 19);
  averaging the projections first gives Γ/L in expectation.
* MAS ``"paper"`` uses squared gradients of ‖φ‖² (eq 7), ``"aljundi"`` the
  absolute gradients of the original MAS.

How it is fast
--------------
* Γ: ∂φ̄/∂θ is accumulated batch by batch (φ̄ is a mean), never holding a
  whole-dataset graph. Γ = diag(J̄ᵀ S J̄) with S = (1/L) Σ ξ_l ξ_lᵀ = R Rᵀ, so only
  min(K, L) vector–Jacobian products are needed per batch (R: a square-root
  factor of S when K ≤ L, the slices / √L otherwise), batched in one call.
* F and Ω need sums over samples of *squared per-sample* gradients. For
  ``nn.Linear`` layers fed 2-D inputs the per-sample gradient of the weight is
  the outer product δ_n a_nᵀ, so Σ_n w_n (δ_n a_nᵀ)² = (w·δ²)ᵀ(a²) and
  Σ_n |δ_n a_nᵀ| = |δ|ᵀ|a|: one batched backward, captured with hooks, no
  per-sample gradient ever materialised (what BackPACK's ``SumGradSquared``
  does). ``nn.Conv2d`` (groups 1) and eval-mode BatchNorm get their own exact
  per-sample rules from the same backward (unfolded patches, formed for a chunk
  of samples at a time). Any other model goes through a general ``torch.func``
  path (vmap of per-sample grads, in chunks); all are tested against per-sample
  loops.
"""


from .common import eval_mode, flatten_importance, iter_batches, trainable_parameters
from .fisher import FISHER_LABELS, fisher_importance
from .mas import MAS_FORMS, mas_importance
from .mas_abs import mas_abs_importance
from .agreement import rank_agreement, shape_agreement
from .neighbourhood import neighbourhood_importance
from .matrices import diagonal_participation, full_importance_matrices
from .scp import gamma_from_jacobian, mean_jacobian, scp_convergence, scp_importance, scp_importance_reference

__all__ = [
    "scp_importance",
    "scp_importance_reference",
    "fisher_importance",
    "mas_importance",
    "mas_abs_importance",
    "mean_jacobian",
    "gamma_from_jacobian",
    "diagonal_participation",
    "rank_agreement",
    "shape_agreement",
    "neighbourhood_importance",
    "full_importance_matrices",
    "scp_convergence",
    "flatten_importance",
    "trainable_parameters",
    "iter_batches",
    "eval_mode",
    "FISHER_LABELS",
    "MAS_FORMS",
]
