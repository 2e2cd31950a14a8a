"""Kaldi-style log-mel filterbank, as GPT-SoVITS feeds its speaker-verification net (numpy, no torch).

Upstream (``GPT_SoVITS/sv.py``) calls its copy of ``torchaudio.compliance.kaldi.fbank`` with
``num_mel_bins=80, sample_frequency=16000, dither=0`` on the 16 kHz clip in [-1, 1] and no normalisation
afterwards (``subtract_mean`` stays False). Every other setting is Kaldi's default, reproduced here:

- frames of 25 ms (400 samples) every 10 ms (160), only frames that fit whole (``snip_edges``);
- per frame: remove the DC offset, pre-emphasis 0.97 (the first sample against itself), Povey window
  (Hann to the power 0.85, symmetric), zero-padded to 512 for the FFT (``round_to_power_of_two``);
- power spectrum, 80 triangular bins spaced evenly on the mel scale 1127·ln(1 + f/700) from 20 Hz to
  Nyquist (8 kHz); the Nyquist FFT bin gets no weight;
- natural log, floored at float32 epsilon.
"""

from __future__ import annotations

import numpy as np

from gsv_edge.runtime.errors import GsvEdgeError

SAMPLE_RATE = 16000
MEL_BINS = 80
FRAME_LENGTH = 400  # 25 ms
FRAME_SHIFT = 160  # 10 ms
FFT_SIZE = 512  # next power of two above the frame length
PREEMPHASIS = 0.97
LOW_HZ = 20.0
EPSILON = float(np.finfo(np.float32).eps)


def _mel(hz):
    return 1127.0 * np.log(1.0 + np.asarray(hz, np.float64) / 700.0)


def mel_banks(bins: int = MEL_BINS, fft_size: int = FFT_SIZE, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Kaldi's triangular filters [bins, fft_size/2 + 1], peak 1 at each centre, evenly spaced in mel."""
    low, high = _mel(LOW_HZ), _mel(rate / 2)
    delta = (high - low) / (bins + 1)
    left = low + delta * np.arange(bins)[:, None]
    centre, right = left + delta, left + 2 * delta
    freqs = _mel(rate / fft_size * np.arange(fft_size // 2))[None, :]  # every FFT bin but Nyquist
    rising, falling = (freqs - left) / (centre - left), (right - freqs) / (right - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(weights, ((0, 0), (0, 1)))  # Nyquist column: zero


def povey_window(length: int = FRAME_LENGTH) -> np.ndarray:
    """Symmetric Hann window raised to 0.85 (goes to zero at both ends)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / (length - 1))) ** 0.85


def fbank(audio16k: np.ndarray) -> np.ndarray:
    """16 kHz mono audio in [-1, 1] → log-mel features [frames, 80] float32, frames = 1 + (n - 400) // 160."""
    audio = np.asarray(audio16k, dtype=np.float64)
    if audio.ndim != 1 or len(audio) < FRAME_LENGTH:
        raise GsvEdgeError(f"reference audio is too short for the speaker model ({audio.size} samples at 16 kHz)")
    count = 1 + (len(audio) - FRAME_LENGTH) // FRAME_SHIFT
    frames = audio[np.arange(FRAME_LENGTH)[None, :] + FRAME_SHIFT * np.arange(count)[:, None]]
    frames = frames - frames.mean(axis=1, keepdims=True)
    previous = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
    frames = (frames - PREEMPHASIS * previous) * povey_window()
    power = np.abs(np.fft.rfft(frames, n=FFT_SIZE, axis=1)) ** 2
    energies = power @ mel_banks().T
    return np.log(np.maximum(energies, EPSILON)).astype(np.float32)
