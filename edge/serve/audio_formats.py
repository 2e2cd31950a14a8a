"""Audio chunks → the bytes of an HTTP response, in the formats OpenAI's ``response_format`` names.

wav and pcm stream: the first bytes go out with the first vocoded chunk. A streamed WAV's length is not known when
its header is sent, so the header says "as long as the data goes on" (0xFFFFFFFF in both size fields, as streaming
encoders such as ffmpeg write; soundfile and most players then read to the end). flac, mp3 and opus are encoded by
soundfile (libsndfile) once the utterance is complete: their encoders write headers that need the whole length.
Ogg Opus only runs at 8, 12, 16, 24 or 48 kHz, so opus is resampled to 48 kHz (soxr) first.
"""

from __future__ import annotations

import io

import numpy as np

from gsv_edge.runtime.audio_out import to_int16
from gsv_edge.runtime.errors import GsvEdgeError

STREAMED = ("wav", "pcm")
WHOLE = ("flac", "mp3", "opus")
CONTENT_TYPES = {"wav": "audio/wav", "pcm": "audio/pcm", "flac": "audio/flac", "mp3": "audio/mpeg",
                 "opus": "audio/ogg; codecs=opus"}  # fmt: skip
# soundfile's (format, subtype) for the formats it encodes whole.
_SOUNDFILE = {"flac": ("FLAC", "PCM_16"), "mp3": ("MP3", "MPEG_LAYER_III"), "opus": ("OGG", "OPUS")}
OPUS_RATE = 48000


def check_format(name: str) -> None:
    """Refuse, by name, a format this server cannot write (the libsndfile underneath may lack MP3 or Opus)."""
    if name in STREAMED:
        return
    if name not in _SOUNDFILE:
        raise GsvEdgeError(f"response_format {name!r} is not one of wav, pcm, flac, mp3, opus")
    import soundfile as sf

    container, subtype = _SOUNDFILE[name]
    if container not in sf.available_formats() or subtype not in sf.available_subtypes(container):
        raise GsvEdgeError(f"response_format {name!r} cannot be written here (libsndfile has no {subtype}); "
                           "use wav, pcm or flac")  # fmt: skip


def pcm16(samples: np.ndarray) -> bytes:
    """float32 samples → 16-bit little-endian PCM."""
    return to_int16(samples).astype("<i2").tobytes()


def encode_whole(name: str, samples: np.ndarray, rate: int) -> bytes:
    """A complete flac, mp3 or opus file of ``samples``."""
    import soundfile as sf

    container, subtype = _SOUNDFILE[name]
    if name == "opus" and rate != OPUS_RATE:
        import soxr

        samples, rate = soxr.resample(samples, rate, OPUS_RATE).astype(np.float32), OPUS_RATE
    out = io.BytesIO()
    sf.write(out, np.clip(samples, -1.0, 1.0), rate, format=container, subtype=subtype)
    return out.getvalue()
