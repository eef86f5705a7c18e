"""SYNTHIA-SEQS (§5.3): the loader on sequences generated in exactly the dataset's layout and encoding (16-bit label
PNGs, class id in the first channel), and the stand-in written in that layout."""
import numpy as np
import png
import pytest
import torch
from PIL import Image

from scpviz.datasets import (SYNTHIA_CLASSES, SYNTHIA_STANDIN_NAME, find_synthia, load_dataset, load_synthia,
                             load_synthia_standin, read_label_png, write_png16, write_synthia_standin)
from scpviz.datasets import synthia as synthia_module
from scpviz.datasets.synthia import LABEL_DIR, RGB_DIR


@pytest.fixture(autouse=True)
def fresh_cache():
    synthia_module._CACHE.clear()
    yield
    synthia_module._CACHE.clear()


def _write_sequence(folder, n=6, h=8, w=12, seed=0):
    """n frames in SYNTHIA's layout: 8-bit RGB PNGs and 16-bit 3-channel label PNGs (ids 0–15 in channel 0, an
    instance id in channel 1), the labels written with pypng (independent of the package's writer)."""
    rng = np.random.default_rng(seed)
    (folder / RGB_DIR).mkdir(parents=True)
    (folder / LABEL_DIR).mkdir(parents=True)
    ids = rng.integers(0, 16, size=(n, h, w))
    rgb = rng.integers(0, 256, size=(n, 3, h, w), dtype=np.uint8)
    for t in range(n):
        Image.fromarray(rgb[t].transpose(1, 2, 0)).save(folder / RGB_DIR / f"{t:06d}.png")
        gt = np.stack([ids[t], rng.integers(0, 3000, size=(h, w)), np.zeros((h, w), int)], -1)
        with open(folder / LABEL_DIR / f"{t:06d}.png", "wb") as f:
            png.Writer(w, h, bitdepth=16, greyscale=False).write(f, gt.reshape(h, -1).tolist())
    return ids, rgb


def test_label_ids_survive_16_bits_where_pillow_loses_them(tmp_path):
    ids, _ = _write_sequence(tmp_path / "SYNTHIA-SEQS-01-SUMMER", n=1)
    path = tmp_path / "SYNTHIA-SEQS-01-SUMMER" / LABEL_DIR / "000000.png"
    got = read_label_png(path)
    assert torch.equal(got, torch.from_numpy(np.where(ids[0] <= 12, ids[0], 0)))      # ids > 12 → void
    eight_bit = np.asarray(Image.open(path))[..., 0]                                   # what Pillow gives
    assert not np.array_equal(eight_bit, ids[0])                                      # ... is not the ids
    with pytest.raises(ValueError, match="cannot decode"):
        (tmp_path / "bad.png").write_bytes(b"not a png")
        read_label_png(tmp_path / "bad.png")


def test_write_png16_reads_back_as_written(tmp_path):
    a = np.random.default_rng(1).integers(0, 65536, size=(5, 7, 3))
    write_png16(tmp_path / "a.png", a)
    w, h, rows, info = png.Reader(filename=str(tmp_path / "a.png")).read()
    assert (w, h, info["bitdepth"], info["planes"]) == (7, 5, 16, 3)
    assert np.array_equal(np.array([list(r) for r in rows]).reshape(5, 7, 3), a)
    b = a.copy()
    b[..., 0] %= 13
    write_png16(tmp_path / "b.png", b)
    assert torch.equal(read_label_png(tmp_path / "b.png"), torch.from_numpy(b[..., 0]))
    with pytest.raises(ValueError, match="rgb16"):
        write_png16(tmp_path / "c.png", np.zeros((2, 2)))


def test_load_synthia_on_a_generated_sequence(tmp_path):
    ids, rgb = _write_sequence(tmp_path / "SYNTHIA-SEQS-01-WINTER", n=6, h=16, w=24)
    assert find_synthia("winter", tmp_path) == tmp_path / "SYNTHIA-SEQS-01-WINTER" and find_synthia("summer", tmp_path) is None
    ds = load_dataset("synthia", sequence="winter", root=tmp_path, size=(16, 24), n_test=2, device="cpu")
    assert ds.name == "SYNTHIA-SEQS-01-WINTER" and ds.x_train.shape == (4, 3, 16, 24) and ds.y_test.shape == (2, 16, 24)
    assert torch.equal(ds.y_test[1], torch.from_numpy(np.where(ids[5] <= 12, ids[5], 0)))   # the last frames are test
    assert torch.allclose(ds.x_train[0], torch.from_numpy(rgb[0]).float() / 255)
    assert ds.extras["classes"] == list(SYNTHIA_CLASSES) and len(SYNTHIA_CLASSES) == 13
    small = load_synthia("winter", root=tmp_path, size=(8, 12), n_test=2, device="cpu")
    assert torch.equal(small.y_train[0], ds.y_train[0][::2, ::2])                           # nearest: ids kept
    with pytest.raises(ValueError, match="n_test=6"):
        load_synthia("winter", root=tmp_path, size=(16, 24), n_test=6, device="cpu")
    with pytest.raises(FileNotFoundError, match="SYNTHIA-SEQS-01-SUMMER"):
        load_synthia("summer", root=tmp_path)
    (tmp_path / "SYNTHIA-SEQS-01-WINTER" / LABEL_DIR / "000003.png").unlink()
    synthia_module._CACHE.clear()
    with pytest.raises(ValueError, match="000003.png"):
        load_synthia("winter", root=tmp_path, size=(16, 24), n_test=2, device="cpu")


