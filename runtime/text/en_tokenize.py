"""The English tokenizer upstream splits sentences with: nltk 3.10.4's ``TweetTokenizer()``, without nltk.

Upstream calls ``TweetTokenizer().tokenize`` with the default options (case kept, no length reduction, handles
kept, phone numbers matched). That is, in order:

1. HTML character references are replaced (``&amp;`` -> ``&``, ``&#65;`` and ``&x41;`` -> ``A``; ``&#128;``
   .. ``&#159;`` are read as cp1252 bytes; references that name no character are removed; case-sensitive);
2. a run of 4 or more of one character that is neither a letter nor a digit is cut to 3;
3. the tokens are the successive leftmost matches of one alternation (the ``regex`` module's engine,
   ``VERBOSE | IGNORECASE``), tried in this order: URLs, phone numbers, emoticons, HTML-like tags, arrows,
   @handles, #hashtags, e-mail addresses, emoji with modifiers or ZWJ sequences, flags, then words (with
   inner apostrophes or dashes), numbers (fractions, decimals, times), plain words, ellipses, and any other
   non-space character.

The pattern text below is equivalent to nltk's (same alternatives, same order, the same bounded repeats nltk
3.10.4 uses against catastrophic backtracking); tests/test_text_en.py checks the tokens against nltk's own
tokenizer over many strings. Matching runs under nltk's 5 second limit; an input that hits it is a
:class:`TextError` rather than nltk's ``TimeoutError``.
"""

from __future__ import annotations

import html.entities

import regex

from .errors import TextError

TIMEOUT_S = 5.0

# the "eyes nose mouth" faces, either way round, and <3 / </3
_EMOTICON = r"""
(?: [<>]? [:;=8] [\-o\*\']? [\)\]\(\[dDpP/\:\}\{@\|\\]
  | [\)\]\(\[dDpP/\:\}\{@\|\\] [\-o\*\']? [:;=8] [<>]?
  | </?3 )"""

# a parenthesised group one level deep, or a flat one (both bounded)
_PARENS = r"""(?: \([^\s()]{0,255}?\([^\s()]{1,255}\)[^\s()]{0,255}?\) | \([^\s]{1,255}?\) )"""

_URL = rf"""
(?:
  (?: https?: (?: /{{1,3}} | [a-z0-9%] )
    | [a-z0-9.\-]{{1,255}}[.] (?:[a-z]{{2,13}}) / )
  (?: [^\s()<>{{}}\[\]]+ | {_PARENS} )+
  (?: {_PARENS} | [^\s`!()\[\]{{}};:'".,<>?«»“”‘’] )
| (?: (?<!@) [a-z0-9]+ (?:[.\-][a-z0-9]+){{0,126}} [.] (?:[a-z]{{2,13}}) \b /? (?!@) )
)"""

_PHONE = r"""
(?: (?: \+?[01] [ *\-.\)]* )?
    (?: [\(]? \d{3} [ *\-.\)]* )?
    \d{3} [ *\-.\)]* \d{4} )"""

_FLAG = r"""
(?: [\U0001F1E6-\U0001F1FF]{2}
  | \U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006e\U000E0067\U000E007F
  | \U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F
  | \U0001F3F4\U000E0067\U000E0062\U000E0077\U000E006C\U000E0073\U000E007F )"""

_REST = r"""
  <[^>\s]+>
| [\-]+>|<[\-]+
| (?:@[\w_]+)
| (?:\#+[\w_]+[\w\'_\-]*[\w_]+)
| [\w.+-]{1,64}@[\w-]{1,63}\.(?:[\w-]\.?){1,251}[\w-]
| \S(?: [\U0001f3fb-\U0001f3ff]?(?:\u200d\S[\U0001f3fb-\U0001f3ff]?)+ | [\U0001f3fb-\U0001f3ff] )
"""

_WORDS = r"""
  (?:[^\W\d_](?:[^\W\d_]|['\-_])+[^\W\d_])
| (?:[+\-]?\d+[,/.:-]\d+[+\-]?)
| (?:[\w_]+)
| (?:\.(?:[^\S\r\n]*\.){1,})
| (?:\S)
"""

_TOKEN = regex.compile(
    "|".join((_URL, _PHONE, _EMOTICON, _REST, _FLAG, _WORDS)),
    regex.VERBOSE | regex.IGNORECASE | regex.UNICODE,
)
_REPEATS = regex.compile(r"([^\p{L}\p{N}])\1{3,}")
_CHAR_REF = regex.compile(r"&(#?)(x?)([^&;\s]+);")


def _char_ref(match: regex.Match) -> str:
    numeric, hexadecimal, body = match.groups()
    if not numeric and not hexadecimal:  # as nltk: "&x41;" counts as a (hexadecimal) number too
        code = html.entities.name2codepoint.get(body)
    else:
        try:
            code = int(body, 16 if hexadecimal else 10)
        except ValueError:
            return ""
        if 0x80 <= code <= 0x9F:
            try:
                return bytes((code,)).decode("cp1252")
            except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d: no cp1252 character
                return ""
    if code is None:
        return ""
    try:
        return chr(code)
    except (ValueError, OverflowError):
        return ""


def tokenize(text: str) -> list[str]:
    """``TweetTokenizer().tokenize(text)`` of nltk 3.10.4."""
    try:
        text = _CHAR_REF.sub(_char_ref, text, timeout=TIMEOUT_S)
        text = _REPEATS.sub(r"\1\1\1", text, timeout=TIMEOUT_S)
        return _TOKEN.findall(text, timeout=TIMEOUT_S)
    except TimeoutError:
        raise TextError(f"en: tokenizing took over {TIMEOUT_S:g} s (pathological input?)") from None
