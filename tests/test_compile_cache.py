"""OpenVINO's compiled graphs are kept in the user's cache folder between runs: a second load reads them back
(no compilation), and a changed pack, or caching turned off, compiles afresh."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gsv_edge.runtime.pack import file_sha256
from gsv_edge.runtime.synthesizer import Synthesizer


def _decoder_from_cache(pack) -> bool:
    engine = Synthesizer.load(pack).engine
    assert engine.backend_for("sovits_dec").name == "openvino"
    return bool(engine.compiled("sovits_dec").get_property("LOADED_FROM_CACHE"))


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "gsv-edge" / "compiled"


def test_a_second_load_reads_the_compiled_graphs_back(runtime_pack, own_cache):
    assert not _decoder_from_cache(runtime_pack)
    assert len(list(own_cache.iterdir())) == 1
    assert _decoder_from_cache(runtime_pack)


def _resident_kb(path: str) -> int:
    """Resident kB of this process's maps of ``path`` (from /proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if line[:1] in "0123456789abcdef" and "-" in line.split()[0]:
            inside = line.rstrip().endswith(path)
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


def test_the_decoder_blob_read_back_is_not_kept_resident(runtime_pack, own_cache):
    """OpenVINO maps the blob and copies the weights out of it; once the decoder has run, its pages go back."""
    assert not _decoder_from_cache(runtime_pack)
    engine = Synthesizer.load(runtime_pack).engine
    (blob,) = engine._blobs["sovits_dec"]
    assert Path(blob).parent == own_cache / Path(blob).parent.name
    assert _resident_kb(blob) * 1024 < Path(blob).stat().st_size / 4


def test_a_changed_pack_compiles_afresh(runtime_pack, own_cache, tmp_path):
    assert not _decoder_from_cache(runtime_pack)
    changed = tmp_path / "changed"
    shutil.copytree(runtime_pack, changed)
    manifest = json.loads((changed / "manifest.json").read_text())
    decoder = next(g for g in manifest["graphs"] if g["name"] == "sovits_dec" and g["backend"] == "openvino")
    xml = changed / decoder["files"][0]
    xml.write_text(xml.read_text() + "<!-- edited -->\n")  # the same graph, but not the same file
    manifest["sha256"][decoder["files"][0]] = file_sha256(xml)
    (changed / "manifest.json").write_text(json.dumps(manifest))
    assert not _decoder_from_cache(changed)
    assert len(list(own_cache.iterdir())) == 2
    assert _decoder_from_cache(runtime_pack)  # the first pack's blobs are still there


def test_caching_can_be_turned_off(runtime_pack, own_cache, monkeypatch):
    monkeypatch.setenv("GSV_EDGE_COMPILE_CACHE", "0")
    assert not _decoder_from_cache(runtime_pack)
    assert not _decoder_from_cache(runtime_pack)
    assert not own_cache.exists()


def test_a_damaged_compiled_graph_is_compiled_again(runtime_pack, own_cache):
    assert not _decoder_from_cache(runtime_pack)
    for blob in own_cache.rglob("*.blob"):
        blob.chmod(0o644)
        blob.write_bytes(blob.read_bytes()[: blob.stat().st_size // 3])
    assert not _decoder_from_cache(runtime_pack)  # read back failed: compiled from the pack instead
