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

    def forward(self, x):
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, LEAKY)), LEAKY))
        return x


class Generator(nn.Module):
    def __init__(self, in_channels: int, model_config: dict, gin_channels: int):
        super().__init__()
        rates = model_config["upsample_rates"]
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

    def forward(self, x, g):
        x = self.conv_pre(x) + self.cond(g)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LEAKY))
            blocks = self.resblocks[i * self.n_kernels : (i + 1) * self.n_kernels]
            x = sum(block(x) for block in blocks) / self.n_kernels
        return torch.tanh(self.conv_post(F.leaky_relu(x, FINAL_LEAKY)))
