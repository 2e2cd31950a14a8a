"""g2pW: Chinese polyphones read by a BERT classifier, as upstream GPT-SoVITS's g2pW-on path reads them.

Reproduces upstream ``text/g2pw/onnx_api.py`` (``_G2PWBaseOnnxConverter``), ``dataset.py`` (model inputs),
``utils.py`` (tokenize-and-map) and ``g2pw.py`` (``correct_pronunciation``) at RVC-Boss/GPT-SoVITS 48b1a01, with
numpy, onnxruntime, the ``tokenizers`` library and OpenCC instead of torch and transformers.

The model folder is the user's own: upstream's ``GPT_SoVITS/text/G2PWModel`` (``g2pW.onnx``, ``POLYPHONIC_CHARS.txt``,
``MONOPHONIC_CHARS.txt``, ``bopomofo_to_pinyin_wo_tune_dict.json``, ``config.py``) plus the BERT tokenizer
(``tokenizer.json`` of chinese-roberta-wwm-ext-large, the tokenizer upstream loads from its ``bert_path``). The
polyphonic word dictionary (upstream's ``text/g2pw/polyphonic.rep`` and ``polyphonic-fix.rep``) is optional: read
from the folder when there, or from the files given. ``config.py`` is parsed, never executed.

What upstream does, step by step, for the sentences of one text:

1. each sentence goes to Taiwan-standard traditional characters (OpenCC ``s2tw``; same length required);
2. characters of POLYPHONIC_CHARS.txt (less a fixed exclusion list) are asked of the model; characters of
   MONOPHONIC_CHARS.txt (less two) read their table entry; every other character takes pypinyin's reading of the
   sentence (turned back to simplified with upstream's character table; TONE3, neutral tone as 5);
3. the model sees the sentence cut to 16 characters either side of its first and last polyphone, lower-cased,
   tokenized one character (or one ASCII letter/digit run) at a time, ``[CLS] ... [SEP]``, cut to 512 tokens
   around the polyphone when longer; per polyphone: its character id, its token position and the mask of the
   labels that character may take;
4. the model returns probabilities over all labels (bopomofo with tone); the argmax's bopomofo becomes pinyin.
"""

from __future__ import annotations

import ast
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import TextError
from .zh_tables import T2S_FROM, T2S_TO

FOLDER_HINT = "upstream GPT-SoVITS's G2PWModel folder (GPT_SoVITS/text/G2PWModel)"
REQUIRED_FILES = ("POLYPHONIC_CHARS.txt", "MONOPHONIC_CHARS.txt", "bopomofo_to_pinyin_wo_tune_dict.json", "config.py")
# The model file, in order of preference: a pack holds the INT8 copy; upstream's folder has g2pW.onnx (or g2pw.onnx).
MODEL_FILES = ("g2pW.int8.onnx", "g2pW.onnx", "g2pw.onnx")
TOKENIZER_FILE = "tokenizer.json"
# Upstream reads polyphonic.rep, then polyphonic-fix.rep (later entries win).
DICTIONARY_FILES = ("polyphonic.rep", "polyphonic-fix.rep")

# onnx_api.py: characters never sent to the model, and MONOPHONIC_CHARS.txt entries that are ignored.
NOT_POLYPHONIC = frozenset("一不和咋嗲剖差攢倒難奔勁拗肖瘙誒泊听噢")
NOT_MONOPHONIC = frozenset("似攢")
# onnx_api.py: the model sees 16 characters either side of a sentence's polyphones (g2pw_polyphonic_context_chars).
CONTEXT_CHARS = 16
# dataset.py: at most 512 tokens, [CLS] and [SEP] included.
MAX_TOKENS = 512
# utils.py default_config_dict: the two settings inference reads when config.py does not set them.
CONFIG_DEFAULTS = {"use_mask": True, "use_char_phoneme": False}
# utils.py wordize_and_map: spaces map to no token, ASCII letter/digit runs are one word, anything else one character.
_WORDS = re.compile(r" +|[a-zA-Z0-9]+|.", re.S)
_T2S = str.maketrans(T2S_FROM, T2S_TO)  # upstream's zh_normalization char_convert table (traditional -> simplified)
_QUOTED_LIST = re.compile(r"\[\s*(?:'[^'\\]*'\s*,\s*)*(?:'[^'\\]*'\s*)?\]")


