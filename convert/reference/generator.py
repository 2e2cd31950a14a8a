"""SoVITS' decoder: a HiFi-GAN generator, 50 Hz latent frames → 32 kHz audio (640 samples per frame)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LEAKY = 0.1
# after the last block the generator uses leaky_relu's default slope, not 0.1
FINAL_LEAKY = 0.01


class ResBlock1(nn.Module):
    """Three (dilated conv, conv) pairs, each pair a residual step."""

    def __init__(self, channels: int, kernel_size: int, dilations: list[int]):
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, dilation=d, padding=(kernel_size * d - d) // 2)
            for d in dilations
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, padding=(kernel_size - 1) // 2) for _ in dilations
        )

    def forward(self, x, mask=None):
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            x = x + c2(_masked(F.leaky_relu(c1(_masked(F.leaky_relu(x, LEAKY), mask)), LEAKY), mask))
        return x


def _masked(x, mask):
    """x with its padding samples zeroed (``mask`` [1, 1, T]: 1 on real samples), or x itself (no mask)."""
    return x if mask is None else x * mask


class Generator(nn.Module):
    def __init__(self, in_channels: int, model_config: dict, gin_channels: int):
        super().__init__()
        rates = model_config["upsample_rates"]
        self.rates = [int(rate) for rate in rates]
        kernels = model_config["upsample_kernel_sizes"]
        channels = int(model_config["upsample_initial_channel"])
        self.n_kernels = len(model_config["resblock_kernel_sizes"])
        self.conv_pre = nn.Conv1d(in_channels, channels, 7, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (rate, kernel) in enumerate(zip(rates, kernels, strict=True)):
            c_in, c_out = channels // 2**i, channels // 2 ** (i + 1)
            self.ups.append(nn.ConvTranspose1d(c_in, c_out, kernel, rate, padding=(kernel - rate) // 2))
            for k, dilations in zip(
                model_config["resblock_kernel_sizes"], model_config["resblock_dilation_sizes"], strict=True
            ):
                self.resblocks.append(ResBlock1(c_out, k, dilations))
        self.conv_post = nn.Conv1d(c_out, 1, 7, padding=3, bias=False)
        self.cond = nn.Conv1d(gin_channels, channels, 1)

    def forward(self, x, g, masks=None):
        """``masks``: None, or one [1, 1, T·u] mask per rate, frames first (see ``SynthesizerTrn.decode_latent``):
        a padded window's padding is zeroed before every conv, as the zero padding of an unpadded decode is."""
        masks = masks or [None] * (len(self.ups) + 1)
        x = self.conv_pre(_masked(x, masks[0])) + self.cond(g)
        for i, up in enumerate(self.ups):
            x = up(_masked(F.leaky_relu(x, LEAKY), masks[i]))
            blocks = self.resblocks[i * self.n_kernels : (i + 1) * self.n_kernels]
            x = sum(block(x, masks[i + 1]) for block in blocks) / self.n_kernels
        return torch.tanh(self.conv_post(_masked(F.leaky_relu(x, FINAL_LEAKY), masks[-1])))
