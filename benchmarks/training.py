"""Training-loop speed: the engine's epoch vs the bare compute of the same batches, vs a DataLoader pipeline;
and the live explorer's reduced run. Paper MLP, batch 100, Adam, this machine's CPU threads."""

from __future__ import annotations


import torch
import torch.nn.functional as F

from scpviz.training import CLASSIFICATION, adam
from scpviz.training.engine import _train_epoch
from scpviz.models import MLP

from .common import interleaved


def _mnist(n):
    from scpviz.datasets import load_mnist

    ds = load_mnist(device="cpu", verbose=False)
    reps = -(-n // len(ds.x_train))
    return torch.cat([ds.x_train] * reps)[:n], torch.cat([ds.y_train] * reps)[:n], ds.name


def _dataloader_epoch(model, opt, n, batch, x_img=None, y=None, perm=None):
    """The way course notebooks usually train: a torchvision ``DataLoader`` over a ``Dataset`` whose
    ``__getitem__`` applies ``ToTensor``, ``Normalize`` and the task's pixel permutation to one uint8 image.
    Returns a function that runs one epoch."""
    from torch.utils.data import DataLoader, Dataset
    from torchvision import transforms

    if x_img is None:
        x_img, y, _ = _mnist(n)
    if perm is None:
        perm = torch.randperm(784, generator=torch.Generator().manual_seed(1))
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,)),
                             transforms.Lambda(lambda t: t.view(-1)[perm])])
    imgs = (x_img[:, 0] * 255).to(torch.uint8).numpy()

    class PermutedMNIST(Dataset):
        def __len__(self):
            return n

        def __getitem__(self, i):
            return tf(imgs[i]), int(y[i])

    def epoch():
        for xb, yb in DataLoader(PermutedMNIST(), batch_size=batch, shuffle=True):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
    return epoch


def bench_epoch(n=60000, hidden=(1024, 512, 256), batch=100, repeat=5):
    x_img, y, name = _mnist(n)
    x = x_img.flatten(1)
    perm = torch.randperm(784, generator=torch.Generator().manual_seed(1))
    xp = x[:, perm].contiguous()
    model = MLP(hidden=hidden, seed=0)
    opt = adam(model.parameters(), 1e-4)
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

    dataloader = _dataloader_epoch(model, opt, n, batch, x_img=x_img, y=y, perm=perm)

    times, _ = interleaved({"bare fwd+bwd": lambda: bare(False), "bare fwd+bwd+Adam": lambda: bare(True),
                            "engine epoch": engine, "DataLoader epoch": dataloader}, repeat)
    e = times["engine epoch"]
    return [
        dict(metric=f"engine epoch ({n} {name} images) vs bare forward+backward", ours=e,
             baseline=times["bare fwd+bwd"], ratio=e / times["bare fwd+bwd"], diff=float("nan")),
        dict(metric="engine epoch vs bare forward+backward+Adam step", ours=e,
             baseline=times["bare fwd+bwd+Adam"], ratio=e / times["bare fwd+bwd+Adam"], diff=float("nan")),
        dict(metric="DataLoader (per-sample ToTensor/Normalize/permute) vs engine", ours=e,
             baseline=times["DataLoader epoch"], ratio=times["DataLoader epoch"] / e, diff=float("nan")),
    ]


def bench_live(repeat=5):
    """Wall time of the permuted-MNIST explorer's live run (the experiment's quick budget), SCP with L = 100."""
    from scpviz import experiments

    exp = experiments.get("permuted_mnist")
    cfg = exp.config("scp", 100.0, seed=0, mode="quick", **exp.live)
    t, _ = interleaved({"live": lambda: exp.run(cfg, device="cpu")}, repeat,
                       warmup={"live": lambda: exp.run(dict(cfg, n_tasks=1, epochs=1), device="cpu")})
    dt = t["live"]
    return [dict(metric="live explorer run (5 tasks × 3 epochs × 4000 images, MLP 512-256, SCP L=100)", ours=dt,
                 baseline=15.0,
                 ratio=dt / 15.0, diff=float("nan"))]


def autoencoder_epoch_fns(model, x, opt, batch=100, sync=lambda: None):
    """``{"bare", "bare+Adam", "engine"}`` → callables: one epoch of ``x`` through the auto-encoder as bare
    forward+backward (with / without the Adam step) over pre-cut batches, and as the engine's epoch.
    ``sync`` is called at the end of each (``torch.cuda.synchronize`` on a GPU)."""
    from scpviz.training import RECONSTRUCTION

    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0)).to(x.device)
    batches = [x[order[i:i + batch]] for i in range(0, len(x), batch)]

    def bare(step):
        for xb in batches:
            opt.zero_grad(set_to_none=True)
            RECONSTRUCTION.loss(model(xb), xb, None).backward()
            if step:
                opt.step()
        sync()

    def engine():
        _train_epoch(model, x, None, opt, RECONSTRUCTION, batch, torch.Generator().manual_seed(0), None, False)
        sync()

    return {"bare": lambda: bare(False), "bare+Adam": lambda: bare(True), "engine": engine}


def bench_epoch_autoencoder(n=None, hidden=(1024, 1024, 1024), code=256, batch=100, repeat=5, digit=2):
    """One epoch of one digit for the paper's auto-encoder (notebook 07): the engine vs the bare
    forward+backward (and +Adam) of the same batches."""
    from scpviz.datasets import digit_tasks, load_mnist
    from scpviz.models import AutoEncoder

    task = digit_tasks(load_mnist(device="cpu", verbose=False), order=[digit])[0]
    x = task.x_train if n is None else task.x_train[:n]
    model = AutoEncoder(hidden=hidden, code=code, seed=0)
    times, _ = interleaved(autoencoder_epoch_fns(model, x, adam(model.parameters(), 1e-4), batch), repeat)
    e = times["engine"]
    return [dict(metric=f"auto-encoder epoch, one digit ({len(x)} images) vs bare forward+backward", ours=e,
                 baseline=times["bare"], ratio=e / times["bare"], diff=float("nan")),
            dict(metric="  same vs bare forward+backward+Adam step", ours=e, baseline=times["bare+Adam"],
                 ratio=e / times["bare+Adam"], diff=float("nan"))]
