"""Keeping the process's resident memory down where the libraries would not: a board has a few hundred MB.

Both helpers act on Linux with glibc only and are silent no-ops elsewhere; neither changes any result.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
from pathlib import Path

import numpy as np

_M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    except (OSError, AttributeError):  # no such C library functions here
        return None
    return libc


def fix_mmap_threshold(size: int = 128 * 1024) -> bool:
    """Serve every allocation of ``size`` bytes or more with its own memory map, returned to the system on free.

    glibc starts with this threshold but raises it each time such a block is freed (up to 32 MB), after which
    big blocks come from the heap and stay resident once freed. A run of the GPT frees many multi-MB tensors, so
    the threshold climbs within one call: measured on the demo GPT, a 320-row prefill left 300-400 MB resident
    (varying run to run) instead of 20 MB. Setting it explicitly stops the climb. Returns whether it was set.
    """
    libc = _libc()
    return bool(libc and libc.mallopt(_M_MMAP_THRESHOLD, size) == 1)


def trim_heap() -> None:
    """Return the heap's free pages to the system (glibc's ``malloc_trim``), e.g. after building a big table
    whose temporaries are gone: without ``fix_mmap_threshold`` in force (a text-only process) glibc keeps them
    resident (~34 MB after the Chinese tables are built)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def release_mapped_pages(path: str | Path) -> int:
    """Let the kernel drop the resident pages of every read-only shared memory map of ``path``; returns the
    bytes advised (0 where there is none, or off Linux).

    OpenVINO memory-maps an IR's weight file and keeps the map open after compiling, but once its CPU plugin has
    converted and repacked the weights (on the first inference) it does not read that file again; its pages
    would stay resident for nothing (47 MB for the demo model's decoder). A read-only file map refills itself
    from the file on any later access, so this changes memory use only, never results.
    """
    libc = _libc()
    if libc is None:
        return 0
    target = str(Path(path).resolve())
    released = 0
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            # Only read-only shared maps: a private map may hold pages written before it was made read-only
            # (a library's relocated data), which dropping would replace with the file's original bytes.
            if len(fields) < 6 or fields[5].rstrip("\n") != target or fields[1] != "r--s":
                continue
            start, end = (int(address, 16) for address in fields[0].split("-"))
            if libc.madvise(start, end - start, mmap.MADV_DONTNEED) == 0:
                released += end - start
    return released


def mapped_files(folder: str | Path) -> set[str]:
    """The files under ``folder`` this process has memory-mapped read-only (empty off Linux)."""
    prefix = str(Path(folder).resolve()) + "/"
    try:
        with open("/proc/self/maps") as maps:
            fields = [line.split(maxsplit=5) for line in maps]
    except OSError:
        return set()
    return {f[5].rstrip("\n") for f in fields if len(f) == 6 and f[5].startswith(prefix)}  # 5: no file behind it


def resident_bytes(address: int, length: int) -> int | None:
    """Bytes of the memory at ``address`` .. ``address + length`` that are resident now and the process's own
    (whole pages it touches), from /proc/self/pagemap; None where there is no pagemap (not Linux). Each page has
    one 8-byte entry: bit 63 "present", bit 56 "mapped by this process alone" (both readable without privileges,
    unlike the frame numbers). A page only read so far maps the kernel's shared zero page: present, not the
    process's own, and not in its RSS, so it is not counted."""
    pagemap = Path("/proc/self/pagemap")
    if length <= 0:
        return 0
    if not pagemap.exists():
        return None
    page = mmap.PAGESIZE
    start, end = address // page, -(-(address + length) // page)
    with open(pagemap, "rb") as entries:
        entries.seek(start * 8)
        raw = entries.read((end - start) * 8)
    entry = np.frombuffer(raw, np.uint64)
    owned = ((entry >> np.uint64(63)) & (entry >> np.uint64(56))) & np.uint64(1)
    return int(owned.sum()) * page