def find_model_file(folder: Path) -> Path | None:
    """The g2pW ONNX file of a folder (INT8 copy first), or None."""
    for name in MODEL_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def read_config(path: Path) -> dict[str, bool]:
    """use_mask and use_char_phoneme from g2pW's config.py: literal assignments only, the file is never run."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError) as err:
        raise TextError(f"g2pW: {path} is not readable Python ({err}); copy config.py from {FOLDER_HINT}") from None
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue  # an expression (e.g. root + 'train.sent'): training settings inference never reads
    return {key: bool(values.get(key, default)) for key, default in CONFIG_DEFAULTS.items()}


def read_char_table(path: Path) -> list[tuple[str, str]]:
    """POLYPHONIC_CHARS.txt / MONOPHONIC_CHARS.txt: one ``char<TAB>bopomofo+tone`` per line."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").strip().split("\n"), 1):
        fields = line.split("\t")
        if len(fields) != 2 or len(fields[0]) != 1 or not fields[1]:
            raise TextError(f"g2pW: {path.name} line {number} is not 'character<TAB>bopomofo'; copy it again from "
                            f"{FOLDER_HINT}")  # fmt: skip
        rows.append((fields[0], fields[1]))
    return rows


def read_dictionary(paths: list[Path]) -> dict[str, list[str]]:
    """Upstream's polyphonic word dictionaries (``word: ['pin1', 'yin1']`` per line), later files winning. Values
    are parsed as literals, never evaluated; entries whose reading count differs from the word's length are
    dropped (upstream would misalign the whole sentence)."""
    words: dict[str, list[str]] = {}
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            key, colon, value = line.partition(":")
            key, value = key.strip(), value.strip()
            readings = None
            if colon and _QUOTED_LIST.fullmatch(value):
                readings = re.findall(r"'([^']*)'", value)  # the common form, 20x faster than a literal parse
            elif colon:
                try:
                    parsed = ast.literal_eval(value)
                except (ValueError, SyntaxError):
                    parsed = None
                if isinstance(parsed, list) and all(isinstance(r, str) for r in parsed):
                    readings = parsed
            if readings is None:
                raise TextError(f"g2pW: {path} line {number} is not 'word: [\"pin1\", ...]'; fix or drop the file")
            if len(readings) == len(key):
                words[key] = readings
    return words


def _bopomofo_to_pinyin(bopomofo: str, table: dict[str, str]) -> str | None:
    """onnx_api.py: bopomofo without its tone digit looked up, the tone digit appended (TONE3 pinyin); None if
    unknown."""
    tone, body = bopomofo[-1:], bopomofo[:-1]
    syllable = table.get(body)
    return syllable + tone if syllable and tone in "12345" else None


@dataclass
class _Encoded:
    """A model text tokenized as upstream's utils.tokenize_and_map makes it."""

    ids: list[int]
    """Token ids, without [CLS]/[SEP]."""
    text2token: list[int | None]
    """Character index -> token index."""
    token2text: list[tuple[int, int]]
    """Token index -> character span."""


