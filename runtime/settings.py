"""How the runtime runs a pack: one typed, frozen, self-validating settings object.

Every default lives here, once. A device profile's ``[runtime]`` and ``[streaming]`` tables (``profiles/*.toml``)
override them; ``convert`` writes the result into the pack's manifest, so a pack carries how it is meant to run,
and the device may override it with another profile (``Synthesizer.load(pack, settings=...)``, or ``--profile``
on the command line).

    settings = Settings.from_dict({"streaming": {"first_chunk_tokens": 8}}, where="my.toml")
    settings.streaming.next_chunk(8)   # 32: chunks double, in whole decoder windows

Unknown keys, wrong types and out-of-range values are a ``GsvEdgeError`` naming the key.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any

from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.vocoder import DECODER_CONTEXT_FRAMES, FRAMES_PER_TOKEN, SAMPLE_RATE

BACKENDS = ("openvino", "onnxruntime")
PRECISIONS = ("auto", "f32", "f16", "bf16")


@dataclass(frozen=True)
class RuntimeSettings:
    """Which engine runs which graph, on how many threads, at what precision."""

    backend: str = "openvino"
    """The engine for every graph not named below: openvino or onnxruntime."""
    t2s_backend: str = "onnxruntime"
    """The GPT's engine. ONNX Runtime keeps its KV cache in one reserved buffer per layer, written in place;
    OpenVINO's stateful GPT keeps about 1.5 MB of buffers per cached token."""
    sovits_enc_backend: str = "onnxruntime"
    """The SoVITS encoder's engine. It sees a new token count on every streamed chunk, and OpenVINO keeps
    buffers for every input shape it has seen (about 1 MB more per new length, without end)."""
    bert_backend: str = "onnxruntime"
    """chinese-roberta's engine (packs converted with --bert). ONNX Runtime runs its 8-bit weights as they are;
    OpenVINO's CPU plugin repacks them on the first call, which holds a second copy of the weights and makes the
    first Chinese sentence wait for the repacking (figures: docs/performance.md)."""
    threads: int = 0
    """CPU threads per graph; 0: all physical cores."""
    vocoder_threads: int = 0
    """Threads for the two SoVITS graphs alone; 0: as ``threads``."""
    inference_precision: str = "auto"
    """OpenVINO's inference precision: auto (the device default: bf16 where the CPU has it), f32, f16 or bf16."""

    def backend_for(self, graph: str) -> str:
        """The engine that runs ``graph`` (t2s, sovits_enc, sovits_dec, bert, ...)."""
        named = {"t2s": self.t2s_backend, "sovits_enc": self.sovits_enc_backend, "bert": self.bert_backend}
        return named.get(graph, self.backend)

    def only(self, backend: str) -> RuntimeSettings:
        """The same settings with every graph on ``backend``."""
        return dataclasses.replace(
            self, backend=backend, t2s_backend=backend, sovits_enc_backend=backend, bert_backend=backend
        )


