"""Read official GPT-SoVITS checkpoints without ever running code from them.

Both file kinds are ``torch.save`` zip archives holding a pickle. A pickle can name any Python callable, so
they are read with torch's weights-only unpickler, which only rebuilds tensors and plain containers. The one
extra class it is allowed to build is an inert stand-in for upstream's ``utils.HParams``: official SoVITS
trainer files pickle their config as that class (a dict wrapper), and refusing it would refuse every
fine-tune made with the upstream webui.

What the loader returns is plain data: fp32 tensors (the files store fp16), weight norm folded, and the
config as nested dicts. A SoVITS file's version is decided from the file's own evidence, strongest first: the
two-byte header code that replaces "PK" (v2Pro "05", v2ProPlus "06", ...), the weights themselves
(speaker-verification layers only exist in v2Pro/v2ProPlus, the phone table has 322 rows in v1 and 732 in v2,
v3/v4 carry a flow-matching "cfm" module), then the config's ``version`` field. Upstream also guesses from the
file size; we never do, because small fine-tunes and tiny test models break it. Whether a GPT and a SoVITS file
belong together is ``convert.versions``' concern (it reads what this module returns).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import re
import sys
import types
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gsv_edge.runtime.errors import GsvEdgeError

# v2Pro/v2ProPlus (and v3/v4 LoRA) files overwrite the zip's "PK" magic with a two-character version code;
# the rest of the archive is intact. Meaning of each code, as upstream's trainer writes them.
HEADER_CODES = {
    b"00": "v1",
    b"01": "v2",
    b"02": "v3",
    b"03": "v3-lora",
    b"04": "v4-lora",
    b"05": "v2Pro",
    b"06": "v2ProPlus",
}
ZIP_MAGIC = b"PK"
# Legacy (pre-zip) torch files and bare pickles start with the pickle PROTO opcode.
PICKLE_MAGIC = b"\x80"


class CheckpointError(GsvEdgeError):
    """A checkpoint that cannot or must not be used; the message is one line naming the problem and the fix."""


class HParams:
    """Inert stand-in for upstream ``utils.HParams``: unpickling only fills its ``__dict__``."""

    def to_dict(self) -> dict[str, Any]:
        return {key: _plain(value) for key, value in vars(self).items()}


# Pickle looks classes up by module and qualified name; this is the name official SoVITS files use.
HParams.__module__ = "utils"
HParams.__qualname__ = "HParams"


def _plain(value: Any) -> Any:
    """Turn HParams (and containers of them) into plain dicts and lists."""
    if isinstance(value, HParams):
        return value.to_dict()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


@dataclass
class RawCheckpoint:
    """What a checkpoint file holds, read safely."""

    path: Path
    header: str  # "PK" or the version code that replaced it ("05", ...)
    payload: dict[str, Any]  # the unpickled top-level dict: weight, config, info[, lora_rank]
    sha256: str  # of the file bytes as stored


def read_checkpoint(path: str | Path) -> RawCheckpoint:
    """Read a torch checkpoint file with the weights-only unpickler. Raises CheckpointError."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder; pass the .ckpt or .pth file inside it")
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    if len(data) < 4:
        raise CheckpointError(f"{path}: file is empty or truncated ({len(data)} bytes); copy it again")
    head = data[:2]
    if head == ZIP_MAGIC:
        header = "PK"
    elif head in HEADER_CODES:
        header = head.decode("ascii")
        data = ZIP_MAGIC + data[2:]
    elif head[:1] == PICKLE_MAGIC:
        header = "pickle"
    else:
        raise CheckpointError(
            f"{path}: not a GPT-SoVITS checkpoint (starts with {head!r}, expected a torch zip archive); "
            "pass a GPT .ckpt or SoVITS .pth file"
        )
    if header != "pickle" and not zipfile.is_zipfile(io.BytesIO(data)):
        raise CheckpointError(f"{path}: the zip archive is truncated or corrupt; copy or download it again")
    try:
        with torch.serialization.safe_globals([HParams]):
            payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        reason = str(err).split("\n")[0].strip()
        if "global" in str(err).lower() or "unsupported" in str(err).lower():
            # Name only what the pickle asked for: torch's own text goes on to advise weights_only=False.
            wanted = re.search(r"GLOBAL ([\w.]+)", str(err))
            what = f" ({wanted.group(1)})" if wanted else ""
            raise CheckpointError(
                f"{path}: refused, the pickle asks to run code{what}, which a weights file never needs; "
                "only use checkpoints from a source you trust"
            ) from None
        raise CheckpointError(f"{path}: unreadable pickle ({reason}); the file is corrupt") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, KeyError, ValueError) as err:
        reason = str(err).split("\n")[0].strip()
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({reason}); copy it again") from None
    if not isinstance(payload, dict):
        raise CheckpointError(
            f"{path}: holds a {type(payload).__name__}, not a GPT-SoVITS checkpoint dict; "
            "pass a file from GPT_weights*/ or SoVITS_weights*/"
        )
    return RawCheckpoint(path=path, header=header, payload=payload, sha256=sha256)