def test_standin_is_deterministic_covers_the_classes_and_is_read_by_the_real_loader(tmp_path):
    a = write_synthia_standin(tmp_path / "a", n_frames=8, size=(32, 48), seed=3)
    b = write_synthia_standin(tmp_path / "b", n_frames=8, size=(32, 48), seed=3)
    for season in ("summer", "winter"):
        fa = sorted((a[season] / LABEL_DIR).glob("*.png"))
        assert len(fa) == 8 and all(p.read_bytes() == (b[season] / LABEL_DIR / p.name).read_bytes() for p in fa)
        assert (a[season] / RGB_DIR / "000007.png").read_bytes() == (b[season] / RGB_DIR / "000007.png").read_bytes()
    s = load_synthia_standin("summer", n_frames=8, size=(32, 48), n_test=2, root=tmp_path / "a", device="cpu")
    w = load_synthia_standin("winter", n_frames=8, size=(32, 48), n_test=2, root=tmp_path / "a", device="cpu")
    assert s.name == f"{SYNTHIA_STANDIN_NAME}, summer" and w.name.endswith("winter")
    present = torch.cat([s.y_train.flatten(), s.y_test.flatten()]).bincount(minlength=13)
    assert (present > 0).all(), f"every class appears: {present.tolist()}"
    # same street, other season: the labels mostly agree, the images do not (snow, grey sky, low contrast)
    assert (s.y_train == w.y_train).float().mean() > 0.9
    assert (s.x_train - w.x_train).abs().mean() > 0.1
    sky = s.y_train == 1
    assert s.x_train[:, 2][sky].mean() > w.x_train[:, 2][w.y_train == 1].mean() - 0.05   # a blue summer sky
    # what a colour means changes with the season: winter's road looks like summer's sidewalk, not like summer's road
    mean = lambda ds, c: ds.x_train.permute(1, 0, 2, 3)[:, ds.y_train == c].mean(1)   # noqa: E731
    ROAD, SIDEWALK = 3, 4
    assert (mean(w, ROAD) - mean(s, SIDEWALK)).norm() < 0.5 * (mean(w, ROAD) - mean(s, ROAD)).norm()
    with pytest.raises(ValueError, match="'summer' or 'winter'"):
        load_synthia_standin("autumn")


def test_standin_versions_differ_in_how_closely_winter_takes_summer_colours():
    """Version 2 (default) puts the winter road on a summer sidewalk's colour and the winter sky on a summer road's
    grey, more closely than version 1 (kept selectable, the first drawing, which forgot little); both differ."""
    import numpy as np

    from scpviz.datasets.synthia_standin import _PALETTE, _WINTER_V1, ROAD, SIDEWALK, SKY, draw_scene, standin_name

    summer = {k: np.array(v) for k, v in _PALETTE["summer"].items()}
    for winter_cls, summer_cls in ((ROAD, SIDEWALK), (SKY, ROAD)):
        d2 = np.linalg.norm(np.array(_PALETTE["winter"][winter_cls]) - summer[summer_cls])
        d1 = np.linalg.norm(np.array(_WINTER_V1[winter_cls]) - summer[summer_cls])
        assert d2 < d1 and d2 < 0.15, (winter_cls, d1, d2)
    a = draw_scene(48, 72, 5, "winter", np.random.default_rng(0), version=1)[0]
    b = draw_scene(48, 72, 5, "winter", np.random.default_rng(0), version=2)[0]
    assert np.abs(a - b).max() > 0.2
    assert standin_name(2) != standin_name(1) and "v1" in standin_name(1)
    with pytest.raises(ValueError, match="version=3"):
        draw_scene(8, 8, 0, "summer", np.random.default_rng(0), version=3)
