"""Voices: what a reference clip and its transcript boil down to, stored as small local files.

A voice is the prompt's semantic tokens, the transcript's phones and BERT features, and the speaker vector ge:
everything the model needs from the clip, and not the audio itself. Each voice is two files in a voice folder
(by default ``<pack>/voices``): ``NAME.npz`` (arrays, no pickle) and ``NAME.json`` (metadata), bound to the
fingerprint of the pack's source checkpoints.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from gsv_edge.runtime.cache import replace_atomically
from gsv_edge.runtime.errors import GsvEdgeError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_SECONDS, MAX_SECONDS = 3.0, 10.0


@dataclass
class Voice:
    """An enrolled voice."""

    name: str
    """File-safe name."""
    language: str
    """Language mode of the transcript (zh, en, ja, auto...)."""
    text: str
    """The transcript of the reference clip."""
    prompt_tokens: np.ndarray
    """Semantic tokens of the clip, int64 [T] (25 per second)."""
    phone_ids: np.ndarray
    """Phones of the transcript, int64 [N]."""
    bert: np.ndarray
    """Phone-level BERT features of the transcript, float32 [1024, N] (zeros outside Chinese)."""
    ge: np.ndarray
    """Speaker vector, float32 [gin]."""
    pack_fingerprint: str
    """Which model the voice belongs to (Manifest.fingerprint)."""
    seconds: float = 0.0
    """Length of the reference clip."""
    created: str = ""
    """ISO time of enrollment."""

    def metadata(self) -> dict:
        return {
            "name": self.name, "language": self.language, "text": self.text, "seconds": round(self.seconds, 2),
            "pack_fingerprint": self.pack_fingerprint, "created": self.created,
            "prompt_tokens": int(len(self.prompt_tokens)), "phones": int(len(self.phone_ids)),
        }  # fmt: skip


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):  # fullmatch: `$` would let a trailing newline in
        raise GsvEdgeError(f"voice name {name!r} is not allowed; use letters, digits, '.', '_' or '-' (max 64)")
    return name


def save_voice(voice: Voice, folder: Path) -> Path:
    """Write NAME.npz and NAME.json atomically (temp files, then rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    check_name(voice.name)
    voice.created = voice.created or datetime.now(UTC).isoformat(timespec="seconds")

    def write_arrays(partial: Path) -> None:
        with open(partial, "wb") as handle:
            np.savez(
                handle,
                prompt_tokens=voice.prompt_tokens.astype(np.int64),
                phone_ids=voice.phone_ids.astype(np.int64),
                bert=voice.bert.astype(np.float32),
                ge=voice.ge.astype(np.float32),
            )

    metadata = json.dumps(voice.metadata(), ensure_ascii=False, indent=2) + "\n"
    replace_atomically(folder / f"{voice.name}.npz", write_arrays)
    replace_atomically(folder / f"{voice.name}.json", lambda partial: partial.write_text(metadata, encoding="utf-8"))
    return folder / f"{voice.name}.npz"


def list_voices(folder: Path) -> list[dict]:
    if not folder.is_dir():
        return []
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(folder.glob("*.json"))
        if (p.with_suffix(".npz")).is_file()
    ]


