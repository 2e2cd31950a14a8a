"""Audio out: WAV files (soundfile), raw 16-bit PCM on stdout, and the sound card (sounddevice)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from edge.errors import UserError


def to_int16(audio: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1] → int16 PCM (clipped)."""
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def write_wav(path: str | Path, audio: np.ndarray, rate: int) -> Path:
    """Write a 16-bit WAV atomically (temp file in the same folder, then rename)."""
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        sf.write(str(tmp), to_int16(audio), rate, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_raw(audio: np.ndarray, stream=None) -> None:
    """16-bit little-endian PCM to stdout (for `| aplay -r 32000 -f S16_LE -c 1`)."""
    stream = stream or sys.stdout.buffer
    stream.write(to_int16(audio).astype("<i2").tobytes())
    stream.flush()


def play(audio: np.ndarray, rate: int) -> None:
    """Play through the default output device and wait until it is done."""
    try:
        import sounddevice as sd
    except OSError:
        raise UserError("no audio output (PortAudio is not installed); write a file with -o out.wav") from None
    try:
        sd.play(audio.astype(np.float32), rate, blocking=True)
    except (sd.PortAudioError, ValueError) as err:
        raise UserError(f"no usable audio device ({err}); write a file with -o out.wav or use --output-raw") from None
