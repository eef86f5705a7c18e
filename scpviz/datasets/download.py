"""Downloading the real datasets when the machine is online, with torchvision's download code, URLs and checksums.

A download goes into a temporary folder inside the data root; every file is checked against torchvision's MD5 sum
and archives are unpacked there; only then are the finished files moved into the dataset's folder. A failed or
corrupt download therefore leaves nothing behind that a later run would read — the data folder is as it was.

``$SCPVIZ_MIRROR`` (or ``mirror=``) is a base URL whose folder holds the same file names as the official hosts
(``train_32x32.mat``, ``cifar-100-python.tar.gz``, ``train-images-idx3-ubyte.gz``, ...): an institution's copy, or a
local server in tests. The URLs and MD5 sums are read from torchvision's dataset classes when a download starts,
never typed here.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from ..config import data_root

__all__ = ["MIRROR_ENV", "DOWNLOADABLE", "Resource", "resources", "mirror_url", "can_download", "fetch"]

MIRROR_ENV = "SCPVIZ_MIRROR"
DOWNLOADABLE = ("mnist", "svhn", "cifar100")


@dataclasses.dataclass(frozen=True)
class Resource:
    """One file of a dataset as its host serves it.

    Attributes
    ----------
    filename : str
    url : str
        The official URL (a mirror replaces everything before the file name).
    md5 : str
        torchvision's checksum of the file as served.
    extract : bool
        An archive (``.gz``, ``.tar.gz``) to unpack into the dataset's folder.
    """

    filename: str
    url: str
    md5: str
    extract: bool = False


def resources(name: str) -> tuple:
    """``(folder, [Resource, ...])``: where dataset ``name`` lives under the data root, and its files.

    >>> folder, files = resources("svhn")
    >>> folder, [f.filename for f in files]
    ('SVHN', ['train_32x32.mat', 'test_32x32.mat'])
    """
    from torchvision.datasets import CIFAR100, MNIST, SVHN

    if name == "mnist":
        return "MNIST/raw", [Resource(f, MNIST.mirrors[0] + f, md5, extract=True) for f, md5 in MNIST.resources]
    if name == "svhn":
        return "SVHN", [Resource(SVHN.split_list[s][1], SVHN.split_list[s][0], SVHN.split_list[s][2])
                        for s in ("train", "test")]
    if name == "cifar100":
        return ".", [Resource(CIFAR100.filename, CIFAR100.url, CIFAR100.tgz_md5, extract=True)]
    raise ValueError(f"name={name!r} cannot be downloaded; choose one of {list(DOWNLOADABLE)}.")


def mirror_url(mirror: str | None = None) -> str | None:
    """The mirror to use: ``mirror``, else ``$SCPVIZ_MIRROR``, else None (the official hosts)."""
    m = mirror if mirror is not None else os.environ.get(MIRROR_ENV, "").strip()
    if not m:
        return None
    if urlparse(m).scheme not in ("http", "https", "file"):
        raise ValueError(f"mirror {m!r} (${MIRROR_ENV}) must be an http(s):// or file:// URL of a folder holding the "
                         "datasets' files under their official names.")
    return m.rstrip("/") + "/"


def _url(res: Resource, mirror: str | None) -> str:
    return res.url if mirror is None else mirror + res.filename


def _reachable(url: str) -> bool:
    """Whether the host of ``url`` accepts a connection (a file:// URL: whether its folder exists)."""
    u = urlparse(url)
    if u.scheme == "file":
        return Path(u.path).is_dir()
    return _host_answers(u.hostname, u.port or (443 if u.scheme == "https" else 80))


@functools.lru_cache(maxsize=None)
def _host_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    # asked once per host and process: every config of a grid resolves "auto", and an offline machine must not wait
    # two seconds for each
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def can_download(name: str, mirror: str | None = None) -> bool:
    """Whether dataset ``name`` can be downloaded now: the mirror's (or the official) host answers."""
    _, files = resources(name)
    return _reachable(_url(files[0], mirror_url(mirror)))


def fetch(name: str, root=None, mirror: str | None = None, progress: bool = True) -> Path:
    """Download dataset ``name`` into ``root`` (default :func:`scpviz.config.data_root`) and return its folder.

    Each file is checked against torchvision's MD5 sum before anything is moved into the data folder.

    Raises
    ------
    ValueError
        When a file's checksum does not match (naming the file and the URL), or a download fails; the data folder
        is left as it was.
    """
    folder, files = resources(name)
    mirror = mirror_url(mirror)
    root = data_root(root)
    root.mkdir(parents=True, exist_ok=True)
    dest = root / folder
    tmp = Path(tempfile.mkdtemp(prefix=".scpviz-download-", dir=root))
    try:
        from torchvision.datasets.utils import check_integrity, download_url, extract_archive

        staged = tmp / "staged"
        staged.mkdir()
        for res in files:
            url = _url(res, mirror)
            try:
                _quiet(progress, download_url, url, str(tmp), res.filename)
            except Exception as exc:
                raise ValueError(f"downloading {res.filename} from {url} failed ({type(exc).__name__}: {exc}); "
                                 f"nothing was written to {dest}. Try again online, or put the file there "
                                 "yourself.") from None
            if not check_integrity(str(tmp / res.filename), res.md5):
                raise ValueError(f"{res.filename} from {url} does not match torchvision's checksum (MD5 {res.md5}): "
                                 f"a damaged or different file; nothing was written to {dest}.")
            if res.extract:
                extract_archive(str(tmp / res.filename), str(staged))
            else:
                shutil.move(str(tmp / res.filename), str(staged / res.filename))
        dest.mkdir(parents=True, exist_ok=True)
        for item in staged.iterdir():     # moved only once every file is there and checked
            target = dest / item.name
            if item.is_dir() and target.is_dir():
                for sub in item.iterdir():
                    os.replace(sub, target / sub.name)
            else:
                os.replace(item, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _quiet(progress, fn, *args):
    """``fn(*args)`` with torchvision's progress bar (tqdm) shown or not."""
    if progress:
        return fn(*args)
    import contextlib
    import io

    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)
