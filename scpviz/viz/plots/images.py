"""Images and label maps: digit grids, reconstructions (Figure 4a), RGB task samples, SYNTHIA frames and
their class maps (Figure 9).

Every function takes ``ax=None`` (or ``axes=None``; a new figure when omitted) and returns the Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..style import curve_label, method_of_curve, new_axes, to_numpy

__all__ = ["show_images", "plot_reconstruction_grid", "show_task_split", "show_rgb_images", "SEGMENTATION_COLORS",
           "color_labels", "plot_segmentation_frames", "show_season_frames"]


def show_images(images, labels=None, ncols=10, title=None, ax=None, cmap="gray_r"):
    """A grid of grey-scale images (N×28×28, N×1×28×28 or N×784) in [0, 1] on one axes.

    Parameters
    ----------
    images : array or Tensor
    labels : sequence, optional
        Shown above each image.
    ncols : int
    title : str, optional
        Put the dataset's name here.
    cmap : str
        ``"gray_r"`` (dark ink on white paper, for MNIST) or ``"gray"`` (the pixel values as they are, for photos).
    """
    x = to_numpy(images).astype(float)
    n = x.shape[0]
    if n == 0:
        raise ValueError("images is empty: pass at least one image.")
    side = int(round(np.sqrt(x[0].size)))
    if side * side != x[0].size:
        raise ValueError(f"images of {x[0].size} pixels are not square; pass N×H×W images.")
    return _image_grid(x.reshape(n, side, side), labels, ncols, title, ax, dict(cmap=cmap), (0.6, 0.7))


def _image_grid(x, labels, ncols, title, ax, imshow_kw, cell_inches):
    """Tile images (N, H, W) or (N, H, W, 3) into one canvas with a 1-pixel white margin, labels above each."""
    n, side = x.shape[0], x.shape[1]
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    canvas = np.ones((nrows * (side + 2), ncols * (side + 2)) + x.shape[3:])
    for i in range(n):
        r, c = divmod(i, ncols)
        canvas[r * (side + 2) + 1:r * (side + 2) + 1 + side, c * (side + 2) + 1:c * (side + 2) + 1 + side] = x[i]
    fig, ax = new_axes(ax, figsize=(ncols * cell_inches[0] + 0.4, nrows * cell_inches[1] + 0.5))
    if x.ndim == 3:
        imshow_kw = dict(vmin=0, vmax=max(1.0, canvas.max()), **imshow_kw)
    ax.imshow(canvas, **imshow_kw)
    ax.set_xticks([])
    ax.set_yticks([])
    if labels is not None:
        for i, lab in enumerate(list(to_numpy(labels))[:n]):
            r, c = divmod(i, ncols)
            ax.text(c * (side + 2) + side / 2 + 1, r * (side + 2), str(lab), ha="center", va="bottom", fontsize=7)
    if title:
        ax.set_title(title)
    return fig


def plot_reconstruction_grid(histories, stage=None, ax=None, title="Reconstructions after each task (Figure 4a)"):
    """Figure 4a: for each run (a column block per method), the reconstruction of one test image of every
    digit (columns) after each stage of training (rows); the first block is the inputs ("ideal").

    Parameters
    ----------
    histories : dict
        ``{label: History}`` of runs made with ``snapshots=True`` (same digit order).
    stage : int, optional
        Show only the rows up to this stage (0-based), for scrubbing.
    """
    labels = list(histories)
    first = histories[labels[0]]
    inputs = np.asarray(first.extras["inputs"], dtype=float) / 255.0
    T, side = len(inputs), int(round(np.sqrt(inputs.shape[1])))
    last = T - 1 if stage is None else int(stage)
    blocks = [("ideal", np.repeat(inputs[None], last + 1, axis=0))]
    for lab in labels:
        snaps = np.asarray(histories[lab].extras["snapshots"], dtype=float) / 255.0
        blocks.append((lab, snaps[:last + 1]))
    gap = 4
    H = (last + 1) * (side + 1)
    Wd = sum(T * (side + 1) + gap for _ in blocks) - gap
    canvas = np.ones((H, Wd))
    x0 = 0
    fig, ax = new_axes(ax, figsize=(min(16, 0.45 * T * len(blocks) + 1), 0.5 * (last + 1) + 1.2))
    for lab, arr in blocks:
        for r in range(last + 1):
            for c in range(T):
                canvas[r * (side + 1):r * (side + 1) + side, x0 + c * (side + 1):x0 + c * (side + 1) + side] = \
                    arr[r, c].reshape(side, side)
        ax.text(x0 + T * (side + 1) / 2, -2, lab, ha="center", va="bottom", fontsize=9)
        x0 += T * (side + 1) + gap
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([(r + 0.5) * (side + 1) for r in range(last + 1)], [f"after T{r + 1}" for r in range(last + 1)],
                  fontsize=7)
    ax.set_title(f"{first.dataset}: {title}", pad=14)
    return fig


def _rgb(x):
    """(N, 3, H, W) in [−1, 1] or [0, 1] → (N, H, W, 3) in [0, 1] for imshow."""
    x = to_numpy(x).astype(float)
    if x.min() < 0:
        x = (x + 1) / 2
    return np.clip(np.transpose(x, (0, 2, 3, 1)), 0, 1)


def show_task_split(tasks, class_names=None, n_classes=None, ax=None, title=None):
    """Figure 9a's view of the §8.5 split: one row per task, one column per super-class, showing the first training
    image of that super-class in that task (so a column shows how one super-class's sub-population changes from task
    to task).

    Parameters
    ----------
    tasks : list of Task
        RGB images (N, 3, H, W) with super-class labels (:func:`scpviz.datasets.superclass_tasks`).
    class_names : list of str, optional
        Super-class names for the column heads (default the label ids).
    n_classes : int, optional
        Columns (default: the labels of the first task).
    """
    if not tasks:
        raise ValueError("tasks is empty: give the tasks of superclass_tasks().")
    if tasks[0].x_train.ndim != 4 or tasks[0].x_train.shape[1] != 3:
        raise ValueError(f"show_task_split needs RGB images (N, 3, H, W), got {tuple(tasks[0].x_train.shape)}.")
    K = n_classes or int(tasks[0].y_train.max()) + 1
    side = tasks[0].x_train.shape[-1]
    canvas = np.ones((len(tasks) * (side + 2), K * (side + 2), 3))
    for i, t in enumerate(tasks):
        y = to_numpy(t.y_train)
        for c in range(K):
            hits = np.flatnonzero(y == c)
            if len(hits):
                img = _rgb(t.x_train[int(hits[0]):int(hits[0]) + 1])[0]
                canvas[i * (side + 2) + 1:i * (side + 2) + 1 + side, c * (side + 2) + 1:c * (side + 2) + 1 + side] = img
    fig, ax = new_axes(ax, figsize=(0.62 * K + 1.2, 0.7 * len(tasks) + 1.2))
    ax.imshow(canvas)
    ax.set_yticks([(i + 0.5) * (side + 2) for i in range(len(tasks))], [t.name for t in tasks])
    names = class_names or [str(c) for c in range(K)]
    ax.set_xticks([(c + 0.5) * (side + 2) for c in range(K)], names[:K], rotation=60, ha="right", fontsize=7)
    ax.set_title(title or f"{tasks[0].dataset}: one image per super-class (columns) and task (rows)")
    return fig


def show_rgb_images(images, labels=None, ncols=10, title=None, ax=None):
    """A grid of RGB images (N, 3, H, W) in [0, 1] or [−1, 1] on one axes (e.g. augmented batches, Figure 9a)."""
    if to_numpy(images).ndim != 4 or to_numpy(images).shape[1] != 3:
        raise ValueError(f"images must be RGB (N, 3, H, W), got shape {tuple(to_numpy(images).shape)}.")
    if len(images) == 0:
        raise ValueError("images is empty: pass at least one image.")
    return _image_grid(_rgb(images), labels, ncols, title, ax, {}, (0.7, 0.8))


# SYNTHIA's own colour code for its classes 0–12 (void black, sky grey, road purple, ...)
SEGMENTATION_COLORS = np.array([(0, 0, 0), (128, 128, 128), (128, 0, 0), (128, 64, 128), (0, 0, 192), (64, 64, 128),
                                (128, 128, 0), (192, 192, 128), (64, 0, 128), (192, 128, 128), (64, 64, 0),
                                (0, 128, 192), (0, 172, 0)]) / 255.0


def color_labels(labels):
    """Class maps (…, H, W) of ids 0–12 → RGB (…, H, W, 3) in SYNTHIA's colour code (:data:`SEGMENTATION_COLORS`)."""
    lab = to_numpy(labels).astype(int)
    if lab.size and (lab.min() < 0 or lab.max() >= len(SEGMENTATION_COLORS)):
        raise ValueError(f"labels hold ids {lab.min()}..{lab.max()}: SYNTHIA's classes are 0..12.")
    return SEGMENTATION_COLORS[lab]


