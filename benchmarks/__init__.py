"""Performance measurements of scpviz's hot paths, as ratios against the straightforward version.

Run ``python -m benchmarks`` (full sizes, minutes) or ``python -m benchmarks --smoke`` (tiny, seconds;
CI runs this through ``tests/test_benchmarks.py`` so the scripts cannot rot).
"""
