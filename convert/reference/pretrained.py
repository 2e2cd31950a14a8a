"""The pretrained companions, loaded with transformers from their Hugging Face folders (workstation side only).

- chinese-hubert-base (HubertModel): reference audio → 768-d features at 50 Hz, the input of SoVITS'
  ssl_proj + quantizer, which gives the voice's prompt tokens.
- chinese-roberta-wwm-ext-large (BertForMaskedLM): zh text → per-phone features for the GPT.

Both folders are read with ``local_files_only``: nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gsv_edge.runtime.errors import GsvEdgeError

HUBERT_SAMPLE_RATE = 16000
# The voice prompt is the reference clip followed by 0.3 s at 32 kHz worth of zeros, i.e. 9600 samples = 0.6 s
# at 16 kHz (upstream pads with int(32000 * 0.3) samples while working at 16 kHz).
HUBERT_TRAILING_ZEROS = 9600
# GPT-SoVITS reads hidden_states[-3]: the output of layer 22 of 24 in the official model.
BERT_HIDDEN_STATE = -3


def _require_folder(folder: str | Path, what: str, needs: tuple[str, ...]) -> Path:
    folder = Path(folder)
    missing = [name for name in needs if not (folder / name).exists()]
    if not folder.is_dir() or missing:
        raise GsvEdgeError(
            f"{folder}: not a Hugging Face {what} folder (missing {', '.join(missing) or 'the folder'}); "
            f"pass the folder that holds config.json and the weights"
        )
    return folder


class HubertFeatures:
    """chinese-hubert-base as GPT-SoVITS uses it: the raw waveform goes in, last_hidden_state comes out."""

    def __init__(self, folder: str | Path):
        from transformers import HubertModel

        folder = _require_folder(folder, "HuBERT", ("config.json",))
        # fp16 on disk; transformers upcasts to fp32 when no dtype is given.
        self.model = HubertModel.from_pretrained(str(folder), local_files_only=True).float().eval()

    @torch.no_grad()
    def __call__(self, wav16k: np.ndarray, pad_prompt: bool = True) -> np.ndarray:
        """Features [768, T] for a mono 16 kHz clip. The feature extractor's normalisation is NOT applied:
        upstream feeds the raw waveform straight to the model."""
        audio = np.asarray(wav16k, dtype=np.float32)
        if pad_prompt:
            audio = np.concatenate([audio, np.zeros(HUBERT_TRAILING_ZEROS, dtype=np.float32)])
        hidden = self.model(torch.from_numpy(audio)[None])["last_hidden_state"]
        return hidden[0].transpose(0, 1).numpy()


class BertFeatures:
    """chinese-roberta-wwm-ext-large as GPT-SoVITS uses it: per-character features repeated per phone."""

    def __init__(self, folder: str | Path):
        from transformers import AutoTokenizer, BertForMaskedLM

        folder = _require_folder(folder, "BERT", ("config.json",))
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.model = BertForMaskedLM.from_pretrained(str(folder), local_files_only=True).float().eval()

    @torch.no_grad()
    def hidden(self, norm_text: str) -> np.ndarray:
        """hidden_states[-3] for [CLS] text [SEP]: [n_tokens + 2, 1024]."""
        inputs = self.tokenizer(norm_text, return_tensors="pt")
        out = self.model(**inputs, output_hidden_states=True)
        return out.hidden_states[BERT_HIDDEN_STATE][0].numpy()

    def __call__(self, norm_text: str, word2ph: list[int]) -> np.ndarray:
        """Features [1024, sum(word2ph)]: CLS/SEP dropped, row i repeated word2ph[i] times."""
        per_char = self.hidden(norm_text)[1:-1]
        if len(per_char) != len(word2ph):
            raise GsvEdgeError(
                f"BERT produced {len(per_char)} tokens for {len(word2ph)} characters of {norm_text!r}; "
                "zh BERT features need one token per character"
            )
        return np.repeat(per_char, word2ph, axis=0).T.copy()
