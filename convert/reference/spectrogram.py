"""The linear magnitude spectrogram SoVITS' reference encoder reads (32 kHz audio)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

N_FFT = 2048
HOP = 640
WIN = 2048


def linear_spectrogram(audio: torch.Tensor, n_fft: int = N_FFT, hop: int = HOP, win: int = WIN) -> torch.Tensor:
    """audio [samples] → magnitude [n_fft/2+1, frames].

    Reflect-pad (n_fft - hop)/2 = 704 samples on each side, then an STFT without centring (periodic Hann), and
    sqrt(re² + im² + 1e-8) so silence stays differentiable and finite.
    """
    pad = (n_fft - hop) // 2
    padded = F.pad(audio[None, None], (pad, pad), mode="reflect")[0]
    spec = torch.stft(
        padded, n_fft, hop_length=hop, win_length=win, window=torch.hann_window(win), center=False,
        normalized=False, onesided=True, return_complex=True,
    )  # fmt: skip
    return torch.sqrt(spec.real**2 + spec.imag**2 + 1e-8)[0]
