"""The model pack: the one contract between `convert` (which writes it) and the runtime (which reads it).

A pack is a folder::

    manifest.json          this schema
    t2s.int8.xml/.bin      OpenVINO IR per graph and precision
    t2s.fp32.onnx          ONNX per graph and precision (ONNX Runtime fallback)
    t2s_embeddings.npz     small host-side tables (no pickle)
    text/                  the text front end's run-time data files (runtime/text/data.py)
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
    text_data: dict[str, dict[str, str]] = field(default_factory=dict)
    """The text front end's data files by role (runtime/text/data.py): path in the pack, sha256, origin (upstream's
    copy it was checked against). Each path is also in ``sha256``, so loading the pack checks it."""
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
    """What changes when a file's content may have: a same-size rewrite with its mtime put back (``touch -r``)
    still moves the ctime, which no user call can set."""
    status = path.stat()
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev]


def _verify_files(folder: Path, manifest: Manifest, full: bool) -> None:
    """Hash every file the manifest lists, except those whose identity and expected hash match the record of an
    earlier check; then record this check (best effort: an unwritable cache only means hashing next time)."""
    stamp = _stamp_path(folder)
    try:
        known = {} if full else json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):  # a damaged record is ignored: everything is hashed
        known = {}
    record, now = {}, time.time_ns()
    for name, expected in manifest.sha256.items():
        file = folder / name
        if not file.is_file():
            _forget(stamp)
            raise GsvEdgeError(f"{folder}: {name} is missing from the pack; copy the whole folder again")
        identity = _identity(file)
        if known.get(name) != [*identity, expected] and file_sha256(file) != expected:
            _forget(stamp)
            raise GsvEdgeError(f"{folder}: {name} does not match its checksum; the pack is damaged, copy it again")
        if now - max(identity[1], identity[2]) > RECENT_NS:
            record[name] = [*identity, expected]
    if record != known:
        write_atomically(stamp, lambda partial: partial.write_text(json.dumps(record), encoding="utf-8"))


def _forget(stamp: Path) -> None:
    """A failed check drops the record, so nothing it vouched for is trusted again without hashing."""
    try:
        stamp.unlink(missing_ok=True)
    except OSError:
        pass


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
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise GsvEdgeError(f"{path}: not a gsv-edge pack manifest; make one with 'gsv-edge convert'")
    if data.get("format_version") != FORMAT_VERSION:
        raise GsvEdgeError(
            f"{path}: pack format {data.get('format_version')!r}, but this gsv-edge reads format {FORMAT_VERSION}; "
            "convert the model again with this version"
        )
    try:
        _check_schema(data)
        data["graphs"] = [GraphFile(**graph) for graph in data["graphs"]]
        data["settings"] = Settings.from_dict(data.get("settings"), f"{path}")
        manifest = Manifest(**data)
    except (TypeError, KeyError, ValueError) as err:
        message = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
        raise GsvEdgeError(f"{path}: malformed manifest ({message}); convert the model again") from None
    _check_paths(folder, manifest)
    if verify:
        _verify_files(folder, manifest, full)
    return manifest


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _check_schema(data: dict) -> None:
    """Types of the manifest's fields (what dataclass construction would not check); ValueError names the field."""
    if not isinstance(data.get("graphs"), list) or not data["graphs"]:
        raise ValueError("graphs must be a non-empty list")
    for graph in data["graphs"]:
        if not isinstance(graph, dict):
            raise ValueError("each graph must be an object")
        for key in ("name", "backend", "precision"):
            if not isinstance(graph.get(key), str):
                raise ValueError(f"graph {key} must be a string")
        for key in ("files", "inputs", "outputs"):
            value = graph.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"graph {key} must be a list of strings")
        if not graph.get("files"):
            raise ValueError(f"graph {graph['name']} has no files")
    if not _is_str_map(data.get("tables", {})):
        raise ValueError("tables must map roles to file names")
    if not _is_str_map(data.get("sha256")) or not all(
        len(h) == 64 and all(c in "0123456789abcdef" for c in h) for h in data["sha256"].values()
    ):
        raise ValueError("sha256 must map file names to hex digests")
    sources = data.get("sources", {})
    if not isinstance(sources, dict) or not all(_is_str_map(v) for v in sources.values()):
        raise ValueError("sources must map roles to {name, sha256}")
    text_data = data.get("text_data", {})
    if not isinstance(text_data, dict):
        raise ValueError("text_data must map roles to {path, sha256, origin}")
    for role, entry in text_data.items():
        if not _is_str_map(entry) or not {"path", "sha256", "origin"} <= set(entry):
            raise ValueError(f"text_data {role!r} must be {{path, sha256, origin}} strings")
        if data["sha256"].get(entry["path"]) != entry["sha256"]:
            raise ValueError(f"text_data {role!r}: {entry['path']} is not in sha256 with the same hash")
    for key in ("model_version", "symbols", "profile"):
        if not isinstance(data.get(key, ""), str):
            raise ValueError(f"{key} must be a string")
    if data.get("symbols") not in ("v1", "v2"):
        raise ValueError("symbols must be v1 or v2")
    if not isinstance(data.get("sample_rate"), int) or not isinstance(data.get("gpt"), dict):
        raise ValueError("sample_rate must be an integer and gpt an object")
    if any(isinstance(g, dict) and g.get("name") == "bert" for g in data["graphs"]) and "bert_tokenizer" not in (
        data.get("tables") or {}
    ):
        raise ValueError("a pack with a bert graph needs tables.bert_tokenizer")
    top_k = data["gpt"].get("top_k", 15)  # the one GPT setting the runtime reads (the model's default top-k)
    if type(top_k) is not int or not 1 <= top_k <= 1025:
        raise ValueError(f"gpt.top_k must be an integer of 1-1025, not {top_k!r}")


def _check_paths(folder: Path, manifest: Manifest) -> None:
    """Every file the manifest names stays inside the pack once resolved (no '..', no absolute path, no link
    out), and every file a graph or table uses is covered by a hash."""
    root = folder.resolve()
    named = [f for g in manifest.graphs for f in g.files] + list(manifest.tables.values()) + list(manifest.sha256)
    named += [entry["path"] for entry in manifest.text_data.values()]
    for name in named:
        target = (folder / name).resolve()
        if Path(name).is_absolute() or not target.is_relative_to(root) or target == root:
            raise GsvEdgeError(f"{folder}: the manifest names {name!r}, outside the pack; convert the model again")
    hashed = set(manifest.sha256)
    for name in [f for g in manifest.graphs for f in g.files] + list(manifest.tables.values()):
        path = folder / name
        covered = (
            [f"{name}/{child.name}" for child in path.iterdir()] if path.is_dir() else [name]
        )  # a table may be a folder (g2pw/): each of its files
        missing = [f for f in covered if f not in hashed]
        if missing:
            raise GsvEdgeError(f"{folder}: {missing[0]} has no checksum in the manifest; convert the model again")
