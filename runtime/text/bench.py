"""`gsv-edge bench-text`: how long one front-end call takes, per language mode, on random and ordinary text.

The property tests prove that every input ends in phones or a one-line error; this measures how long that takes,
so the time bound is a printed number, not a wall-clock assertion in a test. Inputs are seeded random strings
drawn like the property tests draw them (any code point, the characters each normaliser treats specially,
runs of one script) plus ordinary sentences, each at most ``max_chars`` long.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from .errors import TextError

# Characters each normaliser rewrites, and some words, per script: the awkward cases are where time goes.
_POOLS = {
    "zh": "0123456789０１２.-+/:~～%℃°年月日号点个元kmsx²×÷=,，。！？、；：…—《》()“”一不儿嗯￥^\n 你好我们是的小孩",
    "en": "abcxyzAIRE0123456789 .,;:!?-'\"’“”$£%°CFkmhLs/+×÷=()&@#…，。！？\n",
    "ja": "ーっッゃャ々〜・「」『』％%、。！？…ｶﾞｯｺｳﾟ０１２３ＡＢＣabc0123456789.-,:\n 　こんにちは東京",
}
_SENTENCES = {
    "zh": "今天的天气非常好，我们一起去公园散步，然后在湖边的咖啡馆喝一杯热茶。",
    "en": "The quick brown fox jumps over the lazy dog at 10:30 a.m., and it costs $3.50 on May 5th.",
    "ja": "今日はいい天気ですね。東京タワーまで2キロくらい歩きました！",
}
MODES = ("zh", "en", "ja", "auto")


def random_texts(mode: str, count: int, max_chars: int = 40, seed: int = 0) -> list[str]:
    """Seeded inputs for one mode: a quarter any code point, half the mode's special characters, a quarter
    ordinary sentences cut at random points."""
    rng = np.random.default_rng(seed)
    pool = "".join(_POOLS.values()) if mode == "auto" else _POOLS[mode]
    sentence = _SENTENCES.get(mode, "".join(_SENTENCES.values()))
    texts = []
    for i in range(count):
        length = int(rng.integers(0, max_chars + 1))
        kind = i % 4
        if kind == 0:
            codes = rng.integers(1, 0x2FFFF, length)
            texts.append("".join(chr(c) for c in codes if not 0xD800 <= c <= 0xDFFF))
        elif kind in (1, 2):
            texts.append("".join(pool[j] for j in rng.integers(0, len(pool), length)))
        else:
            start = int(rng.integers(0, len(sentence)))
            texts.append(sentence[start : start + length])
    return texts


def measure(mode: str, count: int = 2000, max_chars: int = 40, seed: int = 0) -> dict:
    """Time ``phonemize`` on each input once (after one warm-up call that loads the dictionaries)."""
    from . import phonemize

    texts = random_texts(mode, count, max_chars, seed)
    for warm_up in _SENTENCES.values():  # loads every dictionary and model the mode may reach (Latin → English)
        phonemize(warm_up, mode)
    times, errors = [], 0
    for text in texts:
        start = time.perf_counter()
        try:
            phonemize(text, mode)
        except TextError:
            errors += 1
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    return {
        "mode": mode,
        "calls": count,
        "median_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[min(len(times) - 1, int(0.99 * len(times)))], 3),
        "max_ms": round(times[-1], 3),
        "text_errors": errors,
    }
