"""Voices: what a reference clip and its transcript boil down to, stored as small local files.

A voice is the prompt's semantic tokens, the transcript's phones and BERT features, and the speaker vector ge:
everything the model needs from the clip, and not the audio itself. Each voice is one file in a voice folder
(by default ``<pack>/voices``): ``NAME.npz``, its arrays and (as UTF-8 JSON bytes in ``metadata``) its metadata,
no pickle, bound to the fingerprint of the pack's source checkpoints. One file, so a voice appears or changes in a
single rename: a reader never sees half of one, and two enrollments of one name cannot both win.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from gsv_edge.runtime.cache import unique_partial
from gsv_edge.runtime.errors import GsvEdgeError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_SECONDS, MAX_SECONDS = 3.0, 10.0


class VoiceExists(GsvEdgeError):
    """A voice of that name exists, and replacing it was not asked for."""

    def __init__(self, name: str, folder: Path):
        super().__init__(f"voice {name!r} already exists in {folder}; pass --force to replace it")


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


def save_voice(voice: Voice, folder: Path, replace: bool = False) -> Path:
    """Write NAME.npz in one rename. Without ``replace`` the name is taken exclusively: when a voice of that name
    exists (or another process makes one first) nothing is written and the error says so."""
    folder.mkdir(parents=True, exist_ok=True)
    check_name(voice.name)
    voice.created = voice.created or datetime.now(UTC).isoformat(timespec="seconds")
    path = folder / f"{voice.name}.npz"
    metadata = json.dumps(voice.metadata(), ensure_ascii=False).encode("utf-8")

    partial = unique_partial(path)
    try:
        with open(partial, "wb") as handle:
            np.savez(
                handle,
                metadata=np.frombuffer(metadata, np.uint8),
                prompt_tokens=voice.prompt_tokens.astype(np.int64),
                phone_ids=voice.phone_ids.astype(np.int64),
                bert=voice.bert.astype(np.float32),
                ge=voice.ge.astype(np.float32),
            )
        if replace:
            os.replace(partial, path)
        else:
            _link_exclusively(partial, path, voice.name, folder)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return path


def _link_exclusively(partial: Path, path: Path, name: str, folder: Path) -> None:
    """Give the finished file its name only if the name is free: link(2) fails when it exists, atomically, where
    an exists-check and a rename would let two processes both succeed."""
    try:
        os.link(partial, path)
    except FileExistsError:
        raise VoiceExists(name, folder) from None
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # A file system without hard links (FAT on a memory card): check, then rename. Not exclusive, but such
        # folders are not shared between processes.
        if path.exists():
            raise VoiceExists(name, folder) from None
        os.replace(partial, path)


def list_voices(folder: Path) -> list[dict]:
    """Metadata of each voice in ``folder`` that can be read (damaged files are left to ``load_voice`` to name)."""
    if not folder.is_dir():
        return []
    entries = []
    for path in sorted(folder.glob("*.npz")):
        if not NAME.fullmatch(path.stem):
            continue
        try:
            entries.append({**_read_metadata(path), "name": path.stem})  # the name load_voice takes is the file's
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, GsvEdgeError):
            continue
    return entries


def _read_metadata(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as stored:
        if "metadata" not in stored.files:
            raise GsvEdgeError("it has no metadata (saved by an older gsv-edge)")
        raw = stored["metadata"]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise GsvEdgeError("its metadata is not UTF-8 bytes")
    meta = json.loads(raw.tobytes().decode("utf-8"))
    if not isinstance(meta, dict) or not all(isinstance(meta.get(k), str) for k in _TEXT_FIELDS):
        raise GsvEdgeError(f"its metadata lacks {', '.join(_TEXT_FIELDS)}")
    return meta


def load_voice(folder: Path, name: str, fingerprint: str | None = None) -> Voice:
    """Load a voice; refuse one enrolled for another model."""
    check_name(name)
    path = folder / f"{name}.npz"
    if not path.is_file():
        known = ", ".join(v["name"] for v in list_voices(folder)) or "none yet"
        raise GsvEdgeError(f"no voice {name!r} in {folder} (voices: {known}); add one with 'gsv-edge voice add'")
    damaged = f"voice {name!r} in {folder} is damaged"
    fix = "enroll it again with 'gsv-edge voice add --force'"
    try:
        meta = _read_metadata(path)
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in _ARRAYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, GsvEdgeError) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise GsvEdgeError(f"{damaged} ({reason[:120]}); {fix}") from None
    if fingerprint is not None and meta["pack_fingerprint"] != fingerprint:
        raise GsvEdgeError(
            f"voice {name!r} was enrolled for another model (fingerprint {meta['pack_fingerprint']}, this pack "
            f"{fingerprint}); enroll it again for this pack with 'gsv-edge voice add'"
        )
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
    try:
        (folder / f"{name}.npz").unlink()
    except FileNotFoundError:
        raise GsvEdgeError(f"no voice {name!r} in {folder}") from None


def read_reference_clip(path: Path) -> tuple[np.ndarray, int]:
    """Read a clip with soundfile (mono mix), checking it is 3-10 s long."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():  # libsndfile says only "System error." for these
        raise GsvEdgeError(f"reference clip {path} {'is a folder' if path.is_dir() else 'not found'}; give a clip file")
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