class _Loaded:
    """Everything read from the folder: tables, tokenizer, OpenCC, dictionary and the ONNX session."""

    def __init__(self, reader: G2PW):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        try:
            from opencc import OpenCC
        except ImportError:
            raise TextError(
                "g2pW needs the opencc package: pip install 'gsv-edge[g2pw]' (or: pip install opencc)"
            ) from None
        folder = reader.folder
        config = read_config(folder / "config.py")
        self.use_mask, self.use_char_phoneme = config["use_mask"], config["use_char_phoneme"]
        polyphonic = read_char_table(folder / "POLYPHONIC_CHARS.txt")
        # dataset.py get_phoneme_labels / get_char_phoneme_labels: sorted distinct labels; per character, the
        # indices of its labels in file order.
        keys = [f"{c} {p}" if self.use_char_phoneme else p for c, p in polyphonic]
        self.labels = sorted(set(keys))
        index = {label: i for i, label in enumerate(self.labels)}
        self.char_labels: dict[str, list[int]] = {}
        for (char, _), key in zip(polyphonic, keys, strict=True):
            self.char_labels.setdefault(char, []).append(index[key])
        chars = sorted(self.char_labels)
        self.char_ids = {char: i for i, char in enumerate(chars)}
        self.asked = set(chars) - NOT_POLYPHONIC
        try:
            self.bopomofo = json.loads((folder / "bopomofo_to_pinyin_wo_tune_dict.json").read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise TextError(f"g2pW: bopomofo_to_pinyin_wo_tune_dict.json is not JSON ({err}); copy it again from "
                            f"{FOLDER_HINT}") from None  # fmt: skip
        self.monophonic = {
            char: _bopomofo_to_pinyin(bopomofo, self.bopomofo)
            for char, bopomofo in read_char_table(folder / "MONOPHONIC_CHARS.txt")
            if char not in NOT_MONOPHONIC
        }
        self.words = read_dictionary(reader.dictionaries)
        self.tokenizer = Tokenizer.from_file(str(reader.tokenizer))
        self.special = {}
        for token in ("[CLS]", "[SEP]", "[UNK]"):
            token_id = self.tokenizer.token_to_id(token)
            if token_id is None:
                raise TextError(f"g2pW: {reader.tokenizer} has no {token} token; use chinese-roberta's tokenizer.json")
            self.special[token] = token_id
        self.opencc = OpenCC("s2tw")
        options = ort.SessionOptions()
        if reader.threads > 0:
            options.intra_op_num_threads = reader.threads
        options.enable_cpu_mem_arena = False  # as runtime/backends: the arena keeps the largest buffers ever used
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(reader.model), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own error types
            raise TextError(f"g2pW: cannot load {reader.model} ({str(err).splitlines()[0][:120]}); copy g2pW.onnx "
                            f"again from {FOLDER_HINT}") from None  # fmt: skip
        self.cache: dict[str, _Encoded] = {}

    def encode(self, text: str) -> _Encoded:
        """utils.tokenize_and_map: each word tokenized alone; an empty or all-unknown word is one [UNK]."""
        if text in self.cache:
            return self.cache[text]
        ids: list[int] = []
        text2token: list[int | None] = []
        token2text: list[tuple[int, int]] = []
        for match in _WORDS.finditer(text):
            word, start = match.group(), match.start()
            if word[0] == " ":
                text2token += [None] * len(word)
                continue
            text2token += [len(token2text)] * len(word)  # upstream starts from the word index, then overwrites
            encoding = self.tokenizer.encode(word, add_special_tokens=False)
            if not encoding.tokens or encoding.tokens == ["[UNK]"]:
                ids.append(self.special["[UNK]"])
                token2text.append((start, match.end()))
                continue
            for token, token_id in zip(encoding.tokens, encoding.ids, strict=True):
                length = len(token[2:] if token.startswith("##") else token)
                ids.append(token_id)
                token2text.append((start, start + length))
                start += length
        for token, (start, end) in enumerate(token2text):
            for position in range(start, min(end, len(text2token))):
                text2token[position] = token
        encoded = _Encoded(ids, text2token, token2text)
        if len(self.cache) > 256:
            self.cache.clear()
        self.cache[text] = encoded
        return encoded


def _truncate(encoded: _Encoded, text: str, query: int) -> tuple[str, int, list[int], list[int | None]]:
    """dataset.py _truncate: a window of MAX_TOKENS - 2 tokens centred on the query's token, kept inside the text."""
    keep = MAX_TOKENS - 2
    first = encoded.text2token[query] - keep // 2
    first = max(0, min(first, len(encoded.ids) - keep))
    start, end = encoded.token2text[first][0], encoded.token2text[first + keep - 1][1]
    text2token = [t - first if t is not None else None for t in encoded.text2token[start:end]]
    return text[start:end], query - start, encoded.ids[first : first + keep], text2token


class G2PW:
    """Upstream's g2pW reader of Chinese polyphones, on a G2PWModel folder.

    Creating one only checks the files; the model, tables and dictionary load on first use (thread-safe), so a
    pack that never speaks Chinese never pays for them.
    """

    def __init__(
        self,
        folder: str | Path,
        tokenizer: str | Path | None = None,
        dictionaries: list[str | Path] | None = None,
        threads: int = 0,
    ):
        """``tokenizer``: chinese-roberta's tokenizer.json (or its folder); default FOLDER/tokenizer.json.
        ``dictionaries``: polyphonic word dictionaries in order; default the folder's polyphonic.rep and
        polyphonic-fix.rep, those that exist. ``threads``: ONNX Runtime intra-op threads (0: its default)."""
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise TextError(f"g2pW: {self.folder} is not a folder; pass {FOLDER_HINT}")
        for name in REQUIRED_FILES:
            if not (self.folder / name).is_file():
                raise TextError(f"g2pW: {self.folder} has no {name}; pass {FOLDER_HINT}")
        model = find_model_file(self.folder)
        if model is None:
            raise TextError(f"g2pW: {self.folder} has no g2pW.onnx; pass {FOLDER_HINT}")
        self.model = model
        """The ONNX file that runs."""
        self.tokenizer = _tokenizer_file(self.folder, tokenizer)
        """The BERT tokenizer.json the model's inputs are made with."""
        if dictionaries is None:
            self.dictionaries = [self.folder / n for n in DICTIONARY_FILES if (self.folder / n).is_file()]
        else:
            self.dictionaries = [Path(p) for p in dictionaries]
            for path in self.dictionaries:
                if not path.is_file():
                    raise TextError(f"g2pW: polyphonic dictionary {path} not found; pass upstream's "
                                    "GPT_SoVITS/text/g2pw/polyphonic.rep or polyphonic-fix.rep")  # fmt: skip
        """Polyphonic word dictionaries, in the order they are read (later entries win)."""
        self.threads = threads
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def _state(self) -> _Loaded:
        with self._lock:
            if self._loaded is None:
                self._loaded = _Loaded(self)
            return self._loaded

    # --- upstream's _G2PWBaseOnnxConverter.__call__ ---------------------------------------------------------------

    def readings(self, sentences: list[str]) -> list[list[str | None]]:
        """TONE3 pinyin (neutral tone 5) per character of each sentence; punctuation stays itself. None where the
        model's answer has no pinyin. Sentences are Hanzi and punctuation, as the zh front end makes them."""
        state = self._state()
        traditional = [self._to_traditional(state, s) for s in sentences]
        results: list[list[str | None]] = []
        texts: list[str] = []
        queries: list[tuple[int, int, int]] = []  # (sentence, character in the sentence, character in its text)
        for number, sentence in enumerate(traditional):
            simplified = sentence.translate(_T2S)  # pypinyin reads simplified text better (upstream's comment)
            fallback = _pypinyin_readings(simplified)
            polyphones = [i for i, char in enumerate(sentence) if char in state.asked]
            results.append([state.monophonic[c] if c in state.monophonic else fallback[i] for i, c in
                            enumerate(sentence)])  # fmt: skip
            for i in polyphones:
                results[number][i] = None
            if polyphones:
                left = max(0, polyphones[0] - CONTEXT_CHARS)
                right = min(len(sentence), polyphones[-1] + CONTEXT_CHARS + 1)
                for i in polyphones:
                    texts.append(sentence[left:right])
                    queries.append((number, i, i - left))
        if texts:
            labels = self._predict(state, texts, [query for *_, query in queries])
            for (number, i, _), label in zip(queries, labels, strict=True):
                if state.use_char_phoneme:
                    label = label.split(" ")[1]
                results[number][i] = _bopomofo_to_pinyin(label, state.bopomofo)
        return results

    def predictions(self, sentences: list[str]) -> list[str | None]:
        """Only the model's readings (the sentences' polyphones, in order): what the convert check compares."""
        state = self._state()
        readings = self.readings(sentences)
        return [
            reading
            for sentence, row in zip(sentences, readings, strict=True)
            for char, reading in zip(self._to_traditional(state, sentence), row, strict=True)
            if char in state.asked
        ]

    def correct(self, word: str, pinyins: list[str | None]) -> list[str | None]:
        """g2pw.py correct_pronunciation: the dictionary's reading of the whole word, else of each character."""
        words = self._state().words
        if word in words:
            return list(words[word])
        corrected = list(pinyins)
        for i, char in enumerate(word[: len(corrected)]):
            if char in words:
                corrected[i] = words[char][0]
        return corrected

    @property
    def has_dictionary(self) -> bool:
        """Whether a polyphonic word dictionary is in use."""
        return bool(self.dictionaries)

    @staticmethod
    def _to_traditional(state: _Loaded, sentence: str) -> str:
        converted = state.opencc.convert(sentence)
        if len(converted) != len(sentence):  # upstream asserts this
            raise TextError(f"g2pW: OpenCC changed the length of {sentence!r}; rephrase it")
        return converted

    # --- dataset.py prepare_onnx_input and onnx_api.py prediction -------------------------------------------------

    def _predict(self, state: _Loaded, texts: list[str], queries: list[int]) -> list[str]:
        rows = [self._model_row(state, text, query) for text, query in zip(texts, queries, strict=True)]
        width = max(len(ids) for ids, *_ in rows)
        ids = np.zeros((len(rows), width), np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for n, (row_ids, *_) in enumerate(rows):
            ids[n, : len(row_ids)] = row_ids
            mask[n, : len(row_ids)] = 1
        feed = {
            "input_ids": ids,
            "token_type_ids": np.zeros_like(ids),
            "attention_mask": mask,
            "phoneme_mask": np.stack([r[1] for r in rows]),
            "char_ids": np.asarray([r[2] for r in rows], np.int64),
            "position_ids": np.asarray([r[3] for r in rows], np.int64),
        }
        # onnx_api.py _predict_with_sentence_dedup: queries of the same text run together with that text's tokens
        # given once; when every text is different, all run as one padded batch. Same feeds, same answers.
        # Upstream groups by text; a text over 510 tokens gets a different window per query, and upstream then
        # gives every query the first one's window (a bug). Grouping by the token rows is the same for every
        # shorter text and keeps each long-text query in its own window.
        groups: dict[tuple[int, ...], list[int]] = {}
        for n, (row_ids, *_) in enumerate(rows):
            groups.setdefault(tuple(row_ids), []).append(n)
        if len(texts) <= 1 or all(len(g) == 1 for g in groups.values()):
            return self._run(state, feed)
        labels: list[str] = [""] * len(texts)
        for members in groups.values():
            part = {name: value[members] for name, value in feed.items()}
            if len(members) > 1:
                for name in ("input_ids", "token_type_ids", "attention_mask"):
                    part[name] = part[name][:1]
            for n, label in zip(members, self._run(state, part), strict=True):
                labels[n] = label
        return labels

    @staticmethod
    def _run(state: _Loaded, feed: dict[str, np.ndarray]) -> list[str]:
        wanted = {i.name for i in state.session.get_inputs()}  # in case an export dropped an unused input
        probs = state.session.run(None, {name: value for name, value in feed.items() if name in wanted})[0]
        return [state.labels[i] for i in np.argmax(probs, axis=1)]

    @staticmethod
    def _model_row(state: _Loaded, text: str, query: int) -> tuple[list[int], np.ndarray, int, int]:
        """One query's inputs: token ids with [CLS]/[SEP], the label mask, the character id, the token position."""
        text = text.lower()
        encoded = state.encode(text)
        ids, text2token = encoded.ids, encoded.text2token
        if len(ids) > MAX_TOKENS - 2:
            text, query, ids, text2token = _truncate(encoded, text, query)
        char = text[query]
        mask = np.ones(len(state.labels), np.float32)
        if state.use_mask:  # only the labels this character may take
            mask[:] = 0.0
            mask[state.char_labels[char]] = 1.0
        full = [state.special["[CLS]"], *ids, state.special["[SEP]"]]
        return full, mask, state.char_ids[char], text2token[query] + 1  # +1: [CLS] comes first


def _pypinyin_readings(sentence: str) -> list[str]:
    """pypinyin's reading of each character of a sentence (phrases considered), TONE3 with neutral tone 5.

    pypinyin gives one item per Hanzi and one per run of other characters; the zh front end's sentences hold at
    most one punctuation mark, at the end, so items and characters line up (checked).
    """
    from pypinyin import Style, pinyin

    items = [item[0] for item in pinyin(sentence, neutral_tone_with_five=True, style=Style.TONE3)]
    if len(items) != len(sentence):
        raise TextError(f"zh: cannot line up pypinyin's readings with {sentence!r}")
    return items


def _tokenizer_file(folder: Path, given: str | Path | None) -> Path:
    if given is None:
        path = folder / TOKENIZER_FILE
        if not path.is_file():
            raise TextError(f"g2pW: {folder} has no {TOKENIZER_FILE}; pass chinese-roberta-wwm-ext-large's "
                            "tokenizer.json (--bert-tokenizer) or copy it into the folder")  # fmt: skip
        return path
    path = Path(given)
    if path.is_dir():
        path = path / TOKENIZER_FILE
    if not path.is_file():
        raise TextError(f"g2pW: tokenizer {path} not found; pass chinese-roberta-wwm-ext-large's tokenizer.json")
    return path
