"""The pack manifest: written by convert, read (and checked) by the runtime."""

from __future__ import annotations

import json

import pytest

from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import GraphFile, Manifest, file_sha256, read_manifest


def _pack(tmp_path):
    (tmp_path / "t2s.int8.xml").write_text("<net/>")
    (tmp_path / "t2s.int8.bin").write_bytes(b"\x00" * 64)
    (tmp_path / "t2s.fp32.onnx").write_bytes(b"onnx")
    graphs = [
        GraphFile("t2s", "openvino", "int8", ["t2s.int8.xml", "t2s.int8.bin"], ["x", "mask"], ["logits"], True),
        GraphFile("t2s", "onnxruntime", "fp32", ["t2s.fp32.onnx"], ["x", "mask"], ["logits"]),
    ]
    manifest = Manifest(
        model_version="v2", symbols="v2", sample_rate=32000, gpt={"eos": 1024}, graphs=graphs,
        sources={"gpt": {"name": "a.ckpt", "sha256": "aa"}, "sovits": {"name": "b.pth", "sha256": "bb"}},
    )  # fmt: skip
    manifest.sha256 = {f: file_sha256(tmp_path / f) for g in graphs for f in g.files}
    (tmp_path / "manifest.json").write_text(manifest.to_json())
    return manifest


def test_round_trip_and_graph_choice(tmp_path):
    written = _pack(tmp_path)
    read = read_manifest(tmp_path)
    assert read == written
    assert read.graph("t2s", "openvino", ("int4", "int8")).precision == "int8"
    assert read.graph("t2s", "onnxruntime").files == ["t2s.fp32.onnx"]
    assert read.graph("sovits", "openvino") is None
    assert len(read.fingerprint) == 16


def test_fingerprint_follows_the_sources(tmp_path):
    manifest = _pack(tmp_path)
    other = Manifest(**{**manifest.__dict__, "sources": {"gpt": {"sha256": "zz"}, "sovits": {"sha256": "bb"}}})
    assert other.fingerprint != manifest.fingerprint


def test_damaged_or_foreign_packs_are_refused(tmp_path):
    with pytest.raises(GsvEdgeError, match="not a gsv-edge pack"):
        read_manifest(tmp_path)
    _pack(tmp_path)
    (tmp_path / "t2s.int8.bin").write_bytes(b"\x01" * 64)
    with pytest.raises(GsvEdgeError, match="does not match its checksum"):
        read_manifest(tmp_path)
    read_manifest(tmp_path, verify=False)
    (tmp_path / "t2s.fp32.onnx").unlink()
    (tmp_path / "t2s.int8.bin").write_bytes(b"\x00" * 64)
    with pytest.raises(GsvEdgeError, match="missing from the pack"):
        read_manifest(tmp_path)
    data = json.loads((tmp_path / "manifest.json").read_text())
    data["format_version"] = 99
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(GsvEdgeError, match="convert the model again"):
        read_manifest(tmp_path)


def test_unchanged_files_are_not_hashed_again(tmp_path, monkeypatch):
    """A successful check is remembered per file (size, times, inode, device) in the user's cache folder; a file
    is hashed again when any of those changes, and always with full=True."""
    import os

    import gsv_edge.runtime.pack as pack_module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "pack"
    folder.mkdir()
    _pack(folder)
    old = 1_600_000_000_000_000_000  # files older than the check: a fresh file is hashed every time (racy)
    for name in ("t2s.int8.xml", "t2s.int8.bin", "t2s.fp32.onnx"):
        os.utime(folder / name, ns=(old, old))
    hashed = []

    def counting_sha256(path):
        hashed.append(path.name)
        return file_sha256(path)

    monkeypatch.setattr(pack_module, "file_sha256", counting_sha256)
    # the change time cannot be set back, and a file changed within RECENT_NS of a check is never recorded (that
    # rule has its own test below): here every file counts as old
    monkeypatch.setattr(pack_module, "RECENT_NS", 0)
    read_manifest(folder)
    assert sorted(hashed) == ["t2s.fp32.onnx", "t2s.int8.bin", "t2s.int8.xml"]
    hashed.clear()
    read_manifest(folder)
    assert hashed == []
    read_manifest(folder, full=True)
    assert len(hashed) == 3

    # same size, same (restored) time, other bytes: the rewrite gave the file a new inode, so it is hashed again
    hashed.clear()
    replacement = folder / "replacement.bin"
    replacement.write_bytes(b"\x01" * 64)
    os.utime(replacement, ns=(old, old))
    os.replace(replacement, folder / "t2s.int8.bin")
    with pytest.raises(GsvEdgeError, match="does not match its checksum"):
        read_manifest(folder)
    assert hashed == ["t2s.int8.bin"]


def test_a_fresh_file_is_hashed_every_time_and_an_unwritable_cache_is_no_error(tmp_path, monkeypatch):
    import gsv_edge.runtime.pack as pack_module

    (tmp_path / "cache").write_text("not a folder")  # the cache cannot be created
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "pack"
    folder.mkdir()
    _pack(folder)
    hashed = []
    monkeypatch.setattr(pack_module, "file_sha256", lambda path: hashed.append(path.name) or file_sha256(path))
    read_manifest(folder)
    read_manifest(folder)
    assert len(hashed) == 6
