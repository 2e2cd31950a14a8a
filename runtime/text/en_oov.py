"""g2p_en's neural reading of out-of-vocabulary words, in numpy.

The model is g2p_en 2.1.0's ``checkpoint20.npz``: a one-layer GRU encoder over the letters (29 graphemes,
256-d embeddings and state, float32) and a GRU decoder over 74 phoneme symbols, decoded greedily for at
most 20 steps. The arithmetic follows g2p_en's own numpy code step by step (float32, same operation order), so the
argmax at every step is the one upstream takes.
"""

from __future__ import annotations

import numpy as np

GRAPHEMES = ("<pad>", "<unk>", "</s>", *"abcdefghijklmnopqrstuvwxyz")
PHONEMES = (
    "<pad> <unk> <s> </s> AA0 AA1 AA2 AE0 AE1 AE2 AH0 AH1 AH2 AO0 AO1 AO2 AW0 AW1 AW2 AY0 AY1 AY2 B CH D DH "
    "EH0 EH1 EH2 ER0 ER1 ER2 EY0 EY1 EY2 F G HH IH0 IH1 IH2 IY0 IY1 IY2 JH K L M N NG OW0 OW1 OW2 OY0 OY1 OY2 "
    "P R S SH T TH UH0 UH1 UH2 UW UW0 UW1 UW2 V W Y Z ZH"
).split()
_START, _END = 2, 3  # <s> and </s> in PHONEMES
_MAX_STEPS = 20
_LETTER_IDS = {g: i for i, g in enumerate(GRAPHEMES)}


class OovModel:
    """Greedy encoder-decoder GRU: a lower-case word -> ARPAbet phones (may contain ``<unk>``)."""

    def __init__(self, npz_path) -> None:
        with np.load(npz_path) as weights:
            self.w = {name: weights[name] for name in weights.files}
        if self.w["enc_emb"].shape[0] != len(GRAPHEMES) or self.w["fc_b"].shape[0] != len(PHONEMES):
            raise ValueError("checkpoint20.npz does not have g2p_en 2.1.0's shapes")

    @staticmethod
    def _cell(x, h, w_ih, w_hh, b_ih, b_hh):
        """PyTorch-layout GRU cell: gates r, z, n stacked along the 3*256 axis."""
        gi = np.matmul(x, w_ih.T) + b_ih
        gh = np.matmul(h, w_hh.T) + b_hh
        cut = gi.shape[-1] * 2 // 3
        rz = 1 / (1 + np.exp(-(gi[:, :cut] + gh[:, :cut])))
        r, z = np.split(rz, 2, -1)
        n = np.tanh(gi[:, cut:] + r * gh[:, cut:])
        return (1 - z) * n + z * h

    def predict(self, word: str) -> list[str]:
        w = self.w
        ids = [_LETTER_IDS.get(ch, 1) for ch in word] + [_LETTER_IDS["</s>"]]
        x = np.take(w["enc_emb"], np.expand_dims(ids, 0), axis=0)  # (1, len+1, 64)
        h = np.zeros((1, w["enc_w_hh"].shape[-1]), np.float32)
        for t in range(len(ids)):
            h = self._cell(x[:, t, :], h, w["enc_w_ih"], w["enc_w_hh"], w["enc_b_ih"], w["enc_b_hh"])
        dec = np.take(w["dec_emb"], [_START], axis=0)
        out: list[str] = []
        for _ in range(_MAX_STEPS):
            h = self._cell(dec, h, w["dec_w_ih"], w["dec_w_hh"], w["dec_b_ih"], w["dec_b_hh"])
            best = int((np.matmul(h, w["fc_w"].T) + w["fc_b"]).argmax())
            if best == _END:
                break
            out.append(PHONEMES[best])
            dec = np.take(w["dec_emb"], [best], axis=0)
        return out
