"""Text → what the GPT reads: segments with phone ids (``gsv_edge.runtime.text``), and phone-level BERT features
for their Chinese runs (the pack's ``bert`` graph; zeros elsewhere, and everywhere when the pack has no BERT).

g2pW (Chinese polyphones, v2 packs converted with it) is read from the pack; its model loads at the first Chinese
sentence, not at start. So are the other languages' data files (English dictionaries and tagger, the Japanese user
dictionary: the manifest's ``text_data``), loaded at a language's first sentence; nothing of an installed data
package is read.
"""

from __future__ import annotations

import threading

import numpy as np

from gsv_edge.runtime.engine import Engine
from gsv_edge.runtime.text import Segment, phonemize
from gsv_edge.runtime.text.data import TextData
from gsv_edge.runtime.voice_features import BERT_DIM, BertTokenizer, phone_level_bert


class FrontEnd:
    """The text side of one pack."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.text_data = TextData.from_pack(engine.pack, engine.manifest.text_data)
        self._bert_tokenizer: BertTokenizer | None = None
        self._g2pw = None
        self._lock = threading.Lock()  # the lazily made readers, once each

    def segments(self, text: str, language: str) -> list[Segment]:
        """The text cut into segments with phone ids (cheap: no graph runs, except g2pW on Chinese text)."""
        manifest = self.engine.manifest
        return phonemize(text, language, manifest.symbols, g2pw=self._g2pw_reader(), data=self.text_data)

    def bert(self, segment: Segment) -> np.ndarray:
        """Phone-level BERT features [1024, n] of one segment (BERT runs on its Chinese runs)."""
        return np.concatenate([self._run_bert(run) for run in segment.runs], axis=1)

    def features(self, text: str, language: str) -> list[tuple[Segment, np.ndarray]]:
        """Each segment with its BERT features."""
        return [(segment, self.bert(segment)) for segment in self.segments(text, language)]

    def _run_bert(self, run) -> np.ndarray:
        if not run.bert or not self.engine.has_graph("bert"):
            return np.zeros((BERT_DIM, len(run.phone_ids)), np.float32)
        with self._lock:
            if self._bert_tokenizer is None:
                manifest = self.engine.manifest
                self._bert_tokenizer = BertTokenizer(self.engine.pack / manifest.tables["bert_tokenizer"])
        hidden = self.engine.run("bert", self._bert_tokenizer(run.norm_text))["hidden"][0]
        return phone_level_bert(hidden, run.word2ph)

    def _g2pw_reader(self):
        folder = self.engine.manifest.tables.get("g2pw")
        if folder is None or self.engine.manifest.symbols == "v1":  # upstream's v1 never uses g2pW
            return None
        with self._lock:
            if self._g2pw is None:
                from gsv_edge.runtime.text.zh_g2pw import G2PW

                self._g2pw = G2PW(self.engine.pack / folder)
        return self._g2pw
