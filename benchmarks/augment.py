"""Augmentation on the device (issue: CIFAR-100 super-classes): one epoch of random crop (pad 4) + horizontal flip +
Cutout 8 over N 32×32 RGB images in batches of 100 — our batched tensor ops on a device tensor
(:class:`scpviz.datasets.Augmentation`) against the straightforward pipeline, a torchvision ``DataLoader`` over a
``Dataset`` that applies ``transforms.v2`` (RandomCrop, RandomHorizontalFlip) and a per-image Cutout to each uint8
image (0 and 2 worker processes). Both sides produce float batches; medians of round-robin repeats in one process
(``python -m benchmarks.augment``). ``--train`` adds a WRN-10-0.5 training step to every batch (the end-to-end epoch).
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from .common import interleaved, table


class _Cutout(torch.nn.Module):
    """DeVries & Taylor's Cutout on one image tensor (their per-image formulation)."""

    def __init__(self, length):
        super().__init__()
        self.length = length

    def forward(self, img):
        h, w = img.shape[-2:]
        r, c = torch.randint(h, ()).item(), torch.randint(w, ()).item()
        half = self.length // 2
        img = img.clone()
        img[..., max(r - half, 0):min(r + half, h), max(c - half, 0):min(c + half, w)] = 0
        return img


class _Images(torch.utils.data.Dataset):
    def __init__(self, x_uint8, y, transform):
        self.x, self.y, self.transform = x_uint8, y, transform

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.transform(self.x[i]), self.y[i]


def _data(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g), torch.randint(0, 20, (n,),
                                                                                                generator=g)


def bench_augment(n=5000, batch_size=100, workers=(0, 2), repeat=5, train=False):
    """Rows: ours vs the DataLoader pipeline with each worker count (seconds per epoch; ratio = baseline / ours)."""
    from torchvision.transforms import v2

    from scpviz.datasets import Augmentation
    from scpviz.models import WideResNet

    x8, y = _data(n)
    x = x8.float() / 255 * 2 - 1                   # what the engine holds: floats on the device
    aug = Augmentation(crop_padding=4, flip=True, cutout=8)
    tf = v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(), v2.ToDtype(torch.float32, scale=True),
                     v2.Normalize([0.5] * 3, [0.5] * 3), _Cutout(8)])
    model = WideResNet(depth=10, widen_factor=0.5, n_classes=20, seed=0) if train else None
    opt = torch.optim.Adam(model.parameters(), 1e-3) if train else None

    def step(xb, yb):
        if model is not None:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()

    def ours():
        gen = torch.Generator().manual_seed(0)
        order = torch.randperm(n, generator=gen)
        s = 0.0
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            xb = aug(x[idx], gen)
            step(xb, y[idx])
            s += float(xb[0, 0, 0, 0])
        return s

    def loader(w):
        dl = torch.utils.data.DataLoader(_Images(x8, y, tf), batch_size=batch_size, shuffle=True, num_workers=w,
                                         generator=torch.Generator().manual_seed(0))

        def epoch():
            s = 0.0
            for xb, yb in dl:
                step(xb, yb)
                s += float(xb[0, 0, 0, 0])
            return s
        return epoch

    fns = {"ours": ours, **{f"loader{w}": loader(w) for w in workers}}
    t, _ = interleaved(fns, repeat=repeat)
    what = "crop+flip+Cutout" + (" + WRN-10-0.5 step" if train else "")
    return [{"metric": f"augmented epoch ({what}), {n} images, DataLoader workers={w}", "ours": t["ours"],
             "baseline": t[f"loader{w}"], "ratio": t[f"loader{w}"] / t["ours"], "diff": float("nan")}
            for w in workers]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.augment")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--train", action="store_true", help="also a WRN-10-0.5 training step per batch")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args(argv)
    if args.smoke:
        rows = bench_augment(n=200, workers=(0,), repeat=1)
    else:
        rows = bench_augment(n=args.n, repeat=args.repeat, train=args.train)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(table([[r["metric"], f"{r['ours']:.3g} s", f"{r['baseline']:.3g} s", f"{r['ratio']:.1f}x"] for r in rows],
                ["metric", "ours (batched, on the device)", "torchvision DataLoader", "ratio"]))
    return rows


if __name__ == "__main__":
    main()
