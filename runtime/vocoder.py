"""Semantic tokens → audio: the host side of the two SoVITS graphs (speed, noise, windows for streaming).

Facts: tokens come at 25 Hz; SoVITS works at 50 Hz (each token covers two frames) and its generator turns a
frame into 640 samples, so one token is 1280 samples of 32 kHz audio at speed 1.

``sovits_enc`` gives the prior (m, logs) for the tokens; here it is resampled for speed and sampled,
z_p = m + N(0,1)·exp(logs)·noise_scale; ``sovits_dec`` turns z_p into audio. The decoder is convolutional with
a finite reach, so a window of frames decoded with ``DECODER_CONTEXT_FRAMES`` of context on each side matches
a whole decode, which is what streaming relies on.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

SAMPLE_RATE = 32000
SAMPLES_PER_FRAME = 640
FRAMES_PER_TOKEN = 2
SAMPLES_PER_TOKEN = SAMPLES_PER_FRAME * FRAMES_PER_TOKEN
LATENT_CHANNELS = 192
# Context on each side of a window's kept frames: the decoder's receptive field reaches further, but its weight
# there is small, and fewer context frames mean more new frames per call. The trade-off and the SNR per choice
# against a whole decode are in docs/performance.md; a test pins the windowed decode against a whole one.
DECODER_CONTEXT_FRAMES = 12
# The window lengths (frames) of a whole decode when the caller names none (conversion checks; the runtime passes
# its settings' streaming.decoder_windows). The decoder only ever runs on a few fixed lengths (an utterance shorter
# than the smallest is zero-padded to it, see decode_span) because OpenVINO's CPU plugin keeps buffers for every
# input shape it has run, for good. Each window's output is kept only where it has DECODER_CONTEXT_FRAMES of
# context on both sides (or the utterance's own edge), so the result equals a whole decode.
WINDOW_FRAMES = (48, 96, 144)


class SoVITSEncoder(Protocol):
    def run(self, codes: np.ndarray, phones: np.ndarray, ge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """codes [1, T], phones [1, N], ge [1, gin] → m, logs [192, 2T]."""
        ...


class SoVITSDecoder(Protocol):
    def run(self, z_p: np.ndarray, ge: np.ndarray, frames: int | None = None) -> np.ndarray:
        """z_p [1, 192, F], ge [1, gin] → audio [640·F]. With ``frames=n`` only the first n frames are real, and
        their audio is that of a decode of just them (the rest is padding)."""
        ...


def decoder_feed(z_p: np.ndarray, ge: np.ndarray, frames: int | None = None) -> dict[str, np.ndarray]:
    """The decoder graph's inputs: z_p, ge, and ``frames``, the real frames of z_p (all of them unless told)."""
    return {"z_p": z_p, "ge": ge, "frames": np.array([z_p.shape[-1] if frames is None else frames], np.int64)}


def frames_for(tokens: int, speed: float = 1.0) -> int:
    """50 Hz frames for ``tokens`` at ``speed`` (upstream's rule: 2T at speed 1, else int(2T / speed) + 1)."""
    return FRAMES_PER_TOKEN * tokens if speed == 1 else int(FRAMES_PER_TOKEN * tokens / speed) + 1


def sample_positions(start: int, end: int, scale: float, source_frames: int) -> tuple[np.ndarray, ...]:
    """Linear resampling along frames, half-pixel centres (torch's interpolate, align_corners=False): for output
    frames [start, end) read at (j + 0.5) · scale − 0.5, the lower source index, the upper one and its weight."""
    if scale == 1:
        index = np.arange(start, end)
        return index, index, np.zeros(end - start, np.float32)
    position = np.maximum((np.arange(start, end, dtype=np.float32) + 0.5) * np.float32(scale) - 0.5, 0)
    lower = np.minimum(np.floor(position).astype(np.int64), source_frames - 1)
    upper = np.minimum(lower + 1, source_frames - 1)
    return lower, upper, (position - lower).astype(np.float32)


def interpolate(x: np.ndarray, positions: tuple[np.ndarray, ...]) -> np.ndarray:
    """x [..., source frames] read at ``sample_positions``."""
    lower, upper, weight = positions
    return x[..., lower] * (1 - weight) + x[..., upper] * weight


def resample(x: np.ndarray, frames: int) -> np.ndarray:
    """x [..., n] stretched to ``frames`` along the last axis (float32 arithmetic, as torch does it)."""
    n = x.shape[-1]
    if frames == n:
        return x
    return interpolate(x, sample_positions(0, frames, np.float32(n / frames), n))


