"""Audio out: WAV files (soundfile), raw 16-bit PCM on stdout, and the sound card (sounddevice)."""

from __future__ import annotations

import contextlib
import os
import queue
import stat
import struct
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gsv_edge.runtime.cache import unique_partial, write_problem
from gsv_edge.runtime.errors import GsvEdgeError


def to_int16(audio: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1] → int16 PCM (clipped)."""
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def write_wav(path: str | Path, audio: np.ndarray, rate: int) -> Path:
    """Write a whole 16-bit WAV (see ``WavWriter``)."""
    with WavWriter(path, rate) as out:
        out.write(audio)
    return out.path


def wav_stream_header(rate: int) -> bytes:
    """The 44-byte header of a mono 16-bit PCM WAV whose length is not known yet: both sizes are 0xFFFFFFFF, the
    form streaming readers (aplay, ffmpeg, sox, browsers) take as "until the end of the data". Written by hand
    because libsndfile finishes a WAV by seeking back to its header, which a pipe or a device cannot do."""
    unknown = 0xFFFFFFFF
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)  # PCM, mono, rate, bytes/s, block align, bits
    riff = b"RIFF" + struct.pack("<I", unknown) + b"WAVE"
    return riff + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", unknown)


class WavWriter:
    """A 16-bit mono WAV written as the audio is made, so a long text is never held whole.

    A regular file (or a new name) is written to a temporary file beside it and renamed over it on a clean
    ``close``: a failure or an interruption leaves the old file, or nothing. A symlink is followed and its target
    written the same way, so the link stays. A FIFO, a character device or ``-`` (stdout) is written through with
    an open-ended header, since it cannot be renamed over or rewound.
    """

    def __init__(self, path: str | Path, rate: int):
        self.rate = rate
        self.path = Path(path)
        self._file = self._sound = self._partial = None
        if str(path) == "-":
            self._file = sys.stdout.buffer
        else:
            target = self.path.resolve() if self.path.is_symlink() else self.path
            kind = target.stat().st_mode if target.exists() else None
            if kind is not None and stat.S_ISDIR(kind):
                raise GsvEdgeError(f"-o {path} is a folder; give a file name such as {Path(path) / 'speech.wav'}")
            if kind is not None and (stat.S_ISFIFO(kind) or stat.S_ISCHR(kind)):
                try:
                    self._file = open(target, "wb", buffering=0)  # noqa: SIM115 - closed in close()
                except OSError as err:
                    raise GsvEdgeError(f"cannot write {path} ({err.strerror or err})") from None
            else:
                import soundfile as sf

                self.target = target
                self._partial = None
                try:
                    # Made here first, so a read-only place fails with the system's words (libsndfile says
                    # "System error."); libsndfile then writes it by path (given a Python file object, its write
                    # errors would be tracebacks printed from a C callback).
                    target.parent.mkdir(parents=True, exist_ok=True)
                    self._partial = unique_partial(target)
                    self._sound = sf.SoundFile(str(self._partial), "w", rate, 1, "PCM_16", format="WAV")
                except (OSError, RuntimeError) as err:
                    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no partial was made
                        self._partial.unlink(missing_ok=True)
                    raise GsvEdgeError(f"cannot write {path} ({getattr(err, 'strerror', None) or err})") from None
        if self._file is not None:
            self._write_through(wav_stream_header(rate))

    def write(self, audio: np.ndarray) -> None:
        samples = to_int16(audio)
        if self._sound is not None:
            try:
                self._sound.write(samples)
            except (RuntimeError, AssertionError) as err:  # libsndfile's error, or soundfile's short-write assert
                raise GsvEdgeError(f"cannot write {self.path} ({write_problem(self.target.parent) or err})") from None
        else:
            self._write_through(samples.astype("<i2").tobytes())

    def _write_through(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except BrokenPipeError:
            if self._file is sys.stdout.buffer:
                raise  # `say -o - | head -c 1000`: the reader has what it wanted (click ends quietly, exit 1)
            raise GsvEdgeError(f"cannot write {self.path} (its reader went away)") from None
        except OSError as err:  # a full device, a reader that went away: the system's words, and which output
            raise GsvEdgeError(f"cannot write {self.path} ({err.strerror or err})") from None

    def close(self, keep: bool = True) -> None:
        """Finish the file; ``keep=False`` (an error or an interruption) removes the temporary file instead."""
        if self._sound is not None:
            try:
                self._sound.close()  # writes the header's final sizes
                if keep:
                    os.replace(self._partial, self.target)
            except (OSError, RuntimeError) as err:
                if keep:
                    problem = write_problem(self.target.parent) or getattr(err, "strerror", None) or err
                    raise GsvEdgeError(f"cannot write {self.path} ({problem})") from None
            finally:
                with contextlib.suppress(OSError):
                    self._partial.unlink(missing_ok=True)
            self._sound = None
        elif self._file is not None:
            if self._file is sys.stdout.buffer:
                self._file.flush()
            else:
                self._file.close()
            self._file = None

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(self, kind, *exc) -> None:
        self.close(keep=kind is None)


def write_raw(audio: np.ndarray, stream=None) -> None:
    """16-bit little-endian PCM to stdout (for `| aplay -r 32000 -f S16_LE -c 1`)."""
    stream = stream or sys.stdout.buffer
    stream.write(to_int16(audio).astype("<i2").tobytes())
    stream.flush()


class ChunkFeeder:
    """The audio callback's side of playback: a queue of float32 chunks drained block by block.

    Playback starts once ``prefill`` samples are buffered (or the stream is closed), so the first block does not
    underrun. When the queue runs dry mid-stream the block is filled with silence and counted as an underrun.
    """

    def __init__(self, prefill: int):
        self.prefill = prefill
        self.underruns = 0
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue()
        self._pending = np.zeros(0, np.float32)
        self.queued = 0
        """Samples put so far."""
        self._started = False
        self._closed = False
        self.finished = threading.Event()

    def put(self, chunk: np.ndarray) -> None:
        chunk = np.asarray(chunk, np.float32)
        self.queued += len(chunk)
        self._queue.put(chunk)

    def close(self) -> None:
        """No more audio will come; playback drains what is queued and then sets ``finished``."""
        self._queue.put(None)

    def fill(self, out: np.ndarray) -> None:
        """Write the next ``len(out)`` samples into ``out`` (the sounddevice callback calls this)."""
        if not self._started:
            if self.queued < self.prefill and not self._closed and not self._peek_closed():
                out[:] = 0
                return
            self._started = True
        needed, written = len(out), 0
        while written < needed:
            if not len(self._pending):
                try:
                    chunk = self._queue.get_nowait()
                except queue.Empty:
                    if not self._closed:
                        self.underruns += 1
                    out[written:] = 0
                    if self._closed:
                        self.finished.set()
                    return
                if chunk is None:
                    self._closed = True
                    continue
                self._pending = chunk
            take = min(needed - written, len(self._pending))
            out[written : written + take] = self._pending[:take]
            self._pending = self._pending[take:]
            written += take

    def _peek_closed(self) -> bool:
        with self._queue.mutex:
            return any(item is None for item in self._queue.queue)


class Player:
    """Streams chunks to an output device through a callback; resamples if the device refuses 32 kHz.

    ``device``: None for the default output, an index, or a name (any unique part of it, as sounddevice matches
    names; a string of digits is an index), as ``output_devices`` lists them.
    """

    def __init__(self, rate: int, prefill_seconds: float = 0.2, block: int = 1024, device: str | int | None = None):
        sd = _sounddevice()
        self._sd = sd
        self.source_rate = rate
        info = output_device(sd, device)
        try:
            # A plain ALSA device (no PulseAudio or PipeWire in between) takes only the rates its hardware runs at,
            # often 44.1 or 48 kHz: then play at the device's own default rate, resampled with soxr.
            self.rate = rate if accepts_rate(sd, info, rate) else int(info["default_samplerate"])
            self.device = info
            self.feeder = ChunkFeeder(int(prefill_seconds * self.rate))
            self._stream = sd.OutputStream(
                samplerate=self.rate, device=info["index"], channels=1, dtype="float32", blocksize=block,
                callback=self._callback,
            )  # fmt: skip
        except (sd.PortAudioError, ValueError) as err:
            raise GsvEdgeError(
                f"no usable audio device ({err}); write a file or raw PCM instead", option="output"
            ) from None
        self._resampler = None
        if self.rate != rate:
            import soxr

            self._resampler = soxr.ResampleStream(rate, self.rate, 1, dtype="float32")

    def _callback(self, outdata, frames, time, status) -> None:  # noqa: ARG002 (sounddevice's signature)
        self.feeder.fill(outdata[:, 0])

    def __enter__(self) -> Player:
        self._stream.start()
        return self

    def put(self, chunk: np.ndarray) -> None:
        if self._resampler is not None:
            chunk = self._resampler.resample_chunk(np.asarray(chunk, np.float32))
        self.feeder.put(chunk)

    def __exit__(self, *exc) -> None:
        if self._resampler is not None:
            self.feeder.put(self._resampler.resample_chunk(np.zeros(0, np.float32), last=True))
        self.feeder.close()
        if exc[0] is None:
            self.feeder.finished.wait()
        self._stream.stop()
        self._stream.close()


def _sounddevice():
    try:
        import sounddevice as sd
    except OSError:
        raise GsvEdgeError(
            "no audio output (PortAudio is not installed: apt-get install libportaudio2); write a file instead",
            option="output",
        ) from None
    return sd


def output_device(sd, device: str | int | None = None) -> dict:
    """sounddevice's description of an output device: the default one, or ``device`` (index or name)."""
    if isinstance(device, str) and device.strip().isdigit():
        device = int(device)
    try:
        return sd.query_devices(device, kind="output")
    except ValueError as err:  # no device of that name, several of that name, or not an output
        raise GsvEdgeError(
            f"audio device {device!r}: {' '.join(str(err).split())}; 'gsv-edge doctor' lists the output devices",
            option="audio_device",
        ) from None
    except sd.PortAudioError as err:  # an index PortAudio does not know, or no device at all
        if device is None:
            message = f"no usable audio device ({err}); write a file or raw PCM instead"
            raise GsvEdgeError(message, option="output") from None
        raise GsvEdgeError(
            f"no audio device {device!r} ({err}); 'gsv-edge doctor' lists the output devices", option="audio_device"
        ) from None