def load_voice(folder: Path, name: str, fingerprint: str | None = None) -> Voice:
    """Load a voice; refuse one enrolled for another model."""
    check_name(name)
    meta_path, arrays_path = folder / f"{name}.json", folder / f"{name}.npz"
    if not meta_path.is_file() or not arrays_path.is_file():
        known = ", ".join(v["name"] for v in list_voices(folder)) or "none yet"
        raise GsvEdgeError(f"no voice {name!r} in {folder} (voices: {known}); add one with 'gsv-edge voice add'")
    damaged = f"voice {name!r} in {folder} is damaged"
    fix = "enroll it again with 'gsv-edge voice add --force'"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise GsvEdgeError(f"{damaged} ({name}.json: {err}); {fix}") from None
    if not isinstance(meta, dict) or not all(isinstance(meta.get(k), str) for k in _TEXT_FIELDS):
        raise GsvEdgeError(f"{damaged} ({name}.json lacks {', '.join(_TEXT_FIELDS)}); {fix}")
    if fingerprint is not None and meta["pack_fingerprint"] != fingerprint:
        raise GsvEdgeError(
            f"voice {name!r} was enrolled for another model (fingerprint {meta['pack_fingerprint']}, this pack "
            f"{fingerprint}); enroll it again for this pack with 'gsv-edge voice add'"
        )
    try:
        with np.load(arrays_path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in _ARRAYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise GsvEdgeError(f"{damaged} ({name}.npz: {reason[:120]}); {fix}") from None
    seconds = meta.get("seconds", 0.0)
    voice = Voice(
        name=name, language=meta["language"], text=meta["text"], pack_fingerprint=meta["pack_fingerprint"],
        seconds=float(seconds) if isinstance(seconds, int | float) else 0.0, created=str(meta.get("created", "")),
        **arrays,
    )  # fmt: skip
    problem = voice_problem(voice)
    if problem:
        raise GsvEdgeError(f"{damaged} ({problem}); {fix}")
    return voice


_TEXT_FIELDS = ("language", "text", "pack_fingerprint")
_ARRAYS = ("prompt_tokens", "phone_ids", "bert", "ge")
# A reference clip is 3-10 s of 25 Hz tokens; a little margin for HuBERT's padding.
MAX_PROMPT_TOKENS = 300
BERT_ROWS = 1024


def voice_problem(voice: Voice, symbols: int | None = None, gin: int | None = None) -> str | None:
    """What is wrong with a voice's arrays (dtype, shape, range, finiteness), or None. ``symbols`` (the phone
    table's size) and ``gin`` (the speaker vector's width) are checked when given."""
    tokens, phones, bert, ge = voice.prompt_tokens, voice.phone_ids, voice.bert, voice.ge
    if tokens.dtype != np.int64 or phones.dtype != np.int64 or tokens.ndim != 1 or phones.ndim != 1:
        return "prompt tokens and phones must be 1-D int64"
    if not 1 <= len(tokens) <= MAX_PROMPT_TOKENS or tokens.min() < 0 or tokens.max() > 1023:
        return f"prompt tokens must be 1-{MAX_PROMPT_TOKENS} ids in 0-1023"
    if not len(phones) or phones.min() < 0 or (symbols is not None and phones.max() >= symbols):
        return "phone ids out of range for this model"
    if bert.dtype != np.float32 or bert.shape != (BERT_ROWS, len(phones)) or not np.isfinite(bert).all():
        return f"BERT features must be finite float32 [{BERT_ROWS}, phones]"
    if ge.dtype != np.float32 or ge.ndim != 1 or not np.isfinite(ge).all() or (gin is not None and len(ge) != gin):
        return "the speaker vector must be finite float32 of the model's width"
    return None


def remove_voice(folder: Path, name: str) -> None:
    check_name(name)
    paths = [folder / f"{name}.npz", folder / f"{name}.json"]
    if not any(p.exists() for p in paths):
        raise GsvEdgeError(f"no voice {name!r} in {folder}")
    for path in paths:
        path.unlink(missing_ok=True)


def read_reference_clip(path: Path) -> tuple[np.ndarray, int]:
    """Read a clip with soundfile (mono mix), checking it is 3-10 s long."""
    import soundfile as sf

    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as err:
        raise GsvEdgeError(f"{path}: cannot read the audio ({err}); use WAV, FLAC or OGG") from None
    audio = audio.mean(axis=1)
    seconds = len(audio) / rate
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise GsvEdgeError(f"{path}: the clip is {seconds:.1f} s long; use a reference clip of 3-10 s")
    if not np.isfinite(audio).all():
        raise GsvEdgeError(f"{path}: the clip has samples that are not numbers (NaN or infinity); export it again")
    if float(np.abs(audio).max()) < 1e-4:
        raise GsvEdgeError(f"{path}: the clip is silent; use a recording of the voice")
    return audio, rate
