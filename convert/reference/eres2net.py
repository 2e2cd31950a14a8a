"""ERes2NetV2 (3D-Speaker), the speaker-verification net v2Pro/v2ProPlus read their sv_emb from.

Upstream ships one checkpoint, ``GPT_SoVITS/pretrained_models/sv/pretrained_eres2netv2w24s4ep4.ckpt``: a plain
``torch.save``'d state dict of the w24 s4 configuration (baseWidth 24, scale 4, expansion 4, 64 stem channels,
blocks 3/4/6/3, 80 fbank bins, embedding 192, TSTP pooling). GPT-SoVITS does not use the embedding head: its
``forward3`` stops at the fused stage-3/4 feature map [B, 2048, 10, T/8] and averages it over time, giving the
20480-d ``sv_emb``. The head (``seg_1``) is still built here so the file loads with no key left over.

Module and parameter names follow upstream's exactly (``layer3.0.fuse_models.1.local_att.0.weight``...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gsv_edge.runtime.errors import GsvEdgeError

SV_FILE = "pretrained_eres2netv2w24s4ep4.ckpt"
SV_UPSTREAM_PATH = f"GPT_SoVITS/pretrained_models/sv/{SV_FILE}"
FBANK_BINS = 80
SV_EMBEDDING_DIM = 20480  # 2048 channels x 10 frequency rows (80 bins / 8)


class HardReLU(nn.Hardtanh):
    """Upstream's ``ReLU`` inside the blocks is a Hardtanh clamped to [0, 20], not a plain ReLU."""

    def __init__(self):
        super().__init__(0.0, 20.0)


class AFF(nn.Module):
    """Attentional feature fusion: a gate in [0, 2] from both inputs mixes x·g + y·(2 - g)."""

    def __init__(self, channels: int, r: int = 4):
        super().__init__()
        inter = channels // r
        self.local_att = nn.Sequential(
            nn.Conv2d(channels * 2, inter, kernel_size=1), nn.BatchNorm2d(inter), nn.SiLU(),
            nn.Conv2d(inter, channels, kernel_size=1), nn.BatchNorm2d(channels),
        )  # fmt: skip

    def forward(self, x, y):
        gate = 1.0 + torch.tanh(self.local_att(torch.cat((x, y), dim=1)))
        return x * gate + y * (2.0 - gate)


class Block(nn.Module):
    """Res2Net bottleneck: 1x1 conv, ``scale`` 3x3 branches fed hierarchically (each adds the previous branch's
    output, or fuses it with AFF in the ``fuse`` variant of stages 3-4), 1x1 conv, residual."""

    def __init__(
        self, in_planes: int, planes: int, stride: int, base_width: int, scale: int, expansion: int, fuse: bool
    ):
        super().__init__()
        width = int(math.floor(planes * (base_width / 64.0)))
        self.width, self.fuse = width, fuse
        self.conv1 = nn.Conv2d(in_planes, width * scale, kernel_size=1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(width * scale)
        self.convs = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1, bias=False) for _ in range(scale))
        self.bns = nn.ModuleList(nn.BatchNorm2d(width) for _ in range(scale))
        if fuse:
            self.fuse_models = nn.ModuleList(AFF(width, r=4) for _ in range(scale - 1))
        self.relu = HardReLU()
        self.conv3 = nn.Conv2d(width * scale, planes * expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * expansion)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes * expansion:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes * expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * expansion),
            )

    def forward(self, x):
        splits = torch.split(self.relu(self.bn1(self.conv1(x))), self.width, dim=1)
        outputs = []
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns, strict=True)):
            if i == 0:
                branch = splits[0]
            elif self.fuse:
                branch = self.fuse_models[i - 1](branch, splits[i])
            else:
                branch = branch + splits[i]
            branch = self.relu(bn(conv(branch)))
            outputs.append(branch)
        out = self.bn3(self.conv3(torch.cat(outputs, dim=1)))
        return self.relu(out + self.shortcut(x))