# The rates `doctor` asks each output device about: the models' 32 kHz and the rates sound cards run at.
PROBE_RATES = (16000, 22050, 24000, 32000, 44100, 48000)


@dataclass(frozen=True)
class OutputDevice:
    """An output device as ``say --audio-device`` names it."""

    index: int
    """PortAudio's index (``--audio-device INDEX``)."""
    name: str
    """Its name (``--audio-device NAME``: any unique part of it)."""
    host_api: str
    """ALSA, JACK, PulseAudio..."""
    default_rate: int
    """The rate it plays at when 32 kHz is refused."""
    rates: tuple[int, ...]
    """Which of PROBE_RATES it accepts for mono float32."""
    is_default: bool
    """The device `say` plays to without --audio-device."""


def output_devices() -> list[OutputDevice]:
    """Every output device PortAudio sees, with the rates each accepts."""
    sd = _sounddevice()
    try:
        default = sd.query_devices(kind="output")["index"]
    except (sd.PortAudioError, ValueError):
        default = None
    host_apis = sd.query_hostapis()
    devices = []
    for info in sd.query_devices():
        if info["max_output_channels"] < 1:
            continue
        rates = tuple(rate for rate in PROBE_RATES if accepts_rate(sd, info, rate))
        devices.append(OutputDevice(info["index"], info["name"], host_apis[info["hostapi"]]["name"],
                                    int(info["default_samplerate"]), rates, info["index"] == default))  # fmt: skip
    return devices


def accepts_rate(sd, device, rate: int) -> bool:
    """Whether the output ``device`` takes mono float32 at ``rate``."""
    try:
        sd.check_output_settings(device=device["index"], samplerate=rate, channels=1, dtype="float32")
        return True
    except (sd.PortAudioError, ValueError):
        return False


def play(chunks, rate: int, device: str | int | None = None) -> int:
    """Play an iterable of float32 chunks as they come, on ``device`` (see ``Player``); returns the number of
    underruns."""
    with Player(rate, device=device) as player:
        for chunk in chunks:
            player.put(chunk)
    return player.feeder.underruns
