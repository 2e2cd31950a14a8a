"""The user's cache folder, where gsv-edge keeps what it can rebuild: records of pack checks (``runtime.pack``)
and the English front end's packed tables (``cached_arrays``).

Everything here is best effort: a cache that cannot be read is rebuilt, one that cannot be written is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

TABLES_VERSION = 1
"""Bump when a cached table's layout changes: older cache files are then neither read nor kept."""


def cache_folder(*parts: str) -> Path:
    """$XDG_CACHE_HOME/gsv-edge/... (~/.cache/gsv-edge/... when it is not set)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "gsv-edge", *parts)


def replace_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """``write(temporary path)`` in ``path``'s folder, then rename it to ``path``: a reader sees the old file or the
    whole new one, and a failure leaves nothing behind (the error is raised). Every file gsv-edge writes for good
    (voices, WAVs, cache records) goes through here."""
    partial = unique_partial(path)
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return path


def unique_partial(path: Path) -> Path:
    """A new empty file beside ``path`` to write it in, hidden (``.NAME.XXXX.tmp``) and unique to this call: two
    threads of one process (a server enrolling two voices) or two processes never share one, and it is created
    exclusively, so nothing planted at its name is written through."""
    while True:
        # Not tempfile.mkstemp: it makes the file mode 600, and the file keeps that mode once renamed; this one gets
        # the mode any new file gets (the umask's).
        partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return partial
        except FileExistsError:
            continue


def write_problem(folder: Path) -> str | None:
    """Why files cannot be written into ``folder`` now (a full disk, a read-only file system, a file size limit),
    in the system's words, or None. For errors that do not say: libsndfile's, or OpenVINO's "iostream error"."""
    probe = folder / f".gsv-edge-probe.{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"\0" * 65536)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as err:
        return err.strerror or str(err)
    finally:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
    return None


def write_atomically(path: Path, write: Callable[[Path], None]) -> bool:
    """``replace_atomically`` for what can be rebuilt: False (nothing written) where the folder cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, write)
        return True
    except OSError:
        return False


def cached_arrays(
    name: str,
    sources: list[Path],
    build: Callable[[], dict[str, np.ndarray]],
    check: Callable[[dict[str, np.ndarray]], None] | None = None,
) -> dict[str, np.ndarray]:
    """The arrays ``build()`` makes from the data files ``sources``, kept between runs as an npz in the cache.

    The cache file is named by the sources' paths, sizes and modification times and ``TABLES_VERSION``, so a
    change to any of them builds the arrays afresh (and removes the outdated file of that name). ``check``
    raises ValueError on arrays that do not hold together (a damaged file): they are built afresh too.
    """
    identity = [TABLES_VERSION, name]
    for source in sources:
        status = source.stat()
        identity.append([str(source.resolve()), status.st_size, status.st_mtime_ns])
    key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
    folder = cache_folder("text")
    path = folder / f"{name}-{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {field: stored[field] for field in stored.files}
        if check is not None:
            check(arrays)
        return arrays
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # missing, unreadable, damaged: build it
        pass
    arrays = build()

    def save(partial: Path) -> None:
        with open(partial, "wb") as handle:
            np.savez(handle, **arrays)

    if write_atomically(path, save):
        for outdated in folder.glob(f"{name}-*.npz"):
            if outdated != path:
                outdated.unlink(missing_ok=True)
    return arrays
