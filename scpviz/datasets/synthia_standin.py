"""An offline stand-in for SYNTHIA-SEQS (§5.3): procedurally drawn road scenes — sky, buildings, road with lane
markings, sidewalks, fences, trees, poles with signs, cars, pedestrians, cyclists — seen from a car driving along
the road over hills (the horizon moves with the position), in a **summer** and a **winter** appearance (snow on the
ground, the sidewalks and the roofs, a leaden sky, white trees, lower contrast). As under real snow, the seasons
disagree on what a colour means — the packed-snow road has a summer sidewalk's grey, snowy sidewalks a summer lane
marking's white, the winter sky a summer road's grey — so learning winter overwrites what summer needed (seasons
that agree on what colours mean leave little to forget, and so nothing for a penalty to keep).

Two versions. **Version 2** (the default) is the drawing above. **Version 1** (``version=1``), the first, had a
milder winter whose colours keep their meaning, on a flat street; without consolidation a network forgot little of
summer on it (3 points of Dice). Version 2's colour conflict was designed *after* that result was seen — adversarial
by construction, and said so wherever it is used; version 1 stays selectable to compare. The frames are
*written in the SYNTHIA layout and encoding* (8-bit RGB PNGs, 16-bit label PNGs with the class id in the first
channel) so that the real loader, :func:`scpviz.datasets.synthia.load_synthia`, is what reads them. Deterministic
from a seed. Every result made on it is named "SYNTHIA-style scenes (stand-in for SYNTHIA-SEQS-01)" (version 1:
"SYNTHIA-style scenes v1 (...)").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..config import run_cache
from .synthia import LABEL_DIR, RGB_DIR, write_png16

__all__ = ["SYNTHIA_STANDIN_NAME", "STANDIN_SEQUENCES", "STANDIN_VERSION", "STANDIN_VERSIONS", "standin_name",
           "draw_scene", "write_synthia_standin",
           "load_synthia_standin"]

SYNTHIA_STANDIN_NAME = "SYNTHIA-style scenes (stand-in for SYNTHIA-SEQS-01)"
STANDIN_SEQUENCES = {"summer": "STANDIN-SEQS-01-SUMMER", "winter": "STANDIN-SEQS-01-WINTER"}
(VOID, SKY, BUILDING, ROAD, SIDEWALK, FENCE, VEGETATION, POLE, CAR, SIGN, PEDESTRIAN, CYCLIST, LANE) = range(13)

# appearance per season: base RGB in [0, 1] of each class (buildings, cars, people vary around theirs)
_PALETTE = {
    "summer": {SKY: (0.45, 0.65, 0.95), BUILDING: (0.62, 0.45, 0.38), ROAD: (0.28, 0.28, 0.30),
               SIDEWALK: (0.62, 0.60, 0.55), FENCE: (0.45, 0.35, 0.25), VEGETATION: (0.20, 0.50, 0.15),
               POLE: (0.35, 0.35, 0.38), CAR: (0.70, 0.15, 0.15), SIGN: (0.95, 0.80, 0.10), PEDESTRIAN: (0.25, 0.30, 0.60),
               CYCLIST: (0.10, 0.55, 0.55), LANE: (0.95, 0.95, 0.90), VOID: (0.05, 0.05, 0.05)},
    # snow: the road packed grey-white (the colour of a summer sidewalk), the sidewalks and verges white (the colour
    # of a summer lane marking), a leaden sky (the grey of a summer road), dark wet buildings and fences; what a
    # colour means changes with the season, so a network that adapts to winter misreads summer
    "winter": {SKY: (0.34, 0.35, 0.38), BUILDING: (0.30, 0.24, 0.22), ROAD: (0.66, 0.64, 0.60),
               SIDEWALK: (0.94, 0.94, 0.92), FENCE: (0.22, 0.20, 0.18), VEGETATION: (0.86, 0.88, 0.88),
               POLE: (0.20, 0.20, 0.22), CAR: (0.25, 0.45, 0.20), SIGN: (0.90, 0.40, 0.15), PEDESTRIAN: (0.60, 0.15, 0.15),
               CYCLIST: (0.95, 0.80, 0.10), LANE: (0.95, 0.75, 0.10), VOID: (0.05, 0.05, 0.05)},
}
# the first winter, without the colour conflict; kept selectable (version=1) because version 2's conflict was designed
# after version 1 showed little forgetting without consolidation (see the module notes)
_WINTER_V1 = {SKY: (0.72, 0.74, 0.78), BUILDING: (0.55, 0.47, 0.44), ROAD: (0.52, 0.52, 0.55),
              SIDEWALK: (0.90, 0.91, 0.94), FENCE: (0.50, 0.45, 0.40), VEGETATION: (0.72, 0.74, 0.72),
              POLE: (0.40, 0.40, 0.43), CAR: (0.60, 0.25, 0.25), SIGN: (0.85, 0.75, 0.25), PEDESTRIAN: (0.20, 0.22, 0.35),
              CYCLIST: (0.15, 0.40, 0.45), LANE: (0.80, 0.82, 0.84), VOID: (0.05, 0.05, 0.05)}
STANDIN_VERSION = 2  # the default drawing; part of the cache folder's name: a change of the drawing is a new folder
STANDIN_VERSIONS = (1, 2)


def draw_scene(h: int, w: int, t: int, season: str, rng: np.random.Generator, version: int = STANDIN_VERSION):
    """One frame at time ``t`` of the drive: (RGB (h, w, 3) float in [0, 1], class ids (h, w) int).

    The layout (the hills, where the buildings, trees and poles stand) is a function of the drive's position ``t``,
    so the summer and winter sequences show the same street; cars, pedestrians and cyclists come from ``rng``;
    ``season`` changes the appearance, and winter adds snow on roofs and along the road.
    """
    if season not in _PALETTE:
        raise ValueError(f"season={season!r} must be 'summer' or 'winter'.")
    if version not in STANDIN_VERSIONS:
        raise ValueError(f"version={version!r} must be one of {STANDIN_VERSIONS} (2: the default; 1: the first, "
                         "milder winter on a flat street).")
    pal = _WINTER_V1 if (version == 1 and season == "winter") else _PALETTE[season]
    rr, cc = np.mgrid[0:h, 0:w].astype(float)
    street = np.random.default_rng(12345)                               # the street is the same in both seasons
    if version == 1:
        horizon = 0.42 * h
    else:
        hills = street.uniform(0, 2 * np.pi, 3)
        horizon = h * (0.42 + 0.07 * np.sin(0.11 * t + hills[0]) + 0.04 * np.sin(0.27 * t + hills[1]))  # hills
    lab = np.full((h, w), SKY, np.int64)
    below = rr >= horizon
    depth = np.clip((rr - horizon) / (h - horizon), 1e-3, 1)          # 0 at the horizon, 1 at the bottom
    half_road = 0.06 * w + 0.42 * w * depth
    off = np.abs(cc - w / 2)
    lab[below] = VEGETATION                                             # verges and far ground
    side = below & (off < half_road * 1.45)
    lab[side] = SIDEWALK
    lab[below & (off < half_road * 1.45) & (off > half_road * 1.38)] = FENCE
    lab[side & (off < half_road * 1.38)] = SIDEWALK
    road = below & (off < half_road)
    lab[road] = ROAD
    # dashed centre line moving towards the camera with t
    dash = ((np.log(depth + 0.05) * 6 + 0.35 * t) % 2) < 0.9
    lab[road & (off < 0.012 * w + 0.02 * w * depth) & dash] = LANE
    # buildings on both sides above the horizon: heights from a street profile indexed by t
    heights = street.uniform(0.12, 0.40, 400)
    col_pos = ((cc / w * 8 + 0.15 * t) // 1).astype(int) % 400
    top = horizon - heights[col_pos] * h
    bld = (rr < horizon) & (rr >= top) & (off > 0.10 * w)
    lab[bld] = BUILDING
    roof = bld & (rr < top + 0.03 * h)
    # trees: round crowns in front of the buildings
    for k in range(3):
        x0 = (0.12 + 0.38 * k + 0.05 * t) % 1.0 * w
        crown = (rr - (horizon - 0.10 * h)) ** 2 + ((cc - x0) * 0.8) ** 2 < (0.09 * h) ** 2
        lab[crown & (np.abs(cc - w / 2) > 0.12 * w)] = VEGETATION
    # poles with a sign on top, on both sidewalks
    for s in (-1, 1):
        px = w / 2 + s * (0.30 + 0.05 * np.sin(0.3 * t + s)) * w
        lab[(np.abs(cc - px) < max(1.0, 0.008 * w)) & (rr > horizon - 0.16 * h) & (rr < horizon + 0.20 * h)] = POLE
        lab[(np.abs(cc - px) < 0.03 * w) & (rr > horizon - 0.20 * h) & (rr < horizon - 0.13 * h)] = SIGN
    # cars on the road, pedestrians and cyclists on the sidewalks
    n_cars = 1 + rng.integers(0, 3)
    for _ in range(n_cars):
        d = rng.uniform(0.25, 0.9)
        y0 = horizon + d * (h - horizon)
        x0 = w / 2 + rng.choice([-1, 1]) * rng.uniform(0.1, 0.6) * (0.06 * w + 0.42 * w * d)
        cw, ch = 0.16 * w * d + 2, 0.09 * h * d + 2
        lab[(np.abs(cc - x0) < cw / 2) & (rr < y0) & (rr > y0 - ch)] = CAR
    for cls in (PEDESTRIAN, CYCLIST):
        d = rng.uniform(0.3, 0.8)
        y0 = horizon + d * (h - horizon)
        x0 = w / 2 + rng.choice([-1, 1]) * (0.06 * w + 0.42 * w * d) * 1.2
        pw = (0.025 if cls == PEDESTRIAN else 0.05) * w * (0.5 + d) + 1
        lab[(np.abs(cc - x0) < pw) & (rr < y0) & (rr > y0 - 0.14 * h * (0.4 + d))] = cls
    lab[rr > 0.96 * h] = VOID                                            # the ego car's bonnet: unlabelled
    # appearance
    base = np.array([pal[k] for k in range(13)])
    img = base[lab].copy()
    img[lab == BUILDING] *= 0.8 + 0.4 * street.uniform(0, 1, 400)[col_pos][lab == BUILDING, None]
    if season == "winter":
        img[roof] = 0.93                                                 # snow on the roofs
        snow = below & (lab == ROAD) & (off > half_road * 0.75)
        img[snow] = 0.85                                                 # snow along the road's edges
        img = (0.55 + 0.6 * (img - 0.55)) if version == 1 else (0.5 + 0.8 * (img - 0.5))   # flat, low-contrast light
    img[lab == SKY] += (0.15 * (1 - rr / horizon))[lab == SKY, None] * (1 if season == "summer" else 0.3)
    img += rng.normal(0, 0.025, img.shape)
    return np.clip(img, 0, 1), lab


def write_synthia_standin(root=None, n_frames: int = 120, size=(64, 96), seed: int = 0, overwrite: bool = False,
                          version: int = STANDIN_VERSION) -> dict:
    """Write the summer and winter stand-in sequences under ``root`` (default
    ``run_cache('synthia_standin')/v<STANDIN_VERSION>_<h>x<w>_n<frames>_seed<seed>``) in the SYNTHIA layout:
    ``<root>/STANDIN-SEQS-01-SUMMER/RGB/Stereo_Left/Omni_F/000000.png`` (8-bit RGB) and
    ``GT/LABELS/Stereo_Left/Omni_F/000000.png`` (16-bit RGB, class id in the first channel, an instance id 0 in the
    second, 0 in the third), likewise ``...-WINTER``. Existing complete sequences are kept unless ``overwrite``.

    Returns
    -------
    dict
        ``{"summer": folder, "winter": folder}``.
    """
    if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < 2:
        raise ValueError(f"n_frames={n_frames!r} must be an integer ≥ 2.")
    h, w = (int(v) for v in size)
    root = Path(root) if root is not None else run_cache("synthia_standin") / f"v{version}_{h}x{w}_n{n_frames}_seed{seed}"
    out = {}
    for k, (season, name) in enumerate(STANDIN_SEQUENCES.items()):
        folder = root / name
        out[season] = folder
        if not overwrite and len(list((folder / LABEL_DIR).glob("*.png"))) == n_frames:
            continue
        (folder / RGB_DIR).mkdir(parents=True, exist_ok=True)
        (folder / LABEL_DIR).mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng([int(seed), k])
        for t in range(n_frames):
            img, lab = draw_scene(h, w, t, season, rng, version=version)
            Image.fromarray(np.round(img * 255).astype(np.uint8)).save(folder / RGB_DIR / f"{t:06d}.png")
            gt = np.zeros((h, w, 3), np.int64)
            gt[..., 0] = lab
            write_png16(folder / LABEL_DIR / f"{t:06d}.png", gt)
    return out


def standin_name(version: int = STANDIN_VERSION) -> str:
    """The stand-in's name in results and figures: :data:`SYNTHIA_STANDIN_NAME`, with the version when it is not the
    default (so that runs on the two drawings never share a table)."""
    return SYNTHIA_STANDIN_NAME if version == STANDIN_VERSION else SYNTHIA_STANDIN_NAME.replace(
        "scenes", f"scenes v{version}")


def load_synthia_standin(sequence: str = "summer", n_frames: int = 120, size=(64, 96), n_test: int = 20,
                         seed: int = 0, root=None, device=None, version: int = STANDIN_VERSION):
    """The stand-in sequence ``"summer"`` or ``"winter"``, written if needed (:func:`write_synthia_standin`) and read
    back by the real loader (:func:`~scpviz.datasets.synthia.load_synthia`), named :func:`standin_name` with the
    season. ``version``: 2 (the default) or 1, the first, milder winter (see the module notes)."""
    from .synthia import load_synthia

    if sequence not in STANDIN_SEQUENCES:
        raise ValueError(f"sequence={sequence!r} must be 'summer' or 'winter'.")
    folders = write_synthia_standin(root, n_frames=n_frames, size=size, seed=seed, version=version)
    return load_synthia(folders[sequence].name, root=folders[sequence].parent, size=size, n_test=n_test,
                        device=device, name=f"{standin_name(version)}, {sequence}")
