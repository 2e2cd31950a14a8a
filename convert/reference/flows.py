"""SoVITS' normalising flow, run in reverse at inference: prior sample z_p → latent z for the decoder."""

from __future__ import annotations

import torch
from torch import nn


class WN(nn.Module):
    """WaveNet-style stack: dilated convs with a tanh·sigmoid gate, conditioned on ge, with skip outputs."""

    def __init__(self, hidden: int, kernel_size: int, n_layers: int, gin_channels: int, dilation_rate: int = 1):
        super().__init__()
        self.hidden = hidden
        self.cond_layer = nn.Conv1d(gin_channels, 2 * hidden * n_layers, 1)
        self.in_layers = nn.ModuleList()
        self.res_skip_layers = nn.ModuleList()
        for i in range(n_layers):
            dilation = dilation_rate**i
            padding = (kernel_size * dilation - dilation) // 2
            self.in_layers.append(nn.Conv1d(hidden, 2 * hidden, kernel_size, dilation=dilation, padding=padding))
            # the last layer has only a skip output
            self.res_skip_layers.append(nn.Conv1d(hidden, 2 * hidden if i < n_layers - 1 else hidden, 1))

    def forward(self, x, g, mask=None):
        """``mask`` [1, 1, T] (1: a real frame), or None: zeroes the padding frames of a padded window before each
        kernel-5 conv, so that the real frames come out as a decode of just them would give them."""
        cond = self.cond_layer(g)
        output = torch.zeros_like(x)
        h = self.hidden
        for i, (in_layer, res_skip) in enumerate(zip(self.in_layers, self.res_skip_layers, strict=True)):
            a = in_layer(x if mask is None else x * mask) + cond[:, 2 * h * i : 2 * h * (i + 1)]
            acts = torch.tanh(a[:, :h]) * torch.sigmoid(a[:, h:])
            out = res_skip(acts)
            if i < len(self.in_layers) - 1:
                x = x + out[:, :h]
                output = output + out[:, h:]
            else:
                output = output + out
        return output


class CouplingLayer(nn.Module):
    """Mean-only affine coupling: the second half of the channels is shifted by a function of the first."""

    def __init__(self, channels: int, hidden: int, kernel_size: int, n_layers: int, gin_channels: int):
        super().__init__()
        self.half = channels // 2
        self.pre = nn.Conv1d(self.half, hidden, 1)
        self.enc = WN(hidden, kernel_size, n_layers, gin_channels)
        self.post = nn.Conv1d(hidden, self.half, 1)

    def reverse(self, x, g, mask=None):
        x0, x1 = x[:, : self.half], x[:, self.half :]
        shift = self.post(self.enc(self.pre(x0), g, mask))
        return torch.cat([x0, x1 - shift], dim=1)


class ResidualCouplingBlock(nn.Module):
    """Four couplings, each followed by a channel flip; stored at flows.0/2/4/6 (the flips hold no weights)."""

    def __init__(self, channels: int, hidden: int, gin_channels: int, n_flows: int = 4, kernel_size: int = 5,
                 n_layers: int = 4):  # fmt: skip
        super().__init__()
        self.flows = nn.ModuleList()
        for _ in range(n_flows):
            self.flows.append(CouplingLayer(channels, hidden, kernel_size, n_layers, gin_channels))
            self.flows.append(nn.Identity())  # the flip's slot

    def reverse(self, z, g, mask=None):
        for flow in reversed(self.flows):
            z = torch.flip(z, [1]) if isinstance(flow, nn.Identity) else flow.reverse(z, g, mask)
        return z
