"""Task streams built from datasets by tensor indexing: permuted MNIST (§5.1), single digits (§5.2), two image
domains (MNIST → SVHN, supplementary §8.4), CIFAR-100's super-classes (supplementary §8.5)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .images import ImageDataset, Task
from .mnist import load_mnist


def _check_count(n, arg: str, available: int) -> int:
    if n is None:
        return available
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{arg}={n!r} must be a positive integer or None (all {available}).")
    return min(int(n), available)


def _subset_split(x, y, n_train, n_val, seed):
    """Seeded random subset of the training images, with validation held out of it."""
    n_avail = len(x)
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)) or n_val < 0:
        raise ValueError(f"n_val={n_val!r} must be a non-negative integer.")
    if n_val >= n_avail:
        raise ValueError(f"n_val={n_val} leaves no training images (only {n_avail} available).")
    n_train = _check_count(n_train, "n_train", n_avail - n_val)
    g = torch.Generator().manual_seed(int(seed) + 7919)
    order = torch.randperm(n_avail, generator=g).to(x.device)
    val_idx, tr_idx = order[:n_val], order[n_val:n_val + n_train]
    return x[tr_idx], y[tr_idx], (x[val_idx] if n_val else None), (y[val_idx] if n_val else None)


def permutations(n_tasks: int, dim: int = 784, seed: int = 0, identity_first: bool = True) -> torch.Tensor:
    """Fixed pixel permutations of the permuted-MNIST stream (§5.1).

    Parameters
    ----------
    n_tasks : int
    dim : int
        Number of pixels.
    seed : int
        Same seed → same permutations, on any machine.
    identity_first : bool
        Task 0 keeps the original images.

    Returns
    -------
    Tensor, shape (n_tasks, dim), int64

    Examples
    --------
    >>> P = permutations(3, dim=5, seed=0)
    >>> P[0].tolist()
    [0, 1, 2, 3, 4]
    >>> bool(torch.equal(P, permutations(3, dim=5, seed=0)))
    True
    """
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, (int, np.integer)) or n_tasks < 1:
        raise ValueError(f"n_tasks={n_tasks!r} must be a positive integer.")
    if dim < 2:
        raise ValueError(f"dim={dim!r} must be at least 2.")
    g = torch.Generator().manual_seed(int(seed))
    perms = [torch.randperm(dim, generator=g) for _ in range(n_tasks)]
    if identity_first:
        perms[0] = torch.arange(dim)
    return torch.stack(perms)


def permuted_mnist_tasks(dataset: ImageDataset | None = None, n_tasks: int = 10, seed: int = 0,
                         identity_first: bool = True, n_train: int | None = None,
                         n_test: int | None = None, n_val: int = 0, subset_seed: int = 0,
                         lazy: bool = False) -> list[Task]:
    """The permuted-MNIST stream (§5.1): each task permutes the pixels with a fixed permutation.

    Inputs are flattened to 784-vectors (the paper's MLP); the permutation is
    applied once with tensor indexing on the device.

    Parameters
    ----------
    dataset : ImageDataset, optional
        Default :func:`load_mnist` (which may fall back to the digits, with a notice).
    n_tasks, seed, identity_first
        See :func:`permutations`.
    n_train, n_test : int, optional
        Seeded random subsets (quick mode); default all images.
    n_val : int
        Training images held out for validation (the same images in every task,
        permuted like it); never taken from the test split.
    subset_seed : int
        Seed of the subset / validation split.
    lazy : bool
        Every task holds the same *unpermuted* images (no copy per task) and its permutation in
        ``meta["lazy_permutation"]``: for :func:`scpviz.ensemble.train_ensemble`, which permutes each batch as it
        uses it (ten tasks at the paper's budget: 1.7 GB of copies less per run). Other trainers refuse such tasks.
    """
    ds = load_mnist() if dataset is None else dataset
    x_tr = ds.x_train.flatten(1)
    x_tr, y_tr, x_val, y_val = _subset_split(x_tr, ds.y_train, n_train, n_val, subset_seed)
    n_te = _check_count(n_test, "n_test", len(ds.x_test))
    x_te, y_te = ds.x_test.flatten(1)[:n_te], ds.y_test[:n_te]
    perms = permutations(n_tasks, dim=x_tr.shape[1], seed=seed, identity_first=identity_first)
    tasks = []
    for t, perm in enumerate(perms):
        p = perm.to(x_tr.device)
        if lazy:
            tasks.append(Task(name=f"perm {t}", dataset=ds.name, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te,
                              x_val=x_val, y_val=y_val,
                              meta={"permutation": perm, "lazy_permutation": p, "index": t, "seed": seed}))
            continue
        tasks.append(Task(
            name=f"perm {t}", dataset=ds.name,
            x_train=x_tr[:, p], y_train=y_tr, x_test=x_te[:, p], y_test=y_te,
            x_val=None if x_val is None else x_val[:, p], y_val=y_val,
            meta={"permutation": perm, "index": t, "seed": seed},
        ))
    return tasks


def digit_tasks(dataset: ImageDataset | None = None, order: Sequence[int] = (2, 7, 4, 0, 9, 1, 6, 5, 8, 3),
                flatten: bool = True, n_train: int | None = None, n_test: int | None = None,
                n_val: int = 0, subset_seed: int = 0) -> list[Task]:
    """The single-digit stream for sequential auto-encoders (§5.2).

    Task ``t`` holds only the images of digit ``order[t]``; targets are
    ``None`` (the input is its own target).

    Parameters
    ----------
    order : sequence of int
        Distinct digits 0–9; the paper's example order is the default.
    flatten : bool
        784-vectors (the paper's fully connected auto-encoder) or 1×28×28 images.
    n_train, n_test, n_val, subset_seed
        Per-digit subset sizes, as in :func:`permuted_mnist_tasks`.
    """
    ds = load_mnist() if dataset is None else dataset
    order = list(order)
    if not order:
        raise ValueError("order is empty: give at least one digit, e.g. order=(2, 7, 4).")
    for d in order:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d <= 9:
            raise ValueError(f"order contains {d!r}: digits must be integers 0-9.")
    if len(set(order)) != len(order):
        raise ValueError(f"order={order} repeats a digit: each digit may appear once.")
    tasks = []
    for t, d in enumerate(order):
        x_tr = ds.x_train[ds.y_train == d]
        x_te = ds.x_test[ds.y_test == d]
        if flatten:
            x_tr, x_te = x_tr.flatten(1), x_te.flatten(1)
        dummy = torch.zeros(len(x_tr), dtype=torch.int64, device=x_tr.device)
        x_tr, _, x_val, _ = _subset_split(x_tr, dummy, n_train, n_val, subset_seed + d)
        x_te = x_te[:_check_count(n_test, "n_test", len(x_te))]
        tasks.append(Task(name=f"digit {d}", dataset=ds.name, x_train=x_tr, y_train=None,
                          x_test=x_te, y_test=None, x_val=x_val, y_val=None,
                          meta={"digit": int(d), "index": t}))
    return tasks


def pool_images(x: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """Average-pool square images (N×784, N×28×28 or N×1×28×28) by ``factor`` and flatten (28×28 → 7×7 = 49).

    For *tiny* networks whose full M × M importance matrices fit in memory (notebooks 03–05).
    """
    n = len(x)
    side = int(round((x[0].numel()) ** 0.5))
    if side * side != x[0].numel() or side % factor:
        raise ValueError(f"images of {x[0].numel()} pixels cannot be pooled by factor={factor}.")
    return F.avg_pool2d(x.reshape(n, 1, side, side), factor).flatten(1)


def _fit_images(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 1, s, s) in [0, 1] → (N, 1, size, size) in [−1, 1] (bilinear resize, then (x − 0.5) / 0.5)."""
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"images must be (N, 1, H, W) grayscale, got shape {tuple(x.shape)}.")
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp_(0, 1)
    return x * 2.0 - 1.0


def domain_shift_tasks(first: ImageDataset, second: ImageDataset, size: int = 32, n_train: int | None = None,
                       n_val: int = 0, n_test: int | None = None, subset_seed: int = 0,
                       shared_images: bool = False, name: str | None = None) -> list[Task]:
    """Two classification tasks on two image domains with the same labels: MNIST → SVHN (supplementary §8.4).

    As the authors' loader (lihr04/corel2m, ``utils/svhn_mnist_loader.py``): grayscale images resized to
    ``size``×``size`` (bilinear) and normalised to [−1, 1] (``Normalize([.5], [.5])``).

    Parameters
    ----------
    first, second : ImageDataset
        Grayscale (N, 1, H, W) images in [0, 1] with labels 0–9.
    size : int
    n_train, n_val, n_test : int, optional
        Per task: a seeded random training subset with ``n_val`` validation images held out of the *training*
        images, and the first ``n_test`` test images; ``None`` = all available.
    subset_seed : int
    shared_images : bool
        ``second`` is made from the same images as ``first`` (the MNIST-M stand-in: image i of both is the same
        digit). Task 2 then draws its training, validation and test images from indices task 1 does not use, so no
        digit is seen twice; each task gets at most half of the images.
    name : str, optional
        The stream's dataset name, stored in both tasks (and so in every History); default
        ``"<first> → <second>"``.

    Returns
    -------
    list of two Task
        Images (N, 1, size, size) in [−1, 1]; ``meta`` holds ``index`` and the ``indices`` used.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size={size!r} must be an integer >= 8 (pixels per side).")
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)) or n_val < 0:
        raise ValueError(f"n_val={n_val!r} must be a non-negative integer.")
    if shared_images and (len(first.y_train) != len(second.y_train) or len(first.y_test) != len(second.y_test)):
        raise ValueError("shared_images=True needs two datasets made from the same images (same sizes); "
                         f"got {len(first.y_train)}/{len(second.y_train)} training images.")
    label = name or f"{first.name} → {second.name}"
    g = torch.Generator().manual_seed(int(subset_seed) + 7919)
    perm_first = torch.randperm(len(first.y_train), generator=g)
    perm_second = perm_first if shared_images else torch.randperm(len(second.y_train), generator=g)
    parts = 2 if shared_images else 1
    tasks, used = [], 0
    for t, ds in enumerate((first, second)):
        perm = perm_first if t == 0 else perm_second
        avail = len(perm) // parts - n_val
        if avail < 1:
            raise ValueError(f"n_val={n_val} leaves no training images of {ds.name} ({len(perm) // parts} available).")
        n_tr = _check_count(n_train, "n_train", avail)
        start = used if (shared_images and t == 1) else 0
        idx = perm[start:start + n_val + n_tr]
        used = n_val + n_tr
        n_te_avail = len(ds.y_test) // parts
        n_te = _check_count(n_test, "n_test", n_te_avail)
        te = torch.arange(n_te) + (n_te if (shared_images and t == 1) else 0)
        dev = ds.x_train.device
        x_tr, y_tr = ds.x_train[idx[n_val:].to(dev)], ds.y_train[idx[n_val:].to(dev)]
        x_val = ds.x_train[idx[:n_val].to(dev)] if n_val else None
        y_val = ds.y_train[idx[:n_val].to(dev)] if n_val else None
        tasks.append(Task(name=ds.name, dataset=label, x_train=_fit_images(x_tr, size), y_train=y_tr,
                          x_test=_fit_images(ds.x_test[te.to(dev)], size), y_test=ds.y_test[te.to(dev)],
                          x_val=None if x_val is None else _fit_images(x_val, size), y_val=y_val,
                          meta={"index": t, "indices": idx, "test_indices": te}))
    return tasks


def superclass_tasks(dataset: ImageDataset, n_tasks: int = 5, n_train: int | None = None, n_val: int = 0,
                     n_test: int | None = None, subset_seed: int = 0, name: str | None = None) -> list[Task]:
    """The super-class stream of supplementary §8.5 (Figure 9): task ``i`` holds the ``i``-th fine class of every
    super-class, labelled by its super-class (one 20-way head shared by all tasks).

    Parameters
    ----------
    dataset : ImageDataset
        CIFAR-100 (:func:`~scpviz.datasets.load_cifar100`) or its stand-in
        (:func:`~scpviz.datasets.load_superclass_standin`): ``extras`` must hold ``fine_train``, ``coarse_train``,
        ``fine_test`` and ``coarse_test``.
    n_tasks : int
        5 in §8.5 (CIFAR-100 has five fine classes per super-class).
    n_train, n_val, n_test : int or None
        Images per task (None: all — CIFAR-100 has 2,500 training and 500 test images per task). Validation is held
        out of the task's training images, before ``n_train`` are drawn (a seeded random subset).
    subset_seed : int
    name : str, optional
        Stored as every task's ``dataset``; default the dataset's name.

    Returns
    -------
    list of Task
        Images (N, 3, 32, 32) in [−1, 1], coarse labels; ``meta`` holds the task's ``fine_classes`` and their
        ``fine_names``, and the ``train_indices`` / ``test_indices`` into the dataset (no image is in two tasks).
    """
    ex = dataset.extras
    missing = [k for k in ("fine_train", "coarse_train", "fine_test", "coarse_test") if k not in ex]
    if missing:
        raise ValueError(f"dataset {dataset.name!r} has no {missing} in extras: give load_cifar100() or "
                         "load_superclass_standin(), which carry both label sets.")
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)) or n_val < 0:
        raise ValueError(f"n_val={n_val!r} must be a non-negative integer.")
    from .cifar100 import superclass_split

    split = superclass_split(ex["fine_train"], ex["coarse_train"], n_tasks=n_tasks)
    names = ex.get("fine_names") or []
    label = name or dataset.name
    tasks = []
    for i, fines in enumerate(split):
        dev = dataset.x_train.device
        fset = torch.tensor(fines, device=dev)
        tr_all = torch.isin(ex["fine_train"], fset).nonzero()[:, 0]
        te_all = torch.isin(ex["fine_test"], fset).nonzero()[:, 0]
        if n_val >= len(tr_all):
            raise ValueError(f"n_val={n_val} leaves no training images in task {i + 1} ({len(tr_all)} available).")
        g = torch.Generator().manual_seed(int(subset_seed) + 7919 + i)
        order = tr_all[torch.randperm(len(tr_all), generator=g).to(dev)]
        n_tr = _check_count(n_train, "n_train", len(tr_all) - n_val)
        val_idx, tr_idx = order[:n_val], order[n_val:n_val + n_tr]
        n_te = _check_count(n_test, "n_test", len(te_all))
        te_idx = te_all[torch.randperm(len(te_all), generator=g).to(dev)[:n_te]]
        scale = lambda x: x * 2 - 1   # noqa: E731
        tasks.append(Task(name=f"task {i + 1}", dataset=label,
                          x_train=scale(dataset.x_train[tr_idx]), y_train=ex["coarse_train"][tr_idx],
                          x_test=scale(dataset.x_test[te_idx]), y_test=ex["coarse_test"][te_idx],
                          x_val=scale(dataset.x_train[val_idx]) if n_val else None,
                          y_val=ex["coarse_train"][val_idx] if n_val else None,
                          meta={"index": i, "fine_classes": list(fines),
                                "fine_names": [names[f] for f in fines] if names else [],
                                "train_indices": tr_idx, "val_indices": val_idx, "test_indices": te_idx}))
    return tasks


def frame_decorrelation_lag(frames: torch.Tensor, far: int = 30) -> int:
    """How many frames apart two frames of a sequence must be to differ as much as unrelated frames do: the smallest
    lag k whose median RMS pixel distance between frames i and i + k reaches 99 % of the median over all pairs at
    least ``far`` frames apart (99 %: medians of unrelated pairs still scatter a little). A gap of this many frames between two splits keeps near-copies out of both
    (:func:`sequence_tasks`).

    Parameters
    ----------
    frames : Tensor
        (N, ...) consecutive frames, N > ``far``.
    far : int
        Frames this far apart count as unrelated.

    Returns
    -------
    int
        The lag; ``far`` when no shorter one qualifies.
    """
    n = len(frames)
    if isinstance(far, bool) or not isinstance(far, (int, np.integer)) or not 1 <= far < n:
        raise ValueError(f"far={far!r} must be an integer from 1 to {n - 1} (the sequence has {n} frames).")
    x = frames.flatten(1).double()
    dist = torch.cdist(x, x) / x.shape[1] ** 0.5
    lag = torch.arange(n)[None, :] - torch.arange(n)[:, None]
    unrelated = dist[lag >= far].median()
    for k in range(1, far):
        if torch.diagonal(dist, k).median() >= 0.99 * unrelated:
            return k
    return far


def sequence_tasks(sequences: Sequence[ImageDataset], names: Sequence[str] | None = None, n_train: int | None = None,
                   n_val: int = 0, n_test: int | None = None, name: str | None = None, val_frames: str = "start",
                   gap: int = 0) -> list[Task]:
    """Segmentation tasks from driving sequences (§5.3: SYNTHIA summer, then winter), one task per sequence.

    Frames of a sequence are consecutive and nearly repeat, so nothing is drawn at random and the splits are runs of
    frames kept ``gap`` frames apart, so that no frame of one split is a near-copy of a frame of another. With
    ``val_frames="start"`` a sequence reads: validation (its first ``n_val`` frames), ``gap`` frames left out,
    training (the ``n_train`` frames that end ``gap`` frames before the test frames; None: all there are), ``gap``
    frames left out, test (the sequence's held-out last frames, the first ``n_test`` of them; None: all).
    ``val_frames="before_test"`` is the earlier layout (validation the last ``n_val`` frames before the test frames,
    training the frames just before them, ``gap`` 0), which shipped results made before version 0.4 used: there the
    validation frames are nearly the test frames.

    Parameters
    ----------
    sequences : list of ImageDataset
        From :func:`~scpviz.datasets.synthia.load_synthia` (or its stand-in): frames (N, 3, h, w) in [0, 1], class
        maps (N, h, w).
    names : list of str, optional
        Task names (default the sequences' names).
    n_train, n_val, n_test : int
        Frames per split.
    name : str, optional
        Stored as every task's ``dataset`` (default the first sequence's name).
    val_frames : {"start", "before_test"}
        Where the validation frames are.
    gap : int
        Frames left out between validation and training and between training and test (``"start"`` only).

    Returns
    -------
    list of Task
        Frames scaled to [−1, 1], targets the class maps; ``meta`` holds the frame ranges used (``train_frames``,
        ``val_frames`` as indices into the training part of the sequence, ``test_frames`` into its test part) and
        the ``gap``.
    """
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)) or n_val < 0:
        raise ValueError(f"n_val={n_val!r} must be a non-negative integer.")
    if val_frames not in ("start", "before_test"):
        raise ValueError(f"val_frames={val_frames!r} must be 'start' or 'before_test'.")
    if isinstance(gap, bool) or not isinstance(gap, (int, np.integer)) or gap < 0:
        raise ValueError(f"gap={gap!r} must be a non-negative integer (frames left out between the splits).")
    if val_frames == "before_test" and gap:
        raise ValueError("gap applies to val_frames='start'; the earlier layout 'before_test' has no gap.")
    tasks = []
    for i, ds in enumerate(sequences):
        if ds.y_train.ndim != 3:
            raise ValueError(f"sequence {ds.name!r} has targets of shape {tuple(ds.y_train.shape)}: segmentation "
                             "tasks need class maps (N, h, w).")
        if val_frames == "start":
            end = len(ds.x_train) - gap                       # training ends gap frames before the test frames
            first = n_val + gap if n_val else 0               # ... and starts gap frames after the validation ones
            avail = end - first
            if avail < 1:
                raise ValueError(f"n_val={n_val} and gap={gap} leave no training frames in {ds.name!r} "
                                 f"({len(ds.x_train)} frames before the test frames): lower them or use more frames.")
            n_tr = _check_count(n_train, "n_train", avail)
            tr, va = slice(end - n_tr, end), slice(0, n_val)
        else:
            avail = len(ds.x_train) - n_val
            if avail < 1:
                raise ValueError(f"n_val={n_val} leaves no training frames in {ds.name!r} ({len(ds.x_train)} frames).")
            n_tr = _check_count(n_train, "n_train", avail)
            tr, va = slice(avail - n_tr, avail), slice(avail, len(ds.x_train))
        n_te = _check_count(n_test, "n_test", len(ds.x_test))
        tasks.append(Task(name=(names[i] if names else ds.name), dataset=name or sequences[0].name,
                          x_train=ds.x_train[tr] * 2 - 1, y_train=ds.y_train[tr],
                          x_test=ds.x_test[:n_te] * 2 - 1, y_test=ds.y_test[:n_te],
                          x_val=ds.x_train[va] * 2 - 1 if n_val else None, y_val=ds.y_train[va] if n_val else None,
                          meta={"index": i, "train_frames": (tr.start, tr.stop), "val_frames": (va.start, va.stop),
                                "test_frames": (0, n_te), "gap": int(gap)}))
    return tasks