class FrameNoise:
    """N(0, 1) noise for the prior, drawn frame by frame (frame-major), so that a stream that asks for it
    chunk by chunk gets the same numbers as a whole decode that asks for all frames at once."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.frames = np.zeros((0, LATENT_CHANNELS), np.float32)

    def first(self, count: int) -> np.ndarray:
        """Noise for frames [0, count) as [192, count]."""
        if count > len(self.frames):
            extra = self.rng.standard_normal((count - len(self.frames), LATENT_CHANNELS)).astype(np.float32)
            self.frames = np.concatenate([self.frames, extra])
        return self.frames[:count].T


def prior_sample(m: np.ndarray, logs: np.ndarray, noise: np.ndarray, noise_scale: float) -> np.ndarray:
    """z_p = m + noise · exp(logs) · noise_scale, as [1, 192, F] float32."""
    return (m + noise * np.exp(logs) * noise_scale).astype(np.float32)[None]


def decode_whole(
    encoder, decoder, tokens, phones, ge, noise_scale=0.5, speed=1.0, rng=None, noise=None, windows=WINDOW_FRAMES
) -> np.ndarray:
    """Whole-utterance decode: tokens [T] → float32 audio [640 · frames_for(T, speed)]."""
    ge_row = np.asarray(ge, np.float32)[None]
    m, logs = encoder.run(_row(tokens), _row(phones), ge_row)
    frames = frames_for(len(tokens), speed)
    m, logs = resample(m, frames), resample(logs, frames)
    if noise is None:
        noise = FrameNoise(rng or np.random.default_rng()).first(frames)
    z_p = prior_sample(m, logs, noise, noise_scale)
    return decode_span(decoder, z_p, ge_row, 0, frames, windows=windows)


def decode_span(
    decoder,
    z_p: np.ndarray,
    ge_row: np.ndarray,
    start: int,
    end: int,
    final: bool = True,
    left_context: int = DECODER_CONTEXT_FRAMES,
    tail: int = 0,
    windows: tuple[int, ...] = WINDOW_FRAMES,
) -> np.ndarray:
    """Audio for frames [start, end) of z_p [1, 192, F] (plus ``tail`` frames after ``end``, with less right
    context: material for a cross-fade), decoded on windows of the ``windows`` lengths only (ascending).

    ``final``: ``end`` is the end of the utterance (z_p's last frame). Otherwise (a stream) z_p must reach
    DECODER_CONTEXT_FRAMES past ``end``, and a window may be padded with zero frames beyond that, which changes
    only audio that is not kept. Windows reach as far left as their size allows (more context, still exact).
    """
    frames = z_p.shape[-1]
    right = end if final else end + DECODER_CONTEXT_FRAMES
    if right > frames:
        raise ValueError("a stream's window needs DECODER_CONTEXT_FRAMES of prior past its end")
    left = max(0, start - max(left_context, DECODER_CONTEXT_FRAMES))
    fits = [size for size in windows if size >= right - left]
    if not fits:  # longer than the largest window: several of them
        return _windows(decoder, z_p[:, :, :right], ge_row, start, end, windows[-1], tail)
    size = fits[0]
    if final and size > frames:
        # an utterance shorter than the window: zero-padded to it, the decoder told where it ends (exact, and
        # no new input shape, each of which OpenVINO would keep buffers for, for good)
        window = np.zeros((1, z_p.shape[1], size), np.float32)
        window[:, :, :frames] = z_p
        return decoder.run(window, ge_row, frames=frames)[start * SAMPLES_PER_FRAME : frames * SAMPLES_PER_FRAME]
    first = max(0, right - size)
    window = np.zeros((1, z_p.shape[1], size), np.float32)
    real = z_p[:, :, first : first + size]
    window[:, :, : real.shape[-1]] = real
    audio = decoder.run(window, ge_row)
    return audio[(start - first) * SAMPLES_PER_FRAME : (end + tail - first) * SAMPLES_PER_FRAME]


def _windows(decoder, z_p, ge_row, start: int, end: int, size: int, tail: int = 0) -> np.ndarray:
    """Frames [start, end) through windows of exactly ``size`` frames (z_p has at least ``size``), each kept
    where it has DECODER_CONTEXT_FRAMES of context on both sides or reaches an edge of z_p; then up to ``tail``
    frames more from the last window (less right context: cross-fade material, not worth a window of its own)."""
    frames, context = z_p.shape[-1], DECODER_CONTEXT_FRAMES
    pieces = []
    while start < end:
        stop = min(start + size - 2 * context, end)
        first = min(max(0, start - context), frames - size)
        audio = decoder.run(np.ascontiguousarray(z_p[:, :, first : first + size]), ge_row)
        keep = min(end + tail, first + size) if stop == end else stop
        pieces.append(audio[(start - first) * SAMPLES_PER_FRAME : (keep - first) * SAMPLES_PER_FRAME])
        start = stop
    return np.concatenate(pieces)


def _row(ids) -> np.ndarray:
    return np.asarray(ids, dtype=np.int64)[None]
