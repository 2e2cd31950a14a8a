"""Host-side feature code for voice enrollment and Chinese BERT features (numpy, no torch).

- ``linear_spectrogram``: what SoVITS' reference encoder reads (32 kHz audio, n_fft 2048, hop 640).
- ``prompt_audio``: the 16 kHz clip as HuBERT gets it, with the 0.6 s of trailing zeros GPT-SoVITS adds.
- ``BertTokenizer`` / ``phone_level_bert``: chinese-roberta's tokenizer via the ``tokenizers`` library (no
  transformers), and the expansion of per-character features to one column per phone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gsv_edge.runtime.errors import GsvEdgeError

N_FFT = 2048
HOP = 640
# GPT-SoVITS appends int(32000 * 0.3) = 9600 zero samples (0.6 s at 16 kHz) to the prompt clip.
PROMPT_TRAILING_ZEROS = 9600
BERT_DIM = 1024


def linear_spectrogram(audio32k: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """audio [samples] → magnitude [n_fft/2+1, frames]: reflect padding of (n_fft-hop)/2 on each side, periodic
    Hann window, no centring, sqrt(re² + im² + 1e-8)."""
    audio = np.asarray(audio32k, dtype=np.float32)
    pad = (n_fft - hop) // 2
    if len(audio) <= pad:
        raise GsvEdgeError(f"reference audio is too short ({len(audio)} samples at 32 kHz); use a 3-10 s clip")
    padded = np.pad(audio, (pad, pad), mode="reflect")
    frames = 1 + (len(padded) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)  # periodic Hann
    spectrum = np.fft.rfft(padded[index] * window, axis=1)
    return np.sqrt(spectrum.real**2 + spectrum.imag**2 + 1e-8).astype(np.float32).T


def prompt_audio(audio16k: np.ndarray) -> np.ndarray:
    """The HuBERT input: the clip followed by 0.6 s of zeros, as [1, samples] float32."""
    audio = np.asarray(audio16k, dtype=np.float32)
    return np.concatenate([audio, np.zeros(PROMPT_TRAILING_ZEROS, np.float32)])[None]


class BertTokenizer:
    """chinese-roberta's WordPiece tokenizer from its tokenizer.json, through the `tokenizers` library."""

    def __init__(self, tokenizer_json: str | Path):
        from tokenizers import Tokenizer

        path = Path(tokenizer_json)
        if not path.is_file():
            raise GsvEdgeError(
                f"{path} not found; convert the model again with its BERT folder to include the tokenizer",
                option="bert",
            )
        self._tokenizer = Tokenizer.from_file(str(path))

    def __call__(self, norm_text: str) -> dict[str, np.ndarray]:
        """[CLS] text [SEP] as the graph's three [1, T] int64 inputs."""
        encoding = self._tokenizer.encode(norm_text)
        ids = np.asarray(encoding.ids, dtype=np.int64)[None]
        return {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.asarray(encoding.type_ids, dtype=np.int64)[None],
        }


def phone_level_bert(hidden: np.ndarray, word2ph: list[int]) -> np.ndarray:
    """hidden [T + 2, 1024] (with CLS/SEP) → [1024, sum(word2ph)]: character i's row repeated word2ph[i] times."""
    per_char = hidden[1:-1]
    if len(per_char) != len(word2ph):
        raise GsvEdgeError(
            f"BERT produced {len(per_char)} tokens for {len(word2ph)} characters; zh BERT features need one token "
            "per character of the normalised text"
        )
    return np.repeat(per_char, word2ph, axis=0).T.astype(np.float32)
