"""MelStyleEncoder (SoVITS' ref_enc): a reference spectrogram → one speaker/style vector ge."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _Linear(nn.Module):
    """A Linear stored under ``.fc``."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.fc = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.fc(x)


class _Mish(nn.Module):
    def forward(self, x):
        return x * torch.tanh(F.softplus(x))


class _Conv1dGLU(nn.Module):
    """x + GLU(conv(x)): the conv doubles the channels, half of them gate the other half."""

    def __init__(self, channels: int, kernel_size: int):
        super().__init__()
        self.conv1 = nn.Module()
        self.conv1.conv = nn.Conv1d(channels, 2 * channels, kernel_size, padding=(kernel_size - 1) // 2)

    def forward(self, x):
        value, gate = self.conv1.conv(x).chunk(2, dim=1)
        return x + value * torch.sigmoid(gate)


class _StyleAttention(nn.Module):
    """Multi-head self-attention with a residual. Its scores are divided by sqrt(model width), not sqrt(head width)."""

    def __init__(self, heads: int, width: int):
        super().__init__()
        self.heads, self.width = heads, width
        self.w_qs = nn.Linear(width, width)
        self.w_ks = nn.Linear(width, width)
        self.w_vs = nn.Linear(width, width)
        self.fc = nn.Linear(width, width)

    def forward(self, x):  # [B, T, C]
        batch, length, _ = x.shape

        def split(t):
            return t.view(batch, length, self.heads, -1).transpose(1, 2)

        q, k, v = split(self.w_qs(x)), split(self.w_ks(x)), split(self.w_vs(x))
        weights = torch.softmax(q @ k.transpose(-2, -1) / self.width**0.5, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(batch, length, -1)
        return self.fc(out) + x


class MelStyleEncoder(nn.Module):
    """spec [B, bins, T] → ge [B, out, 1]: per-frame MLP (Mish), two gated convs, self-attention, linear,
    then the mean over time."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, kernel_size: int = 5, heads: int = 2):
        super().__init__()
        self.spectral = nn.Sequential(
            _Linear(in_dim, hidden), _Mish(), nn.Identity(), _Linear(hidden, hidden), _Mish(), nn.Identity()
        )
        self.temporal = nn.Sequential(_Conv1dGLU(hidden, kernel_size), _Conv1dGLU(hidden, kernel_size))
        self.slf_attn = _StyleAttention(heads, hidden)
        self.fc = _Linear(hidden, out_dim)

    def forward(self, spec):
        x = self.spectral(spec.transpose(1, 2))
        x = self.temporal(x.transpose(1, 2)).transpose(1, 2)
        x = self.fc(self.slf_attn(x))
        return x.mean(dim=1).unsqueeze(-1)
