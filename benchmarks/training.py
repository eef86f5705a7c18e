"""Training-loop speed: the engine's epoch vs the bare compute of the same batches, vs a DataLoader pipeline;
and the live explorer's reduced run. Paper MLP, batch 100, Adam, this machine's CPU threads."""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from scpviz.continual import CLASSIFICATION, _train_epoch
from scpviz.models import MLP


def _mnist(n):
    from scpviz.data import load_mnist

    ds = load_mnist(device="cpu", verbose=False)
    reps = -(-n // len(ds.x_train))
    return torch.cat([ds.x_train] * reps)[:n], torch.cat([ds.y_train] * reps)[:n], ds.name


def bench_epoch(n=60000, hidden=(1024, 512, 256), batch=100, repeat=2):
    x_img, y, name = _mnist(n)
    x = x_img.flatten(1)
    perm = torch.randperm(784, generator=torch.Generator().manual_seed(1))
    xp = x[:, perm].contiguous()
    model = MLP(hidden=hidden, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    batches = [(xp[order[i:i + batch]], y[order[i:i + batch]]) for i in range(0, n, batch)]

    def bare(step):
        for xb, yb in batches:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xb), yb).backward()
            if step:
                opt.step()

    def engine():
        _train_epoch(model, xp, y, opt, CLASSIFICATION, batch, torch.Generator().manual_seed(0), None, False)

    def dataloader():
        from PIL import Image  # noqa: F401  (torchvision's ToTensor path works on PIL/ndarray)
        from torch.utils.data import DataLoader, Dataset
        from torchvision import transforms

        tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,)),
                                 transforms.Lambda(lambda t: t.view(-1)[perm])])
        imgs = (x_img[:, 0] * 255).to(torch.uint8).numpy()

        class PermutedMNIST(Dataset):
            def __len__(self):
                return n

            def __getitem__(self, i):
                return tf(imgs[i]), int(y[i])

        for xb, yb in DataLoader(PermutedMNIST(), batch_size=batch, shuffle=True):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xb), yb).backward()
            opt.step()

    times = {}
    for label, fn in (("bare fwd+bwd", lambda: bare(False)), ("bare fwd+bwd+Adam", lambda: bare(True)),
                      ("engine epoch", engine), ("DataLoader epoch", dataloader)):
        best = float("inf")
        for _ in range(repeat if label != "DataLoader epoch" else 1):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        times[label] = best
    e = times["engine epoch"]
    return [
        dict(metric=f"engine epoch ({n} {name} images) vs bare forward+backward", ours=e,
             baseline=times["bare fwd+bwd"], ratio=e / times["bare fwd+bwd"], diff=float("nan")),
        dict(metric="engine epoch vs bare forward+backward+Adam step", ours=e,
             baseline=times["bare fwd+bwd+Adam"], ratio=e / times["bare fwd+bwd+Adam"], diff=float("nan")),
        dict(metric="DataLoader (per-sample ToTensor/Normalize/permute) vs engine", ours=e,
             baseline=times["DataLoader epoch"], ratio=times["DataLoader epoch"] / e, diff=float("nan")),
    ]


def bench_live(repeat=1):
    """Wall time of the permuted-MNIST explorer's live run (widgets.LIVE_CONFIG), SCP with L = 100."""
    from scpviz import sweep
    from scpviz.widgets import LIVE_CONFIG

    cfg = sweep.permuted_mnist_config("scp", 100.0, seed=0, quick=True, n_slices=100, **LIVE_CONFIG)
    sweep.run_permuted_mnist(dict(cfg, n_tasks=1, epochs=1), device="cpu")  # warm-up: data load, first kernels
    t = time.perf_counter()
    for _ in range(repeat):
        sweep.run_permuted_mnist(cfg, device="cpu")
    dt = (time.perf_counter() - t) / repeat
    return [dict(metric="live explorer run (3 tasks, 2000 images, MLP 128-64, SCP L=100)", ours=dt, baseline=15.0,
                 ratio=dt / 15.0, diff=float("nan"))]


if __name__ == "__main__":  # pragma: no cover
    for r in bench_epoch() + bench_live():
        print(r)
    print(np.__version__)
