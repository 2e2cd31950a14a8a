"""The model pack: the one contract between `convert` (which writes it) and the runtime (which reads it).

A pack is a folder::

    manifest.json          this schema
    t2s.int8.xml/.bin      OpenVINO IR per graph and precision
    t2s.fp32.onnx          ONNX per graph and precision (ONNX Runtime fallback)
    t2s_embeddings.npz     small host-side tables (no pickle)
    report.json            accuracy report of the conversion
    MODEL_CARD.md

Every file is listed with its sha256 so the runtime can tell a damaged or edited pack from a good one. Hashing
a few hundred MB on every start would cost seconds on a Raspberry Pi, so a successful check is remembered per
file (size, modification time, inode, device) in the user's cache folder, and a file is hashed again only when
any of those changed (or with ``full=True``, as ``gsv-edge doctor`` does).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gsv_edge.runtime.cache import cache_folder, write_atomically
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.settings import Settings

FORMAT = "gsv-edge-pack"
# 3: the manifest carries the profile's runtime and streaming settings. Older packs are refused: convert again.
FORMAT_VERSION = 3
MANIFEST = "manifest.json"


@dataclass
class GraphFile:
    """One exported graph in one format and precision."""

    name: str
    """What it computes: t2s, sovits, hubert, ref_enc, bert."""
    backend: str
    """openvino (IR .xml + .bin) or onnxruntime (.onnx)."""
    precision: str
    """Weight precision: fp32, fp16, int8 or int4."""
    files: list[str]
    """File names inside the pack (IR: xml then bin)."""
    inputs: list[str] = field(default_factory=list)
    """Input tensor names, in order."""
    outputs: list[str] = field(default_factory=list)
    """Output tensor names, in order."""
    stateful: bool = False
    """True when the graph keeps its KV cache as internal state (OpenVINO t2s)."""


@dataclass
class Manifest:
    """What a pack holds and where it came from."""

    model_version: str
    """GPT-SoVITS version of the source: v1, v2, v2Pro or v2ProPlus."""
    symbols: str
    """Phone table the text front end must use: v1 (322) or v2 (732)."""
    sample_rate: int
    """Output audio rate in Hz (32000 for every supported version)."""
    gpt: dict[str, Any]
    """GPT facts the host needs: d_model, heads, n_layer, vocab, eos, top_k."""
    graphs: list[GraphFile]
    """Every exported graph."""
    tables: dict[str, str] = field(default_factory=dict)
    """Host-side arrays by role (e.g. t2s_embeddings → t2s_embeddings.npz)."""
    sources: dict[str, dict[str, str]] = field(default_factory=dict)
    """Source files by role (gpt, sovits, hubert, bert, sv): name and sha256, to bind voices to this pack."""
    profile: str = ""
    """Name of the device profile the pack was made for (for people: the runtime reads ``settings``)."""
    settings: Settings = field(default_factory=Settings)
    """How the runtime runs the pack (the profile's [runtime] and [streaming]); a device may override it."""
    converter: dict[str, str] = field(default_factory=dict)
    """Tool name and version that wrote the pack."""
    sha256: dict[str, str] = field(default_factory=dict)
    """File name → sha256 of every file above."""
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "settings": self.settings.to_dict()}, indent=2, sort_keys=False) + "\n"

    @property
    def fingerprint(self) -> str:
        """Identifies the model a voice was enrolled against: hashes of the source checkpoints."""
        parts = sorted(f"{role}:{info.get('sha256', '')}" for role, info in self.sources.items())
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def graph(self, name: str, backend: str, precisions: tuple[str, ...] | None = None) -> GraphFile | None:
        """The graph ``name`` for ``backend``, preferring the precisions in the given order."""
        candidates = [g for g in self.graphs if g.name == name and g.backend == backend]
        if precisions:
            for precision in precisions:
                for graph in candidates:
                    if graph.precision == precision:
                        return graph
        return candidates[0] if candidates else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# A file modified this close to its check is hashed again next time: a same-size rewrite within one tick of
# the file system's clock would otherwise keep its old time (the "racy clean" case of git's index).
RECENT_NS = 2_000_000_000


def _stamp_path(folder: Path) -> Path:
    """Where the record of ``folder``'s last successful check lives."""
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:24]
    return cache_folder("verified") / f"{key}.json"


def _identity(path: Path) -> list[int]:
    status = path.stat()
    return [status.st_size, status.st_mtime_ns, status.st_ino, status.st_dev]


def _verify_files(folder: Path, manifest: Manifest, full: bool) -> None:
    """Hash every file the manifest lists, except those whose identity and expected hash match the record of an
    earlier check; then record this check (best effort: an unwritable cache only means hashing next time)."""
    stamp = _stamp_path(folder)
    try:
        known = {} if full else json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    record, now = {}, time.time_ns()
    for name, expected in manifest.sha256.items():
        file = folder / name
        if not file.is_file():
            raise GsvEdgeError(f"{folder}: {name} is missing from the pack; copy the whole folder again")
        identity = _identity(file)
        if known.get(name) != [*identity, expected] and file_sha256(file) != expected:
            raise GsvEdgeError(f"{folder}: {name} does not match its checksum; the pack is damaged, copy it again")
        if now - identity[1] > RECENT_NS:
            record[name] = [*identity, expected]
    if record != known:
        write_atomically(stamp, lambda partial: partial.write_text(json.dumps(record), encoding="utf-8"))


def read_manifest(folder: str | Path, verify: bool = True, full: bool = False) -> Manifest:
    """Read and check a pack's manifest (and, with ``verify``, every file's hash; files unchanged since an
    earlier successful check are not hashed again unless ``full``). Raises GsvEdgeError."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise GsvEdgeError(f"{folder}: not a gsv-edge pack (no {MANIFEST}); make one with 'gsv-edge convert'")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise GsvEdgeError(f"{path}: unreadable manifest ({err}); convert the model again") from None
    if data.get("format") != FORMAT:
        raise GsvEdgeError(f"{path}: not a gsv-edge pack manifest")
    if data.get("format_version") != FORMAT_VERSION:
        raise GsvEdgeError(
            f"{path}: pack format {data.get('format_version')} but this gsv-edge reads format {FORMAT_VERSION}; "
            "convert the model again with this version"
        )
    try:
        data["graphs"] = [GraphFile(**graph) for graph in data["graphs"]]
        data["settings"] = Settings.from_dict(data.get("settings"), f"{path}")
        manifest = Manifest(**data)
    except (TypeError, KeyError) as err:
        raise GsvEdgeError(f"{path}: malformed manifest ({err}); convert the model again") from None
    if verify:
        _verify_files(folder, manifest, full)
    return manifest
