"""One-off analyses that go beyond a sweep of one experiment: grids of run *variants*, crossed with λ and seeds,
read into their own rows.

``figure3b``: are EWC's and MAS's importances alike and SCP's different (§5.1, Figure 3b)? Spearman's ρ, KS
distance and histogram overlap over seeds (``python -m scpviz study figure3b``; notebooks 05 and 06).

``figure4``: why consolidation does not help the sequential auto-encoders (§5.2, Figure 4) — run variants ×
λ × remedies on a CPU budget (``python -m scpviz study figure4``; notebook 07b).
"""

from . import figure3b, figure4

__all__ = ["figure3b", "figure4"]