def _weights(raw: RawCheckpoint) -> dict[str, torch.Tensor]:
    weight = raw.payload.get("weight")
    if not isinstance(weight, dict) or not weight:
        if "state_dict" in raw.payload:
            raise CheckpointError(
                f"{raw.path}: this is a training checkpoint (logs_*/), not an exported model; "
                "use the file the upstream webui writes to GPT_weights*/ or SoVITS_weights*/"
            )
        raise CheckpointError(f"{raw.path}: no 'weight' state dict inside; this is not a GPT-SoVITS model file")
    tensors = {}
    for name, value in weight.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{raw.path}: entry {name!r} is a {type(value).__name__}, not a tensor")
        tensors[name] = value.float() if value.is_floating_point() else value
    return tensors


# Weight-normed parameters come in pairs: (magnitude g, direction v). Old torch names, then newer ones.
_WEIGHT_NORM_PAIRS = (
    ("weight_g", "weight_v"),
    ("parametrizations.weight.original0", "parametrizations.weight.original1"),
)


def fold_weight_norm(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace weight-normed pairs by the plain weight they stand for: weight = g * v / |v|.

    The norm runs over every dim except dim 0 of the stored tensor. For ConvTranspose1d the stored layout is
    [in, out, k], so that is a norm per input channel.
    """
    folded = dict(state_dict)
    for name in list(state_dict):
        for g_name, v_name in _WEIGHT_NORM_PAIRS:
            if name != g_name and not name.endswith("." + g_name):
                continue
            prefix = name[: -len(g_name)]
            if prefix + v_name not in state_dict:
                continue
            g, v = folded.pop(prefix + g_name), folded.pop(prefix + v_name)
            folded[prefix + "weight"] = v * (g / v.norm(dim=tuple(range(1, v.dim())), keepdim=True))
    return folded


def unfold_weight_norm(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The (weight_g, weight_v) pair that an official file stores for a plain weight (inverse of folding)."""
    return weight.norm(dim=tuple(range(1, weight.dim())), keepdim=True), weight.clone()


def to_hparams(config: dict[str, Any]) -> HParams:
    """Wrap a config dict the way upstream's SoVITS trainer pickles it (nested HParams)."""
    hparams = HParams()
    for key, value in config.items():
        setattr(hparams, key, to_hparams(value) if isinstance(value, dict) else value)
    return hparams


@contextlib.contextmanager
def _upstream_utils_module():
    """Let pickle find ``utils.HParams`` while writing: pickle re-imports a class by name to check it."""
    previous = sys.modules.get("utils")
    stand_in = types.ModuleType("utils")
    stand_in.HParams = HParams
    sys.modules["utils"] = stand_in
    try:
        yield
    finally:
        if previous is None:
            del sys.modules["utils"]
        else:
            sys.modules["utils"] = previous


def write_checkpoint(payload: dict[str, Any], path: str | Path, header: str = "PK") -> Path:
    """Write a checkpoint in upstream's container format, atomically (temp file, then rename).

    ``header`` replaces the zip's "PK" magic with a version code ("05" v2Pro, "06" v2ProPlus), as upstream does.
    """
    path = Path(path)
    buffer = io.BytesIO()
    with _upstream_utils_module():
        torch.save(payload, buffer)
    data = buffer.getvalue()
    if header != "PK":
        data = header.encode("ascii") + data[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@dataclass
class GptCheckpoint:
    """A GPT (Text2SemanticDecoder) checkpoint, ready for the reference module."""

    path: Path
    state_dict: dict[str, torch.Tensor]  # fp32, keys without upstream's "model." prefix
    config: dict[str, Any]  # the training yaml as a dict
    info: str
    sha256: str
    header: str = "PK"

    @property
    def model_config(self) -> dict[str, Any]:
        return self.config["model"]

    @property
    def phone_vocab(self) -> int:
        return int(self.state_dict["ar_text_embedding.word_embeddings.weight"].shape[0])

    @property
    def symbol_version(self) -> str:
        """Phone table the GPT was trained on: v1 GPTs have a 512-row phone embedding, v2 ones 732."""
        return "v1" if self.phone_vocab < 732 else "v2"

    @property
    def top_k(self) -> int:
        return int(self.config.get("inference", {}).get("top_k", 15))

    def n_params(self) -> int:
        return sum(t.numel() for t in self.state_dict.values())


@dataclass
class SovitsCheckpoint:
    """A SoVITS (SynthesizerTrn) checkpoint, ready for the reference module."""

    path: Path
    state_dict: dict[str, torch.Tensor]  # fp32, weight norm folded, training-only enc_q.* dropped
    config: dict[str, Any]  # nested plain dicts (HParams unwrapped)
    info: str
    sha256: str
    header: str
    version: str  # "v1", "v2", "v2Pro" or "v2ProPlus"
    evidence: str  # how the version was decided, for `inspect`
    dropped_keys: list[str] = field(default_factory=list)  # training-only keys that were present

    @property
    def model_config(self) -> dict[str, Any]:
        return self.config["model"]

    @property
    def symbol_version(self) -> str:
        return "v1" if int(self.state_dict["enc_p.text_embedding.weight"].shape[0]) == 322 else "v2"

    def n_params(self) -> int:
        return sum(t.numel() for t in self.state_dict.values())


# --- what a file is ------------------------------------------------------------------------------------------

SYMBOL_TABLE_ROWS = {322: "v1", 732: "v2"}
# GPT phone-embedding rows per symbol table: the v1 GPT was trained with a 512-row table over the 322 symbols.
GPT_PHONE_ROWS = {512: "v1", 732: "v2"}
OUT_OF_SCOPE = (
    "{what}: gsv-edge runs v1, v2, v2Pro and v2ProPlus; v3/v4 use a flow-matching decoder and a large vocoder "
    "(15-60x the compute) that small CPUs cannot run in real time; use a v2Pro or v2ProPlus model instead"
)


def detect_sovits_version(
    raw: RawCheckpoint, weights: dict[str, torch.Tensor], config: dict[str, Any]
) -> tuple[str, str]:
    """Return (version, evidence) for a SoVITS checkpoint, or raise CheckpointError for v3/v4/LoRA files."""
    where = str(raw.path)
    code = raw.header.encode("ascii") if raw.header not in ("PK", "pickle") else None
    header_version = HEADER_CODES.get(code) if code else None
    config_version = str(config.get("model", {}).get("version") or config.get("version") or "")

    if header_version in ("v3-lora", "v4-lora") or "lora_rank" in raw.payload:
        kind = header_version or "LoRA"
        raise CheckpointError(OUT_OF_SCOPE.format(what=f"{where} is a {kind} fine-tune"))
    if header_version == "v3" or config_version in ("v3", "v4") or any(k.startswith("cfm.") for k in weights):
        raise CheckpointError(OUT_OF_SCOPE.format(what=f"{where} is a GPT-SoVITS {config_version or 'v3/v4'} model"))

    if "enc_p.text_embedding.weight" not in weights:
        raise CheckpointError(f"{where}: no enc_p.text_embedding weights; this is not a SoVITS model file")
    rows = int(weights["enc_p.text_embedding.weight"].shape[0])
    if rows not in SYMBOL_TABLE_ROWS:
        raise CheckpointError(
            f"{where}: the phone table has {rows} rows; GPT-SoVITS uses 322 (v1) or 732 (v2), so this is not a "
            "GPT-SoVITS SoVITS file"
        )
    has_sv = "sv_emb.weight" in weights

    if header_version in ("v2Pro", "v2ProPlus"):
        if not has_sv:
            raise CheckpointError(
                f"{where}: the header says {header_version} but the speaker-verification layers (sv_emb.*) are "
                "missing; the file is damaged or mislabelled, export it again"
            )
        return header_version, f"header code {raw.header!r}"
    if has_sv:
        # A v2Pro-family file that lost its header code (e.g. re-saved by another tool).
        if config_version in ("v2Pro", "v2ProPlus"):
            return config_version, "speaker-verification layers present, config version"
        channels = int(weights["dec.conv_pre.weight"].shape[0]) if "dec.conv_pre.weight" in weights else 0
        guess = "v2ProPlus" if channels >= 768 else "v2Pro"
        return guess, f"speaker-verification layers present, generator width {channels}"
    version = SYMBOL_TABLE_ROWS[rows]
    evidence = f"{rows}-symbol phone table"
    if header_version in ("v1", "v2") and header_version != version:
        evidence += f" (header code {raw.header!r} says {header_version}; the weights win)"
    return version, evidence


def check_gpt(ckpt: GptCheckpoint) -> None:
    """Refuse GPT files that are not a GPT-SoVITS Text2SemanticDecoder we can run."""
    model = ckpt.model_config
    for key in ("embedding_dim", "hidden_dim", "head", "n_layer", "vocab_size", "phoneme_vocab_size"):
        if key not in model:
            raise CheckpointError(f"{ckpt.path}: the GPT config lacks model.{key}; this is not a GPT-SoVITS GPT file")
    name = "ar_text_embedding.word_embeddings.weight"
    if name not in ckpt.state_dict:
        raise CheckpointError(f"{ckpt.path}: no model.{name}; this is not a GPT-SoVITS GPT file")
    if ckpt.phone_vocab not in GPT_PHONE_ROWS and ckpt.phone_vocab < 732:
        raise CheckpointError(
            f"{ckpt.path}: the GPT phone embedding has {ckpt.phone_vocab} rows; expected 512 (v1) or 732 (v2)"
        )


def _config_dict(raw: RawCheckpoint) -> dict[str, Any]:
    config = _plain(raw.payload.get("config"))
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise CheckpointError(f"{raw.path}: the checkpoint has no model config; it was not written by GPT-SoVITS")
    return config


def load_gpt(path: str | Path) -> GptCheckpoint:
    """Load a GPT ``.ckpt`` (or refuse it with CheckpointError)."""
    ckpt = load_any(path)
    if not isinstance(ckpt, GptCheckpoint):
        raise CheckpointError(f"{ckpt.path}: this is a SoVITS file; pass it with --sovits, not --gpt")
    return ckpt


def load_sovits(path: str | Path) -> SovitsCheckpoint:
    """Load a SoVITS ``.pth`` (or refuse it with CheckpointError)."""
    ckpt = load_any(path)
    if not isinstance(ckpt, SovitsCheckpoint):
        raise CheckpointError(f"{ckpt.path}: this is a GPT file; pass it with --gpt, not --sovits")
    return ckpt


def load_any(path: str | Path) -> GptCheckpoint | SovitsCheckpoint:
    """Load a GPT or SoVITS checkpoint, telling them apart by their weights (GPT keys start with "model.")."""
    raw = read_checkpoint(path)
    weights = _weights(raw)
    config = _config_dict(raw)
    if any(name.startswith("model.") for name in weights):
        return _gpt_from(raw, weights, config)
    return _sovits_from(raw, weights, config)


def _gpt_from(raw: RawCheckpoint, weights: dict[str, torch.Tensor], config: dict[str, Any]) -> GptCheckpoint:
    ckpt = GptCheckpoint(
        path=raw.path,
        state_dict={name.removeprefix("model."): tensor for name, tensor in weights.items()},
        config=config,
        info=str(raw.payload.get("info", "")),
        sha256=raw.sha256,
        header=raw.header,
    )
    check_gpt(ckpt)
    return ckpt


def _sovits_from(raw: RawCheckpoint, weights: dict[str, torch.Tensor], config: dict[str, Any]) -> SovitsCheckpoint:
    version, evidence = detect_sovits_version(raw, weights, config)
    return SovitsCheckpoint(
        path=raw.path,
        state_dict=fold_weight_norm({k: v for k, v in weights.items() if not k.startswith("enc_q.")}),
        config=config,
        info=str(raw.payload.get("info", "")),
        sha256=raw.sha256,
        header=raw.header,
        version=version,
        evidence=evidence,
        dropped_keys=sorted(name for name in weights if name.startswith("enc_q.")),
    )