def plot_segmentation_frames(runs, axes=None, class_names=None, title=None):
    """Figure 5: one test frame per row — summer after summer, winter after winter, summer after winter — and per
    column the input, the ground truth and each run's predicted class map (the frames a run recorded in
    ``extras["frames"]``, :meth:`scpviz.experiments.synthia_segmentation.SynthiaSegmentation.recorder`).

    Parameters
    ----------
    runs : dict
        ``{label: History}`` (e.g. one seed of none / EWC / MAS / SCP at their chosen λ); all recorded the same frames.
    axes : array of Axes, shape (3, 2 + len(runs)), optional
    class_names : sequence of str, optional
        For the legend (default SYNTHIA's 13).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Pixels are drawn as pixels (``interpolation="nearest"``): resampling would blend the colours of neighbouring
    classes into colours of none, and makes the PNG four times larger.
    """
    if not runs:
        raise ValueError("runs is empty: give {label: History} with recorded frames.")
    missing = [k for k, h in runs.items() if "frames" not in h.extras]
    if missing:
        raise ValueError(f"runs {missing} recorded no frames (extras['frames']): run them with the synthia_segmentation "
                         "experiment, which records them.")
    first = next(iter(runs.values()))
    fr = first.extras["frames"]
    inputs, labels = np.asarray(fr["inputs"]), np.asarray(fr["labels"])
    names = first.task_names
    rows = [(0, 0, f"{names[0]}\nafter {names[0]}"), (1, 1, f"{names[1]}\nafter {names[1]}"),
            (1, 0, f"{names[0]}\nafter {names[1]}")]
    cols = 2 + len(runs)
    if axes is None:
        h, w = labels.shape[-2:]
        fig, axes = plt.subplots(3, cols, figsize=(1.9 * cols * w / h * 0.75 + 0.5, 5.2), layout="constrained")
    else:
        fig = np.asarray(axes).flat[0].figure
    axes = np.asarray(axes).reshape(3, cols)
    for r, (stage, task, text) in enumerate(rows):
        axes[r, 0].imshow(np.transpose(inputs[task], (1, 2, 0)), interpolation="nearest")
        axes[r, 1].imshow(color_labels(labels[task]), interpolation="nearest")
        for c, (label, hist) in enumerate(runs.items()):
            pred = np.asarray(hist.extras["frames"]["predictions"])
            axes[r, 2 + c].imshow(color_labels(pred[stage, task]), interpolation="nearest")
            if r == 0:
                axes[r, 2 + c].set_title(curve_label(label, method_of_curve(label)), fontsize=9)
        axes[r, 0].set_ylabel(text, fontsize=9)
    axes[0, 0].set_title("input", fontsize=9)
    axes[0, 1].set_title("ground truth", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    from matplotlib.patches import Patch

    from ...datasets import SYNTHIA_CLASSES

    cn = class_names or SYNTHIA_CLASSES
    fig.legend(handles=[Patch(color=SEGMENTATION_COLORS[k], label=n) for k, n in enumerate(cn)],
               loc="outside lower center", ncol=7, fontsize=7, frameon=False)
    fig.suptitle(title or f"{first.dataset}: test frame {fr['index']} of each task (Figure 5)", fontsize=10)
    return fig


def show_season_frames(tasks, n=4, ax=None, title=None):
    """Training frames of each segmentation task and their class maps (SYNTHIA's colour code): for every task a row of
    ``n`` frames spread over its training sequence and, below it, their ground truth.

    Parameters
    ----------
    tasks : list of Task
        Frames (N, 3, H, W) in [−1, 1] and class maps (N, H, W) (:func:`scpviz.datasets.sequence_tasks`).
    """
    if not tasks or tasks[0].y_train.ndim != 3:
        raise ValueError("tasks must be segmentation tasks (frames and class maps), e.g. from sequence_tasks().")
    h, w = tasks[0].y_train.shape[-2:]
    rows = []
    for t in tasks:
        idx = np.linspace(0, len(t.x_train) - 1, n).round().astype(int)
        imgs, labs = _rgb(t.x_train[idx]), color_labels(t.y_train[idx])
        pad = np.ones((h, 2, 3))
        rows.append(np.concatenate([np.concatenate([im, pad], 1) for im in imgs], 1))
        rows.append(np.concatenate([np.concatenate([lb, pad], 1) for lb in labs], 1))
    gap = np.ones((2, rows[0].shape[1], 3))
    canvas = np.concatenate([np.concatenate([r, gap], 0) for r in rows], 0)
    fig, ax = new_axes(ax, figsize=(2.1 * n * w / h * 0.7 + 1.2, 1.25 * len(rows) + 0.8))
    ax.imshow(canvas, interpolation="nearest")
    ax.set_yticks([(k + 0.5) * (h + 2) for k in range(len(rows))],
                  [f"{t.name}{' labels' if k % 2 else ''}" for t in tasks for k in range(2)])
    ax.set_xticks([])
    ax.set_title(title or f"{tasks[0].dataset}: training frames and their class maps", fontsize=10)
    return fig
