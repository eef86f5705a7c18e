"""scpviz — Sliced Cramér Preservation, online-EWC and MAS, explained with notebooks.

Kolouri, Ketz, Soltoggio & Pilly, "Sliced Cramér synaptic consolidation for
preserving deeply learned representations", ICLR 2020.

Modules (imports flow downwards): ``config``, ``data`` → ``distances`` →
``importance`` → ``consolidation`` → ``continual`` → ``plots``, ``widgets`` → ``cli``.
"""

__version__ = "0.1.0"

from .config import budget, get_device, is_quick, seed_everything  # noqa: E402,F401
