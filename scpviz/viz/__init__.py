"""Pictures and interactive views: ``plots`` (matplotlib, one colour per method everywhere; no maths here),
``figures`` (an experiment's declared figures from a sweep's results) and ``widgets`` (ipywidgets explorers)."""