class ERes2NetV2(nn.Module):
    """fbank [B, T, 80] → sv_emb [B, 20480] (``forward``, upstream's ``forward3``)."""

    def __init__(
        self,
        base_width: int = 24,
        scale: int = 4,
        expansion: int = 4,
        m_channels: int = 64,
        blocks: tuple[int, ...] = (3, 4, 6, 3),
        feat_dim: int = FBANK_BINS,
        embedding_size: int = 192,
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(1, m_channels, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(m_channels)
        in_planes = m_channels
        for index, (count, stride) in enumerate(zip(blocks, (1, 2, 2, 2), strict=True)):
            planes = m_channels * 2**index
            layer = []
            for block_stride in [stride] + [1] * (count - 1):
                layer.append(Block(in_planes, planes, block_stride, base_width, scale, expansion, fuse=index >= 2))
                in_planes = planes * expansion
            setattr(self, f"layer{index + 1}", nn.Sequential(*layer))
        # Stage 3's output, downsampled to stage 4's size, is fused into stage 4's output.
        self.layer3_ds = nn.Conv2d(m_channels * 4 * expansion, m_channels * 8 * expansion, 3, stride=2, padding=1,
                                   bias=False)  # fmt: skip
        self.fuse34 = AFF(m_channels * 8 * expansion, r=4)
        # The embedding head (TSTP mean+std statistics → 192): in the checkpoint, unused by GPT-SoVITS.
        stats_dim = (feat_dim // 8) * m_channels * 8 * expansion
        self.seg_1 = nn.Linear(stats_dim * 2, embedding_size)

    def forward(self, fbank):
        x = fbank.transpose(1, 2).unsqueeze(1)  # [B, 1, 80, T]: frequency is an image axis
        x = F.relu(self.bn1(self.conv1(x)))  # the stem uses a plain ReLU
        x = self.layer2(self.layer1(x))
        stage3 = self.layer3(x)
        fused = self.fuse34(self.layer4(stage3), self.layer3_ds(stage3))  # [B, 2048, 10, T/8]
        return fused.flatten(1, 2).mean(-1)


@dataclass
class SvCheckpoint:
    """The speaker-verification checkpoint, loaded."""

    path: Path
    sha256: str  # of the file as stored: binds voices to the sv model that made them
    model: ERes2NetV2  # eval mode, fp32


def load_sv(path: str | Path) -> SvCheckpoint:
    """Upstream's ERes2NetV2 checkpoint, read weights-only (never unpickling code). Raises a one-line GsvEdgeError
    for an unreadable file or a state dict whose names or shapes are not upstream's w24 s4 ones."""
    from gsv_edge.convert.checkpoint import CheckpointError, read_checkpoint

    fix = f"pass upstream's {SV_FILE} (from {SV_UPSTREAM_PATH})"
    try:
        raw = read_checkpoint(path)
    except CheckpointError as err:
        problem = str(err).split("; ")[0]  # keep the problem, replace the GPT/SoVITS-specific fix
        raise GsvEdgeError(f"--sv {problem}; {fix}") from None
    state = raw.payload
    if "weight" in state and "config" in state:
        raise GsvEdgeError(
            f"--sv {raw.path}: this is a GPT-SoVITS model file, not the speaker-verification model; {fix}"
        )
    model = ERes2NetV2().eval()
    expected = model.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        details = []
        if missing:
            details.append(f"{len(missing)} missing keys, e.g. {missing[0]}")
        if unexpected:
            details.append(f"{len(unexpected)} unexpected keys, e.g. {unexpected[0]}")
        raise GsvEdgeError(f"--sv {raw.path}: not an ERes2NetV2 w24s4 state dict ({'; '.join(details)}); {fix}")
    for key, tensor in expected.items():
        value = state[key]
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != tuple(tensor.shape):
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise GsvEdgeError(
                f"--sv {raw.path}: {key} is {got}, expected {tuple(tensor.shape)} (another ERes2Net size?); {fix}"
            )
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    return SvCheckpoint(raw.path, raw.sha256, model)
