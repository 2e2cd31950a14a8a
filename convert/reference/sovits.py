"""Torch reference of the SoVITS inference path (SynthesizerTrn): tokens + phones + speaker → 32 kHz audio.

State-dict names are the official ones after weight-norm folding, without the training-only posterior
encoder (enc_q), and sizes come from the checkpoint's config, so v1/v2/v2Pro/v2ProPlus and tiny models load.

Data path of ``decode``:
  codes (25 Hz) → codebook vectors → repeated ×2 to 50 Hz → enc_p (SSL 1×1 conv, transformer; phones →
  embedding, transformer; MRTE cross-attention + speaker; transformer; optional speed change) → m, logs →
  z_p = m + noise·exp(logs)·noise_scale → flow in reverse (conditioned on ge) → HiFi-GAN (conditioned on ge).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gsv_edge.convert.reference.attentions import MRTE, Encoder
from gsv_edge.convert.reference.flows import ResidualCouplingBlock
from gsv_edge.convert.reference.generator import Generator
from gsv_edge.convert.reference.quantizer import ResidualVectorQuantizer
from gsv_edge.convert.reference.ref_encoder import MelStyleEncoder

SSL_DIM = 768
# v2 and later feed the reference encoder only the lowest 704 of the 1025 spectrogram bins; v1 feeds all.
V2_REF_BINS = 704
SPEC_BINS = 1025
SV_EMBEDDING_DIM = 20480
MRTE_DIM = 512
SYMBOLS = {"v1": 322}
SYMBOLS_V2 = 732


class TextEncoder(nn.Module):
    """enc_p: SSL frames and phones → prior mean m and log-scale logs at 50 Hz."""

    def __init__(self, model_config: dict, n_symbols: int):
        super().__init__()
        hidden = int(model_config["hidden_channels"])
        filters = int(model_config["filter_channels"])
        heads, layers = int(model_config["n_heads"]), int(model_config["n_layers"])
        kernel = int(model_config["kernel_size"])
        self.out_channels = int(model_config["inter_channels"])
        self.ssl_proj = nn.Conv1d(SSL_DIM, hidden, 1)
        self.encoder_ssl = Encoder(hidden, filters, heads, layers // 2, kernel)
        self.text_embedding = nn.Embedding(n_symbols, hidden)
        self.encoder_text = Encoder(hidden, filters, heads, layers, kernel)
        self.mrte = MRTE(hidden, MRTE_DIM, hidden)
        self.encoder2 = Encoder(hidden, filters, heads, layers // 2, kernel)
        self.proj = nn.Conv1d(hidden, 2 * self.out_channels, 1)

    def forward(self, ssl, phones, ge_mrte):
        y = self.encoder_ssl(self.ssl_proj(ssl))
        text = self.encoder_text(self.text_embedding(phones).transpose(1, 2))
        y = self.encoder2(self.mrte(y, text, ge_mrte))
        m, logs = self.proj(y).split(self.out_channels, dim=1)
        return m, logs


class SynthesizerTrn(nn.Module):
    def __init__(self, model_config: dict, version: str):
        super().__init__()
        self.version = version
        self.is_pro = version in ("v2Pro", "v2ProPlus")
        gin = int(model_config["gin_channels"])
        inter = int(model_config["inter_channels"])
        n_symbols = SYMBOLS.get(version, SYMBOLS_V2)
        self.ref_bins = SPEC_BINS if version == "v1" else V2_REF_BINS
        self.enc_p = TextEncoder(model_config, n_symbols)
        self.dec = Generator(inter, model_config, gin)
        self.flow = ResidualCouplingBlock(inter, int(model_config["hidden_channels"]), gin)
        self.ref_enc = MelStyleEncoder(self.ref_bins, gin)
        # 25 Hz models: a k2 s2 conv halves the 50 Hz HuBERT frames before quantizing
        self.ssl_proj = nn.Conv1d(SSL_DIM, SSL_DIM, 2, stride=2)
        self.quantizer = ResidualVectorQuantizer(SSL_DIM, 1024)
        if self.is_pro:
            self.sv_emb = nn.Linear(SV_EMBEDDING_DIM, gin)
            self.ge_to512 = nn.Linear(gin, MRTE_DIM)
            self.prelu = nn.PReLU(gin)

    @torch.no_grad()
    def compute_ge(self, spec: torch.Tensor, sv_emb: torch.Tensor | None = None) -> torch.Tensor:
        """spec [1025, frames] (+ v2Pro: speaker-verification embedding [20480]) → ge [gin]."""
        ge = self.ref_enc(spec[None, : self.ref_bins])
        if self.is_pro:
            if sv_emb is None:
                raise ValueError(f"{self.version} needs a speaker-verification embedding (sv_emb)")
            ge = self.prelu(ge + self.sv_emb(sv_emb[None]).unsqueeze(-1))
        return ge[0, :, 0]

    def ge_for_mrte(self, ge: torch.Tensor) -> torch.Tensor:
        """MRTE adds a 512-d speaker vector: ge itself (gin 512), or ge_to512(ge) in v2Pro."""
        return self.ge_to512(ge) if self.is_pro else ge

    @staticmethod
    def frames_for(tokens: int, speed: float = 1.0) -> int:
        """50 Hz frames for ``tokens`` 25 Hz tokens at ``speed`` (upstream's rule)."""
        return 2 * tokens if speed == 1 else int(2 * tokens / speed) + 1

    def encode(self, codes, phones, ge):
        """The prior at 50 Hz: codes [B, T25], phones [B, N], ge [B, gin] → m, logs [B, 192, 2·T25]."""
        ssl = self.quantizer.decode(codes)
        ssl = F.interpolate(ssl, scale_factor=2, mode="nearest")  # 25 Hz tokens → 50 Hz frames
        return self.enc_p(ssl, phones, self.ge_for_mrte(ge)[:, :, None])

    def decode_latent(self, z_p, ge, frames=None):
        """Prior sample z_p [B, 192, F] → audio [B, 640·F]: the flow in reverse, then the generator.

        ``frames`` (a tensor holding a count ≤ F, or None): only the first ``frames`` frames are real, the rest
        pads a fixed-size window. Every conv then sees zeros past them, as it would past the end of a decode of
        just those frames, so their audio (the first 640·frames samples) is that decode's; the rest is not.
        """
        g = ge[:, :, None]
        masks = None
        if frames is not None:
            masks, scale = [], 1
            for rate in [1, *self.dec.rates]:
                scale *= rate
                positions = torch.arange(z_p.shape[-1] * scale, device=z_p.device)
                masks.append((positions < frames.reshape(()) * scale).to(z_p.dtype)[None, None])
        z = self.flow.reverse(z_p, g, None if masks is None else masks[0])
        return self.dec(z, g, masks)[:, 0], z

    @torch.no_grad()
    def decode(
        self,
        codes: torch.Tensor,
        phones: torch.Tensor,
        ge: torch.Tensor,
        noise_scale: float = 0.5,
        speed: float = 1.0,
        noise: torch.Tensor | None = None,
        return_parts: bool = False,
    ):
        """codes [T25], phones [N], ge [gin] → audio [640 · frames_for(T25, speed)]; speed 1.25 turns 80 frames
        into int(80/1.25)+1 = 65.

        ``noise`` (standard normal, shaped like m) replaces the random draw, for reproducible tests.
        """
        m, logs = self.encode(codes[None], phones[None], ge[None])
        frames = self.frames_for(len(codes), speed)
        if frames != m.shape[-1]:
            # Speed resamples the prior linearly in time. Upstream resamples before the final 1x1 projection;
            # a per-frame affine map commutes with linear interpolation, so resampling m and logs is the same.
            m = F.interpolate(m, size=frames, mode="linear")
            logs = F.interpolate(logs, size=frames, mode="linear")
        if noise is None:
            noise = torch.randn_like(m)
        audio, z = self.decode_latent(m + noise.reshape(m.shape) * torch.exp(logs) * noise_scale, ge[None])
        if return_parts:
            return audio[0], {"m": m[0], "logs": logs[0], "z": z[0]}
        return audio[0]

    @torch.no_grad()
    def extract_latent(self, ssl: torch.Tensor) -> torch.Tensor:
        """HuBERT features [768, T50] → semantic tokens [T50 // 2]."""
        return self.quantizer.encode(self.ssl_proj(ssl[None]))[0]
