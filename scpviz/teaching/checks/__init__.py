"""Checkers for course assignments and the notebooks' exercises: each takes a student's function and either
returns True or raises an ``AssertionError`` whose message names the likely mistake.

Every checker builds its own inputs (several sizes, float64, and a network with Dropout and BatchNorm so that
train-mode mistakes show; networks are handed over in train mode with stale gradients in ``.grad``, as they are
right after training), compares with this package's tested implementation, and when the answer is wrong,
compares it with the known bugs of public code (:mod:`scpviz.teaching.bugs` and the variants in the checkers) to
say which one it looks like. Nothing here is used for training.

One module per subject:

common
    Shared machinery: calling the student's code, comparing, naming the mistake; the checkers' networks.
exercises
    The notebooks' "Your turn" exercises: :func:`try_exercise`, :func:`reveal` and their small checkers.
distances
    Cramér of two samples, sliced Cramér (eq 13), Jensen–Shannon between boxes (assignment 01).
importance
    Γ (eq 19), the exact Fisher, Ω (eq 7), the averaged-slices mistake and its bias (assignment 02).
consolidation
    The eq 20 merge, the eq 17 penalty and an online-EWC loop's record (notebook 05, assignment 03).
selection
    Choosing λ on validation (assignment 04).
blind_spot
    The blind mask, resetting entries to θ* and the blind-reset test (notebook 07, assignment 05).

Every name is re-exported here: notebooks and assignments call ``checks.check_...``.
"""

from .blind_spot import check_blind_mask, check_blind_reset_test, check_reset_entries
from .common import checker_models
from .consolidation import check_consolidation_run, check_online_merge, check_penalty
from .distances import check_cramer_samples, check_js_at, check_sliced_cramer
from .exercises import (check_blind_fraction, check_choose_lambda, check_cramer_from_cdfs, check_forgetting,
                        check_gamma_relative_sd, check_kl_replay, check_mas_replay, reveal, try_exercise)
from .importance import (check_averaged_first, check_bias, check_fisher_importance, check_mas_importance,
                         check_scp_importance)
from .selection import check_choose_on_validation

__all__ = ["check_sliced_cramer", "check_scp_importance", "check_fisher_importance", "check_mas_importance",
           "check_online_merge", "check_penalty", "check_forgetting", "checker_models",
           "check_cramer_from_cdfs", "check_gamma_relative_sd", "check_kl_replay", "check_mas_replay",
           "check_choose_lambda", "check_blind_fraction", "try_exercise", "reveal",
           "check_cramer_samples", "check_js_at", "check_averaged_first", "check_bias", "check_consolidation_run",
           "check_choose_on_validation", "check_blind_mask", "check_reset_entries", "check_blind_reset_test"]
