"""The printed-digits stand-in for SVHN: deterministic from its seed, shaped like SVHN as the loader gives it, and
with the properties of SVHN it was designed to imitate (decided before any grid ran on it; see its module notes)."""
import numpy as np
import pytest
import torch

from scpviz.datasets import PRINTED_DIGITS_NAME, load_dataset, load_printed_digits, printed_digits_properties
from scpviz.datasets.printed_digits import FONT_FILES, glyph_atlas


def test_every_face_draws_every_digit_distinctly():
    atlas = glyph_atlas()
    assert atlas.shape == (len(FONT_FILES), 10, 64, 64) and len(FONT_FILES) == 19
    ink = atlas.flatten(2).sum(-1)
    assert (ink > 50).all(), "a face drew an empty digit"
    # within a face the ten digits differ; across faces one digit differs (they are different typefaces)
    for f in range(len(FONT_FILES)):
        d = torch.cdist(atlas[f].flatten(1), atlas[f].flatten(1))
        assert (d + torch.eye(10) * 1e9).min() > 1.0
    assert torch.cdist(atlas[:, 3].flatten(1), atlas[:, 3].flatten(1)).add(torch.eye(len(FONT_FILES)) * 1e9).min() > 0.5


def test_shape_range_determinism_and_name():
    a = load_printed_digits(300, 100, seed=3, device="cpu")
    assert a.name == PRINTED_DIGITS_NAME and a.x_train.shape == (300, 1, 32, 32) and a.x_test.shape == (100, 1, 32, 32)
    assert 0.0 <= float(a.x_train.min()) and float(a.x_train.max()) <= 1.0
    assert set(a.y_train.tolist()) == set(range(10))
    c = load_printed_digits(300, 100, seed=4, device="cpu")
    assert not torch.equal(a.x_train, c.x_train) and not torch.equal(a.x_train[:100], a.x_test)
    assert load_dataset("printed_digits", n_train=300, n_test=100, seed=3, device="cpu") is a
    with pytest.raises(ValueError, match="n_train=0"):
        load_printed_digits(0, 10)


def test_an_image_depends_on_the_seed_and_its_index_only():
    a = load_printed_digits(250, 20, seed=1, device="cpu")
    b = load_printed_digits(1300, 30, seed=1, device="cpu")        # more images, across a chunk boundary
    assert torch.equal(a.x_train, b.x_train[:250]) and torch.equal(a.x_test, b.x_test[:20])
    assert torch.equal(a.y_train, b.y_train[:250])


def test_the_properties_of_svhn_it_imitates():
    """Decided before any grid: all 19 faces for every digit; either polarity (lighter share 0.35-0.65); a partial
    neighbouring digit in at least half the images; every digit about equally often (SVHN's imbalance is not
    imitated)."""
    p = printed_digits_properties(load_printed_digits(4000, 500, seed=0, device="cpu"))
    assert p["faces"] == 19 and p["faces_per_digit"] == 19
    assert 0.35 <= p["lighter_share"] <= 0.65
    assert p["neighbour_share"] >= 0.5
    assert np.allclose(p["label_shares"], 0.1, atol=0.02)


def test_the_readme_numbers_of_the_forgetting_check_are_the_shipped_runs():
    """One teach-budget run without consolidation per stand-in (shipped): on printed digits MNIST is forgotten, on
    MNIST-M hardly; the README quotes these files."""
    from pathlib import Path

    from scpviz import sweeps

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    finals = {}
    for second in ("printed_digits", "mnist_m"):
        runs, command = sweeps.shipped_results(f"mnist_svhn_{second}_none_teach")
        (cfg, h), = runs
        assert cfg["second"] == second and cfg["method"] == "none" and f"--second {second}" in command
        finals[second] = h.final_matrix()
    p, m = finals["printed_digits"], finals["mnist_m"]
    assert p[0, 0] - p[1, 0] > 0.02 > m[0, 0] - m[1, 0]
    assert (f"MNIST falls from {100 * p[0, 0]:.1f} % to {100 * p[1, 0]:.1f} %" in readme
            and f"learned to {100 * p[1, 1]:.1f} %" in readme and f"it falls only to {100 * m[1, 0]:.1f} %" in readme)
