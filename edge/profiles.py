"""Device profiles: what `convert` should produce for a device class and how the runtime should run it.

Profiles are TOML files in the ``profiles`` package (rpi4, rpi5, nuc, laptop); a path to your own TOML file
works anywhere a profile name does.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from edge.errors import UserError
from runtime.vocoder import DECODER_CONTEXT_FRAMES

WEIGHT_FORMATS = {
    "t2s_weight_format": ("int8", "int4", "fp16", "fp32"),
    "sovits_weight_format": ("fp16", "int8", "fp32"),
    "bert_weight_format": ("int8", "fp16", "fp32"),
}
BACKENDS = ("openvino", "onnxruntime")
PRECISIONS = ("auto", "f32", "f16", "bf16")


@dataclass(frozen=True)
class Profile:
    """A device profile, validated."""

    name: str
    """Short name (the file's stem)."""
    description: str
    """One line for humans."""
    convert: dict[str, Any]
    """Precisions to produce: t2s_weight_format, sovits_weight_format, bert_weight_format, onnx, and
    sovits_enc_onnx_format (optional, fp32 when absent)."""
    runtime: dict[str, Any]
    """backend, device, threads (0 = all cores), inference_precision."""
    streaming: dict[str, Any]
    """first_chunk_tokens, chunk_tokens, left_context_tokens, crossfade_ms, lookahead_tokens, overlap."""


def available_profiles() -> list[str]:
    return sorted(
        p.name.removesuffix(".toml") for p in resources.files("profiles").iterdir() if p.name.endswith(".toml")
    )


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a bundled profile by name, or a TOML file by path. Raises UserError naming the fix."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise UserError(
                f"profile file {path} not found; pass one of {', '.join(available_profiles())} or a .toml path"
            )
        text = path.read_text(encoding="utf-8")
    else:
        resource = resources.files("profiles") / f"{name_or_path}.toml"
        if not resource.is_file():
            raise UserError(f"unknown profile {name_or_path!r}; choose one of {', '.join(available_profiles())}")
        text = resource.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"profile {name_or_path}: not valid TOML ({err}); fix the file") from None
    return _validate(data, str(name_or_path))


def _validate(data: dict[str, Any], where: str) -> Profile:
    for section in ("convert", "runtime", "streaming"):
        if not isinstance(data.get(section), dict):
            raise UserError(f"profile {where}: missing [{section}] section; copy one from profiles/laptop.toml")
    convert, runtime, streaming = data["convert"], data["runtime"], data["streaming"]
    for key, allowed in WEIGHT_FORMATS.items():
        if convert.get(key) not in allowed:
            raise UserError(f"profile {where}: convert.{key} must be one of {', '.join(allowed)}")
    if convert.get("sovits_enc_onnx_format", "fp32") not in ("fp32", "int8"):
        raise UserError(f"profile {where}: convert.sovits_enc_onnx_format must be fp32 or int8")
    if runtime.get("backend") not in BACKENDS:
        raise UserError(f"profile {where}: runtime.backend must be one of {', '.join(BACKENDS)}")
    if runtime.get("inference_precision", "auto") not in PRECISIONS:
        raise UserError(f"profile {where}: runtime.inference_precision must be one of {', '.join(PRECISIONS)}")
    for key in ("first_chunk_tokens", "chunk_tokens", "left_context_tokens"):
        if not isinstance(streaming.get(key), int) or streaming[key] < 1:
            raise UserError(f"profile {where}: streaming.{key} must be a positive integer")
    lookahead = streaming.get("lookahead_tokens", 8)
    if not isinstance(lookahead, int) or lookahead < 0:
        raise UserError(f"profile {where}: streaming.lookahead_tokens must be an integer ≥ 0")
    windows = streaming.get("decoder_windows", [48])
    reach = 2 * DECODER_CONTEXT_FRAMES
    if not isinstance(windows, list) or not windows or not all(type(w) is int and w > reach for w in windows):
        raise UserError(
            f"profile {where}: streaming.decoder_windows must be a list of frame counts above {reach}, e.g. [96]"
        )
    if not isinstance(streaming.get("overlap", False), bool):
        raise UserError(f"profile {where}: streaming.overlap must be true or false")
    for key in ("t2s_backend", "sovits_enc_backend"):
        if runtime.get(key, runtime.get("backend")) not in BACKENDS:
            raise UserError(f"profile {where}: runtime.{key} must be one of {', '.join(BACKENDS)}")
    vocoder_threads = runtime.get("vocoder_threads", 0)
    if not isinstance(vocoder_threads, int) or vocoder_threads < 0:
        raise UserError(f"profile {where}: runtime.vocoder_threads must be an integer ≥ 0 (0: as threads)")
    if not isinstance(streaming.get("crossfade_ms", 20), int | float) or streaming.get("crossfade_ms", 20) < 0:
        raise UserError(f"profile {where}: streaming.crossfade_ms must be a number ≥ 0")
    return Profile(
        name=str(data.get("name", Path(where).stem)),
        description=str(data.get("description", "")),
        convert=convert,
        runtime=runtime,
        streaming=streaming,
    )
