"""scpviz — Sliced Cramér Preservation, online-EWC and MAS, explained with notebooks.

Kolouri, Ketz, Soltoggio & Pilly, "Sliced Cramér synaptic consolidation for
preserving deeply learned representations", ICLR 2020.

Layers (each imports only from the layers above it)::

    config                      modes (quick / teach / paper), device, seeds, data root, notebook budgets
    datasets, models            MNIST and its stand-in, task streams; the paper's networks
    distances                   §3  Cramér, Wasserstein, JS, sliced Cramér
    importance                  §2, §4  Fisher (EWC), Ω (MAS), Γ (SCP, Algorithm 1), per-sample rules
    methods                     the table of consolidation methods: importance, label, colour, order, λ scale
    consolidation, replay       eq 17 penalty, eq 20 merge, replay regularizers (eq 1, 6, 14) and on a buffer
    training                    the engine over task sequences; objectives, metrics, History
    ensemble                    many runs of an MLP experiment as one stacked model, importances of every run at once
    experiments                 the registry: one module per paper experiment (§5)
    sweeps                      grids, content-addressed cache, λ selection, export, backends (serial/processes/Ray)
    studies                     analyses beyond one sweep: the Figure 4 study of run variants × λ × remedies,
                                Figure 3b's importances compared over seeds
    teaching                    toy problems, Taylor checks, bug gallery, diagnostics
    viz                         style, plots and widgets by subject, Markdown tables, experiment figures, schematics
    cli, gallery, assignments   python -m scpviz list | run | sweep | study | info | gallery | assignments
"""

__version__ = "0.3.0"
__repo__ = "https://github.com/scpviz/scpviz"
# The install line of every notebook's first code cell (Colab): this repository at this version's tag.
# tests/test_packaging.py checks that the notebooks use exactly this line.
COLAB_INSTALL = f'%pip install -q "scpviz @ git+{__repo__}@v{__version__}"'

import warnings  # noqa: E402

# Third-party noise a learner cannot act on, filtered once here (and nothing else): torch's forward-mode AD
# (torch.func.jvp / hessian, used by teaching.taylor) loads decompositions that call the deprecated
# torch.jit.script, which warns from inside torch on first use.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning,
                        module=r"torch\.")

from .config import budget, get_device, get_mode, seed_everything  # noqa: E402,F401
