"""Split mixed text into per-language runs, approximating upstream's LangSegmenter for the modes it offers.

Upstream runs split-lang (budoux + a fastText language-ID model that is downloaded at run time).
gsv-edge splits by script instead: a run of Latin letters (with the digits, spaces and marks after it)
is English, any other run is the mode's language. Marks and digits join the run before them (at the
start of the text, the first run). For ``zh``/``ja``/``all_zh``/``all_ja`` this reproduces upstream on
the conformance cases. In ``auto`` mode a non-Latin run is Japanese when it holds kana, Korean when it
holds Hangul, else Chinese; upstream asks the language-ID model there, so Han-only text that upstream
would call Japanese comes out Chinese.
"""

from __future__ import annotations

from .errors import TextError

MODES = ("auto", "zh", "all_zh", "ja", "all_ja", "en")


def _is_latin(ch: str) -> bool:
    return ("A" <= ch <= "Z") or ("a" <= ch <= "z")


def _is_neutral(ch: str) -> bool:
    """Characters upstream's ``full_en`` accepts besides letters: digits, spaces, ASCII and CJK marks."""
    o = ord(ch)
    return (
        ch.isdigit()
        or ch.isspace()
        or 0x20 <= o <= 0x7E
        or 0x2000 <= o <= 0x206F
        or 0x3000 <= o <= 0x303F
        or 0xFF00 <= o <= 0xFFEF
    )


def _script_runs(text: str) -> list[tuple[str, str]]:
    runs: list[list[str]] = []  # [kind, text], kind "L" (Latin) or "S" (other script)
    prefix = ""
    for ch in text:
        if _is_latin(ch):
            kind = "L"
        elif _is_neutral(ch):
            if runs:
                runs[-1][1] += ch
            else:
                prefix += ch
            continue
        else:
            kind = "S"
        if runs and runs[-1][0] == kind:
            runs[-1][1] += ch
        else:
            runs.append([kind, prefix + ch])
            prefix = ""
    if prefix:
        runs.append(["N", prefix])
    return [(kind, chunk) for kind, chunk in runs]


def _auto_language(chunk: str) -> str:
    for ch in chunk:
        o = ord(ch)
        if 0x3041 <= o <= 0x30FF and o not in (0x30FB,):
            return "ja"
    for ch in chunk:
        o = ord(ch)
        if 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F or 0xAC00 <= o <= 0xD7AF:
            return "ko"
    return "zh"


def split_languages(text: str, mode: str) -> list[tuple[str, str]]:
    """(language, text) runs of one segment for a UI language mode, adjacent runs of a language merged."""
    if mode not in MODES:
        raise TextError(f"unknown language mode {mode!r} (choose from {', '.join(MODES)})")
    if mode == "en":
        return [("en", text)]
    default = mode.replace("all_", "")
    out: list[list[str]] = []
    for kind, chunk in _script_runs(text):
        if kind == "L":
            lang = "en"
        elif mode == "auto":
            lang = _auto_language(chunk) if kind == "S" else "zh"
        else:
            lang = default
        if out and out[-1][0] == lang:
            out[-1][1] += chunk
        else:
            out.append([lang, chunk])
    return [(lang, chunk) for lang, chunk in out]
