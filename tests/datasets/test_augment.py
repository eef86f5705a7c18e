"""Batched crop / flip / Cutout against torchvision's functional ops on the same random draws, image by image, and
Cutout against DeVries & Taylor's mask rule written out as a loop."""

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from scpviz.datasets import Augmentation, cutout, random_crop, random_flip


@pytest.fixture
def batch():
    return torch.rand(7, 3, 12, 10, generator=torch.Generator().manual_seed(0))


def test_random_crop_equals_torchvision_pad_then_crop(batch):
    g = torch.Generator().manual_seed(1)
    offsets = torch.randint(0, 9, (7, 2), generator=g)
    out = random_crop(batch, padding=4, offsets=offsets)
    for n in range(7):
        top, left = offsets[n].tolist()
        want = TF.crop(TF.pad(batch[n], [4, 4, 4, 4], fill=0), top, left, 12, 10)
        assert torch.equal(out[n], want)
    # drawn offsets: the same generator state gives the same crops; every offset in [0, 8] occurs
    a = random_crop(batch, 4, torch.Generator().manual_seed(5))
    assert torch.equal(a, random_crop(batch, 4, torch.Generator().manual_seed(5)))
    drawn = torch.randint(0, 9, (7, 2), generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, random_crop(batch, 4, offsets=drawn))
    assert torch.equal(random_crop(batch, 0), batch)
    with pytest.raises(ValueError, match="offsets"):
        random_crop(batch, 4, offsets=torch.full((7, 2), 9))
    with pytest.raises(ValueError, match="padding"):
        random_crop(batch, -1)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        random_crop(batch[0], 4)


def test_random_flip_equals_torchvision(batch):
    flips = torch.tensor([True, False, True, True, False, False, True])
    out = random_flip(batch, flips=flips)
    for n in range(7):
        assert torch.equal(out[n], TF.horizontal_flip(batch[n]) if flips[n] else batch[n])
    drawn = random_flip(batch, torch.Generator().manual_seed(2))
    want = torch.rand(7, generator=torch.Generator().manual_seed(2)) < 0.5
    assert torch.equal(drawn, random_flip(batch, flips=want))


def test_cutout_zeroes_the_clipped_square():
    x = torch.ones(4, 2, 10, 10)
    centers = torch.tensor([[5, 5], [0, 0], [9, 3], [2, 8]])
    out = cutout(x, length=4, centers=centers)
    for n, (r, c) in enumerate(centers.tolist()):
        mask = torch.ones(10, 10)                      # DeVries & Taylor: y1 = clip(y - L/2), y2 = clip(y + L/2)
        mask[max(r - 2, 0):min(r + 2, 10), max(c - 2, 0):min(c + 2, 10)] = 0
        assert torch.equal(out[n], mask.expand(2, 10, 10))
    assert (out[0] == 0).sum() == 2 * 16 and (out[1] == 0).sum() == 2 * 4   # inside: L², a corner: (L/2)²
    assert torch.equal(cutout(x, 0), x)
    centers_drawn = cutout(x, 4, torch.Generator().manual_seed(3))
    assert ((centers_drawn == 0).sum((1, 2, 3)) > 0).all()


def test_augmentation_composes_crop_flip_cutout_from_one_generator(batch):
    aug = Augmentation(crop_padding=2, flip=True, cutout=4)
    out = aug(batch, torch.Generator().manual_seed(9))
    g = torch.Generator().manual_seed(9)
    want = cutout(random_flip(random_crop(batch, 2, g), g), 4, g)
    assert torch.equal(out, want) and out.shape == batch.shape
    with pytest.raises(ValueError, match="cutout"):
        Augmentation(cutout=-2)
    with pytest.raises(ValueError, match="flip"):
        Augmentation(flip=1)
