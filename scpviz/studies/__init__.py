"""One-off analyses that go beyond a sweep of one experiment: grids of run *variants*, crossed with λ and seeds,
read into their own rows.

``figure4``: why consolidation does not help the sequential auto-encoders (§5.2, Figure 4) — run variants ×
λ × remedies on a CPU budget (``python -m scpviz study figure4``; notebook 07b).
"""

from . import figure4

__all__ = ["figure4"]
