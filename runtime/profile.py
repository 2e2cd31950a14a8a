"""Device profiles: what ``convert`` produces for a class of device, and how the runtime runs it there.

A profile is a TOML file: the bundled ones (``gsv_edge.profiles``: laptop, nuc, rpi4, rpi5) by name, your own by
path. It has a ``name``, a ``description``, and three tables, each key optional (the defaults are those of the
classes below and of ``gsv_edge.runtime.settings``)::

    [convert]     weight formats to produce, and the quality gate that picks among them (ConvertSettings)
    [runtime]     engines, threads, precision (RuntimeSettings)
    [streaming]   when to vocode (StreamingSettings)

``convert`` writes ``[runtime]`` and ``[streaming]`` into the pack's manifest. The whole file is read on the
device too (``--profile`` there), so that a key misspelt anywhere is an error naming it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.settings import Settings, from_table

# Weight formats convert can write, per graph (the first is the default).
T2S_FORMATS = ("int8", "int4", "fp16", "fp32")
SOVITS_FORMATS = ("fp16", "int8", "fp32")
SOVITS_ENC_ONNX_FORMATS = ("int8", "fp32")
BERT_FORMATS = ("int8", "fp16", "fp32")


@dataclass(frozen=True)
class ConvertSettings:
    """What ``convert`` writes (a profile's ``[convert]`` table).

    The GPT's and SoVITS' formats are lists in order of preference (a single string is a list of one): convert
    measures each against fp32 on the user's own weights and keeps the first that passes the gate below, or the
    last when none does (``gsv_edge.convert.gate``)."""

    t2s_weight_format: tuple[str, ...] = ("int8",)
    """The GPT's weights: int8, int4, fp16 or fp32. Decode is memory-bound: fewer bytes, fewer milliseconds."""
    sovits_weight_format: tuple[str, ...] = ("fp16",)
    """SoVITS' weights in OpenVINO IR: fp16, int8 (post-training, for CPUs without fp16/bf16 arithmetic) or fp32."""
    t2s_min_top1: float = 0.9
    """Gate: teacher-forced top-1 agreement with the fp32 GPT a format must reach. Sampling draws from the top-k,
    so an argmax that moves among close logits is tolerable; one that moves on most steps is another model."""
    t2s_min_cosine: float = 0.99
    """Gate: mean cosine of a format's logits with the fp32 GPT's."""
    sovits_min_snr_db: float = 20.0
    """Gate: SNR (dB) of a format's audio against the fp32 SoVITS pair's (20 dB: the error is a tenth of the
    signal's amplitude)."""
    sovits_enc_onnx_format: str = "int8"
    """The ONNX SoVITS encoder: int8 keeps its feed-forward weights (about 70 % of them) in 8 bits, or fp32."""
    bert_weight_format: str = "int8"
    """chinese-roberta (with --bert): int8, fp16 or fp32."""
    onnx: bool = True
    """Also write ONNX files, for ONNX Runtime (the bundled profiles run the GPT and the encoder on it)."""


_CONVERT_RULES = {
    "sovits_enc_onnx_format": SOVITS_ENC_ONNX_FORMATS,
    "bert_weight_format": BERT_FORMATS,
}
# Keys that list formats in order of preference, and the formats each may list.
_PREFERENCE_RULES = {
    "t2s_weight_format": T2S_FORMATS,
    "sovits_weight_format": SOVITS_FORMATS,
}


@dataclass(frozen=True)
class Profile:
    """A device profile, validated."""

    name: str
    """Short name (the bundled file's stem, or the file's own ``name``)."""
    description: str = ""
    """One line for humans."""
    convert: ConvertSettings = field(default_factory=ConvertSettings)
    settings: Settings = field(default_factory=Settings)
    """What the runtime takes from it (and what a pack converted with it carries)."""


def available_profiles() -> list[str]:
    """Names of the bundled profiles."""
    folder = resources.files("gsv_edge.profiles")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(name_or_path: str | Path) -> Profile:
    """A bundled profile by name, or a TOML file by path; GsvEdgeError naming the problem otherwise."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            choices = ", ".join(available_profiles())
            raise GsvEdgeError(f"profile file {path} not found; use one of {choices} or a .toml path", option="profile")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise GsvEdgeError(f"profile {path}: cannot read it ({err})", option="profile") from None
    else:
        resource = resources.files("gsv_edge.profiles") / f"{name_or_path}.toml"
        if not resource.is_file():
            choices = ", ".join(available_profiles())
            raise GsvEdgeError(f"unknown profile {str(name_or_path)!r}; choose one of {choices}", option="profile")
        text = resource.read_text(encoding="utf-8")
    where = f"profile {name_or_path}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise GsvEdgeError(f"{where}: not valid TOML ({err}); fix the file") from None
    return parse_profile(data, where, default_name=path.stem)


def parse_profile(data: dict, where: str, default_name: str) -> Profile:
    """A Profile from a parsed TOML document; every key checked."""
    unknown = sorted(set(data) - {"name", "description", "convert", "runtime", "streaming"})
    if unknown:
        raise GsvEdgeError(
            f"{where}: unknown key {unknown[0]!r}; a profile has name, description, [convert], [runtime], [streaming]"
        )
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise GsvEdgeError(f"{where}: {key} must be a string")
    convert = from_table(ConvertSettings, _as_lists(data.get("convert", {})), "convert", where)
    for key, allowed in _CONVERT_RULES.items():
        if getattr(convert, key) not in allowed:
            raise GsvEdgeError(f"{where}: convert.{key} must be one of {', '.join(allowed)}")
    for key, allowed in _PREFERENCE_RULES.items():
        formats = getattr(convert, key)
        if not formats or any(f not in allowed for f in formats) or len(set(formats)) != len(formats):
            raise GsvEdgeError(
                f"{where}: convert.{key} must be one of {', '.join(allowed)}, or a list of them in order of "
                f"preference without repeats; got {list(formats)!r}"
            )
    settings = Settings.from_dict({k: data[k] for k in ("runtime", "streaming") if k in data}, where)
    return Profile(data.get("name", default_name), data.get("description", ""), convert, settings)


def _as_lists(table):
    """The ``[convert]`` table with a single format string under a preference key made a list of one (the
    profile syntax from before formats could be listed)."""
    if not isinstance(table, dict):
        return table  # from_table names the problem
    return {key: [value] if key in _PREFERENCE_RULES and isinstance(value, str) else value
            for key, value in table.items()}  # fmt: skip
