"""runtime.memory: the two things that keep resident memory down where the libraries would not."""

from __future__ import annotations

import mmap
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gsv_edge.runtime.memory import release_mapped_pages
from gsv_edge.runtime.synthesizer import Synthesizer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux memory accounting")


def resident_kb(path) -> int:
    """Resident kB of this process's maps of ``path`` (from /proc/self/smaps)."""
    total, inside = 0, False
    for line in open("/proc/self/smaps"):
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            inside = line.rstrip("\n").endswith(str(path))
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


def test_released_pages_leave_memory_and_come_back_unchanged(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, 8 << 20, dtype=np.uint8)
    path = tmp_path / "weights.bin"
    data.tofile(path)
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = np.frombuffer(mapped, dtype=np.uint8)
        assert int(view.sum()) == int(data.sum())  # every page read: resident
        assert resident_kb(path) >= 8 << 10
        assert release_mapped_pages(path) >= 8 << 20
        assert resident_kb(path) == 0
        assert np.array_equal(view, data)  # read again from the file, as it was
        del view


def test_private_maps_are_left_alone(tmp_path):
    # a private map's pages may differ from the file (written, like a library's relocated data): never dropped
    path = tmp_path / "data.bin"
    np.zeros(1 << 20, np.uint8).tofile(path)
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_COPY) as mapped:
        mapped[:4] = b"edit"
        assert release_mapped_pages(path) == 0
        assert mapped[:4] == b"edit"


def _rss_after_freeing_half(fix: bool) -> int:
    """MB still resident after 40 blocks of 2 MB are made and every other one freed, in a fresh process."""
    script = textwrap.dedent(f"""
        import numpy as np
        from gsv_edge.runtime.memory import fix_mmap_threshold
        if {fix}:
            assert fix_mmap_threshold()
        big = np.ones(4 << 20, np.uint8)
        del big  # freeing a mapped 4 MB block makes glibc serve blocks under 4 MB from its heap from now on
        def rss():
            return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) // 1024
        before = rss()
        blocks = [np.ones(2 << 20, np.uint8) for _ in range(40)]
        del blocks[::2]
        print(rss() - before)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


def test_a_fixed_mmap_threshold_hands_freed_blocks_back():
    # 20 blocks of 2 MB stay in use: 40 MB. Without the fix the 20 freed ones stay resident in the heap too.
    assert _rss_after_freeing_half(fix=False) >= 70
    assert _rss_after_freeing_half(fix=True) <= 50


def test_loading_a_pack_warms_the_decoder_and_drops_its_weight_file_pages(runtime_pack, tmp_path):
    synth = Synthesizer.load(runtime_pack, voices_dir=tmp_path)
    assert synth.engine.backend.name == "openvino"
    graph = synth.manifest.graph("sovits_dec", "openvino")
    weights = runtime_pack / next(name for name in graph.files if name.endswith(".bin"))
    assert resident_kb(weights.resolve()) == 0  # mapped by OpenVINO, but no longer resident
