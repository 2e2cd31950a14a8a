"""SoVITS' single-codebook vector quantizer: 768-d SSL frames ↔ semantic token ids (1024 entries)."""

from __future__ import annotations

import torch
from torch import nn


class Codebook(nn.Module):
    """Holds the trained codebook; the training statistics are kept only so official files load strictly."""

    def __init__(self, dim: int = 768, bins: int = 1024):
        super().__init__()
        self.register_buffer("inited", torch.ones(1))
        self.register_buffer("cluster_size", torch.zeros(bins))
        self.register_buffer("embed", torch.zeros(bins, dim))
        self.register_buffer("embed_avg", torch.zeros(bins, dim))


class ResidualVectorQuantizer(nn.Module):
    """Stored as vq.layers.0._codebook (one layer: GPT-SoVITS uses n_q = 1)."""

    def __init__(self, dim: int = 768, bins: int = 1024):
        super().__init__()
        self.vq = nn.Module()
        self.vq.layers = nn.ModuleList([nn.Module()])
        self.vq.layers[0]._codebook = Codebook(dim, bins)

    @property
    def embed(self) -> torch.Tensor:
        return self.vq.layers[0]._codebook.embed

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, D, T] → ids [B, T] of the nearest entry (squared distance, in fp32)."""
        flat = x.transpose(1, 2).reshape(-1, x.shape[1]).float()
        embed = self.embed.float()
        distance = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ embed.T + embed.pow(2).sum(1)[None]
        return distance.argmin(dim=1).view(x.shape[0], x.shape[2])

    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [B, T] → vectors [B, D, T]."""
        return nn.functional.embedding(ids, self.embed).transpose(1, 2)