@dataclass(frozen=True)
class StreamingSettings:
    """When a stream vocodes, and with how much context (see ``gsv_edge.runtime.streaming``)."""

    first_chunk_tokens: int = 12
    """Vocode this many tokens as soon as they exist (0.48 s of audio at 12)."""
    chunk_tokens: int = 72
    """Later chunks double up to this, rounded down to whole decoder windows."""
    left_context_tokens: int = 6
    """Tokens re-vocoded on the left of a chunk: 6 cover the decoder's reach of DECODER_CONTEXT_FRAMES."""
    crossfade_ms: float = 20.0
    """Each chunk fades into the next over this much audio decoded past its end."""
    lookahead_tokens: int = 8
    """Newest tokens held back as right context: 6 cover the decoder's reach, 2 more the encoder's."""
    overlap: bool = False
    """Run the GPT in a worker thread beside the vocoder; pays off only with cores to spare."""
    decoder_windows: tuple[int, ...] = (88,)
    """The only lengths (frames) the decoder runs on, ascending: OpenVINO keeps buffers for every input shape it
    has run, so a few fixed lengths keep memory flat. 88 frames keep 32 new tokens per call."""

    def __post_init__(self) -> None:
        # decode_span picks the smallest window that fits, so the lengths are kept ascending however given
        object.__setattr__(self, "decoder_windows", tuple(sorted(self.decoder_windows)))

    @property
    def tokens_per_window(self) -> int:
        """New tokens one call of the largest decoder window keeps (at speed 1): 32 for an 88-frame window."""
        return (max(self.decoder_windows) - 2 * DECODER_CONTEXT_FRAMES) // FRAMES_PER_TOKEN

    def next_chunk(self, previous: int) -> int:
        """Tokens in the chunk after one of ``previous`` tokens: twice as many, up to ``chunk_tokens``, in whole
        windows (at least one): a decoder call costs the same however few of its frames are new. A profile whose
        ``chunk_tokens`` is below one window keeps its own sizes."""
        wanted = min(self.chunk_tokens, 2 * previous)
        per_window = self.tokens_per_window
        if self.chunk_tokens < per_window:
            return wanted
        return max(per_window, wanted // per_window * per_window)

    @property
    def crossfade_samples(self) -> int:
        return int(round(self.crossfade_ms * SAMPLE_RATE / 1000))


@dataclass(frozen=True)
class Settings:
    """Everything the runtime takes from a profile: ``runtime`` and ``streaming``."""

    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    streaming: StreamingSettings = field(default_factory=StreamingSettings)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Settings:
        """Settings from ``{"runtime": {...}, "streaming": {...}}`` (either table may be absent: defaults)."""
        if not isinstance(data, dict):
            raise GsvEdgeError(f"{where}: settings must be a table with [runtime] and [streaming]")
        unknown = sorted(set(data) - {"runtime", "streaming"})
        if unknown:
            raise GsvEdgeError(f"{where}: unknown settings table [{unknown[0]}]; use [runtime] or [streaming]")
        return cls(
            runtime=from_table(RuntimeSettings, data.get("runtime", {}), "runtime", where),
            streaming=from_table(StreamingSettings, data.get("streaming", {}), "streaming", where),
        )

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain data for the manifest (from_dict reads it back)."""
        streaming = dataclasses.asdict(self.streaming)
        streaming["decoder_windows"] = list(self.streaming.decoder_windows)
        return {"runtime": dataclasses.asdict(self.runtime), "streaming": streaming}


# Rules beyond the type, per key: (test, what the value must be).
_RULES: dict[str, tuple[typing.Callable[[Any], bool], str]] = {
    "backend": (lambda v: v in BACKENDS, f"one of {', '.join(BACKENDS)}"),
    "t2s_backend": (lambda v: v in BACKENDS, f"one of {', '.join(BACKENDS)}"),
    "sovits_enc_backend": (lambda v: v in BACKENDS, f"one of {', '.join(BACKENDS)}"),
    "bert_backend": (lambda v: v in BACKENDS, f"one of {', '.join(BACKENDS)}"),
    "inference_precision": (lambda v: v in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
    "threads": (lambda v: v >= 0, "an integer ≥ 0 (0: all cores)"),
    "vocoder_threads": (lambda v: v >= 0, "an integer ≥ 0 (0: as threads)"),
    "first_chunk_tokens": (lambda v: v >= 1, "a positive integer"),
    "chunk_tokens": (lambda v: v >= 1, "a positive integer"),
    "left_context_tokens": (lambda v: v >= 1, "a positive integer"),
    "lookahead_tokens": (lambda v: v >= 0, "an integer ≥ 0"),
    "crossfade_ms": (lambda v: v >= 0, "a number ≥ 0"),
    "decoder_windows": (
        lambda v: len(v) > 0 and all(w > 2 * DECODER_CONTEXT_FRAMES for w in v),
        f"a list of frame counts above {2 * DECODER_CONTEXT_FRAMES}, e.g. [96]",
    ),
}
_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
               tuple[str, ...]: "a string or a list of strings"}  # fmt: skip


def from_table(kind: type, table: Any, section: str, where: str):
    """An instance of the settings class ``kind`` from a profile table, every key checked."""
    if not isinstance(table, dict):
        raise GsvEdgeError(f"{where}: [{section}] must be a table")
    hints = typing.get_type_hints(kind)
    values = {}
    for key, value in table.items():
        if key not in hints:
            known = ", ".join(f.name for f in dataclasses.fields(kind))
            raise GsvEdgeError(f"{where}: unknown key {section}.{key}; the keys of [{section}] are {known}")
        values[key] = _checked(hints[key], value, f"{where}: {section}.{key}", _RULES.get(key))
    return kind(**values)


def _checked(hint, value: Any, label: str, rule) -> Any:
    """``value`` as the annotated type (an int is a valid float; a list a tuple of ints), or GsvEdgeError."""
    wanted = rule[1] if rule else _TYPE_NAMES.get(hint, str(hint))
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif hint == tuple[int, ...]:
        ok = isinstance(value, list | tuple) and all(type(v) is int for v in value)
        value = tuple(value) if ok else value  # sorted by StreamingSettings itself
    elif hint == tuple[str, ...]:
        ok = isinstance(value, list | tuple) and all(type(v) is str for v in value)
        value = tuple(value) if ok else value
    else:
        ok = type(value) is hint  # bool is not an int here, nor an int a bool
    if not ok or (rule is not None and not rule[0](value)):
        raise GsvEdgeError(f"{label} must be {wanted}; got {value!r}")
    return value
