"""The attention blocks of SoVITS' text encoder (enc_p): a relative-position transformer and MRTE.

Inference here is always one utterance with no padding, so every mask is all ones and is left out.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of [B, C, T], stored as gamma/beta."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return F.layer_norm(x.transpose(1, -1), self.gamma.shape, self.gamma, self.beta, self.eps).transpose(1, -1)


class MultiHeadAttention(nn.Module):
    """1×1-conv attention over [B, C, T]; with ``window`` set, adds learned relative-position terms.

    Relative positions: for query i and key j with |j - i| ≤ window, the score gains q_i · E_k[j - i] and the
    output gains p_ij · E_v[j - i]; farther pairs get nothing. E_k, E_v are shared by all heads.
    """

    def __init__(self, channels: int, out_channels: int, heads: int, window: int | None = None):
        super().__init__()
        self.heads = heads
        self.head_dim = channels // heads
        self.window = window
        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        self.conv_o = nn.Conv1d(channels, out_channels, 1)
        if window is not None:
            self.emb_rel_k = nn.Parameter(torch.zeros(1, 2 * window + 1, self.head_dim))
            self.emb_rel_v = nn.Parameter(torch.zeros(1, 2 * window + 1, self.head_dim))

    def _split(self, x):  # [B, C, T] → [B, H, T, D]
        # (not unflatten: the ONNX exporter would freeze T at the example length)
        return x.view(x.shape[0], self.heads, self.head_dim, -1).transpose(2, 3)

    def forward(self, x, context):
        q = self._split(self.conv_q(x)) / math.sqrt(self.head_dim)
        k, v = self._split(self.conv_k(context)), self._split(self.conv_v(context))
        scores = q @ k.transpose(-2, -1)
        if self.window is not None:
            scores = scores + self._band_to_full(q @ self.emb_rel_k[0].T, scores)
        weights = torch.softmax(scores, dim=-1)
        out = weights @ v
        if self.window is not None:
            out = out + self._full_to_band(weights) @ self.emb_rel_v[0]
        return self.conv_o(out.transpose(2, 3).flatten(1, 2))

    # Relative terms live on a band of 2w+1 diagonals. Both conversions below move between the band [T, 2w+1]
    # and the full [T, T] matrix by padding rows and re-reading the flat buffer with a row length one longer or
    # one shorter, which shifts row i by i places: no index tensors, only pads, reshapes and slices. (Sizes
    # that depend on T come from cat/reshape, never from F.pad or unflatten, which an export would freeze.)
    def _band_to_full(self, band, like):  # [B, H, T, 2w+1] → [B, H, T, T] (shaped like ``like``):
        # full[i, j] = band[i, j - i + w] for |j - i| ≤ w, else 0
        length, w = band.shape[2], self.window
        rows = torch.cat([band, torch.zeros_like(like)], dim=-1).flatten(2)  # rows of T + 2w + 1: band, zeros
        # read back in rows of T + 2w: row i moves i places right, band[i, r] lands at column i + r
        skewed = rows[:, :, : length * (length + 2 * w)].reshape(-1, self.heads, length, length + 2 * w)
        return skewed[:, :, :, w : w + length]

    def _full_to_band(self, full):  # [B, H, T, T] → [B, H, T, 2w+1]: band[i, r] = full[i, i + r - w]
        length, w = full.shape[2], self.window
        rows = F.pad(full, (w, w + 1)).flatten(2)  # rows of T + 2w + 1: full[i, j] at column j + w
        rows = torch.cat([rows, torch.zeros_like(full[:, :, 0])], dim=-1)  # T more: the last row's reach
        # read back in rows of T + 2w + 2: row i moves i places left, column i + r lands at r
        skewed = rows.reshape(-1, self.heads, length, length + 2 * w + 2)
        return skewed[:, :, :, : 2 * w + 1]


class FFN(nn.Module):
    """conv(k) → ReLU → conv(k), 'same' padding."""

    def __init__(self, channels: int, filter_channels: int, kernel_size: int):
        super().__init__()
        self.pad = ((kernel_size - 1) // 2, kernel_size // 2)
        self.conv_1 = nn.Conv1d(channels, filter_channels, kernel_size)
        self.conv_2 = nn.Conv1d(filter_channels, channels, kernel_size)

    def forward(self, x):
        return self.conv_2(F.pad(torch.relu(self.conv_1(F.pad(x, self.pad))), self.pad))


class Encoder(nn.Module):
    """Post-norm transformer over [B, C, T] with relative positions (window 4)."""

    def __init__(self, hidden: int, filter_channels: int, heads: int, n_layers: int, kernel_size: int, window: int = 4):
        super().__init__()
        self.attn_layers = nn.ModuleList(MultiHeadAttention(hidden, hidden, heads, window) for _ in range(n_layers))
        self.norm_layers_1 = nn.ModuleList(ChannelLayerNorm(hidden) for _ in range(n_layers))
        self.ffn_layers = nn.ModuleList(FFN(hidden, filter_channels, kernel_size) for _ in range(n_layers))
        self.norm_layers_2 = nn.ModuleList(ChannelLayerNorm(hidden) for _ in range(n_layers))

    def forward(self, x):
        for attn, norm1, ffn, norm2 in zip(
            self.attn_layers, self.norm_layers_1, self.ffn_layers, self.norm_layers_2, strict=True
        ):
            x = norm1(x + attn(x, x))
            x = norm2(x + ffn(x))
        return x


class MRTE(nn.Module):
    """Mel-reference text encoder: SSL frames attend to the phones (4 heads, 512-d, no relative terms), and
    the speaker vector ge is added, before projecting back to 192 channels."""

    def __init__(self, content_channels: int = 192, hidden: int = 512, out_channels: int = 192, heads: int = 4):
        super().__init__()
        self.cross_attention = MultiHeadAttention(hidden, hidden, heads)
        self.c_pre = nn.Conv1d(content_channels, hidden, 1)
        self.text_pre = nn.Conv1d(content_channels, hidden, 1)
        self.c_post = nn.Conv1d(hidden, out_channels, 1)

    def forward(self, ssl, text, ge):
        ssl = self.c_pre(ssl)
        return self.c_post(self.cross_attention(ssl, self.text_pre(text)) + ssl + ge)
