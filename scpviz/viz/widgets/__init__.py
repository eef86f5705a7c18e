"""Interactive views, one module per subject. Each factory returns an ``ipywidgets`` box for the notebook to display.

Pattern (see ``shared/STYLE.md``): sliders ``observe(..., names="value")`` and
redraw into an ``Output`` with ``clear_output(wait=True)``; anything that trains
uses ``continuous_update=False``. Each returned box exposes its controls and the
last figure as attributes (``box.slider``, ``box.figure``) so tests can drive it
by setting ``slider.value``.

Every explorer also carries stable CSS classes (:func:`~scpviz.viz.widgets.controls.tag`) so that the browser tests
(``tests/browser``) find its parts without depending on layout: ``scpviz-explorer`` and
``scpviz-<name>`` on the box, ``scpviz-main-slider`` on the control a learner drags first,
``scpviz-figure`` on the figure's ``Output``, ``scpviz-readout`` on a text readout that the main
slider changes, ``scpviz-toggle`` on toggle buttons that switch what is shown.
"""

from .continual import digit_browser, permuted_mnist_explorer, stability_plasticity_explorer
from .distances import convergence_explorer, landscape_explorer, slicing_explorer
from .grids import (autoencoder_explorer, domain_shift_explorer, segmentation_explorer, study_explorer,
                    superclass_explorer)
from .importance import importance_explorer, output_transform_explorer, riemannian_explorer

__all__ = ["stability_plasticity_explorer", "digit_browser", "landscape_explorer", "slicing_explorer",
           "convergence_explorer", "importance_explorer", "permuted_mnist_explorer", "output_transform_explorer",
           "riemannian_explorer", "autoencoder_explorer", "study_explorer", "domain_shift_explorer",
           "superclass_explorer", "segmentation_explorer"]
