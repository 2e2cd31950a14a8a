"""English number words, as inflect 7.6.0 (which upstream GPT-SoVITS uses) spells them.

Only what ``en_normalize`` asks of inflect is here, with inflect's default options unless named:

* ``number_to_words(n)`` for an int or a string of digits, which may end in ``st``/``nd``/``rd``/``th``
  (the suffix makes the last word an ordinal, right or not: ``"1th"`` -> ``first``);
  ``andword`` (``"and"``) joins hundreds to tens and a last group under 100 to the rest, and
  ``group=2`` with ``zero`` reads the digits in pairs (``1905`` -> ``nineteen, oh five``);
* ``ordinal(s)`` for a string of digits (``"23"`` -> ``"23rd"``) or number words (``"three"`` -> ``third``).

Errors are inflect's: a number of 10**36 or more has no name (NumOutOfRangeError; the group reading has
no limit), a digit string ``ordinal`` cannot read is a BadNumValueError, and a string or int past Python's
int-string limit (4300 digits by default) is int()'s or str()'s ValueError. Both error classes here are
ValueErrors that keep inflect's names, so a caller's message naming the error reads as before.

Output is checked against inflect itself in tests/test_text_en_numbers.py; inflect is not needed here.
"""

from __future__ import annotations

import re

__all__ = ["BadNumValueError", "NumOutOfRangeError", "number_to_words", "ordinal"]

_UNITS = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
# one name per power of a thousand; a number that needs the next one (10**36 and up) has no name
_SCALES = [
    "",
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
    "sextillion",
    "septillion",
    "octillion",
    "nonillion",
    "decillion",
]
# the ending of a last word that changes in its ordinal; any other word just takes "th"
_ORDINAL_ENDINGS = {
    "ty": "tieth",
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_DIGITS_WITH_SUFFIX = re.compile(r"([0-9]+)(st|nd|rd|th)?")


class NumOutOfRangeError(ValueError):
    """The number is too large to name (10**36 or more)."""


class BadNumValueError(ValueError):
    """``ordinal`` was given a string that starts with a digit but is not a number it can read."""


def _below_hundred(n: int) -> str:
    if n < 10:
        return _UNITS[n]
    if n < 20:
        return _TEENS[n - 10]
    tens, units = divmod(n, 10)
    return _TENS[tens] + ("-" + _UNITS[units] if units else "")


def _below_thousand(n: int, andword: str) -> str:
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _below_hundred(rest)
    words = [_UNITS[hundreds], "hundred"]
    if rest:
        words += [andword, _below_hundred(rest)] if andword else [_below_hundred(rest)]
    return " ".join(words)


def _in_thousands(n: int, andword: str) -> str:
    """``n`` >= 0 read in groups of three digits: ``one million, two thousand and five``."""
    if n == 0:
        return "zero"
    parts = []  # the named groups, lowest first
    lowest = n % 1000
    for scale in _SCALES:
        n, value = divmod(n, 1000)
        if value:
            parts.append(f"{_below_thousand(value, andword)} {scale}".rstrip())
        if not n:
            break
    else:
        raise NumOutOfRangeError(f"no name for numbers with more than {3 * len(_SCALES)} digits")
    parts.reverse()
    if len(parts) > 1 and 0 < lowest < 100:
        # a last group under a hundred joins the rest with the andword instead of a comma
        last = parts.pop()
        return ", ".join(parts) + (f" {andword} " if andword else " ") + last
    return ", ".join(parts)


def _in_pairs(digits: str, zero: str) -> str:
    """Digits read two at a time from the right: ``1905`` -> ``nineteen, oh five``."""
    head = len(digits) % 2
    pairs = [digits[:head]] * head + [digits[i : i + 2] for i in range(head, len(digits), 2)]
    words = []
    for pair in pairs:
        value = int(pair)
        if len(pair) == 1:  # a lone leading digit
            words.append(_UNITS[value] or zero)
        elif value >= 10:
            words.append(_below_hundred(value))
        else:
            words.append(f"{zero} {_UNITS[value] or zero}")
    return ", ".join(words)


def _ordinal_of_words(words: str) -> str:
    for ending, replacement in _ORDINAL_ENDINGS.items():
        if words.endswith(ending):
            return words[: -len(ending)] + replacement
    return words + "th"


def number_to_words(num: int | str, *, andword: str = "and", zero: str = "zero", group: int = 0) -> str:
    """``num`` in words, as inflect's ``number_to_words`` with these options (others at their defaults).

    ``num`` is an int or a string of ASCII digits, optionally ending in ``st``, ``nd``, ``rd`` or ``th``.
    ``group`` is 0 (read as a whole number) or 2 (read in pairs of digits; ``andword`` is unused then).
    """
    suffix = None
    if isinstance(num, int):
        digits = str(abs(num))  # ValueError past the int-string limit, as inflect's str(num)
        sign = "minus " if num < 0 else ""
    else:
        match = _DIGITS_WITH_SUFFIX.fullmatch(num)
        if match is None:
            raise ValueError(f"not a string of digits: {num!r}")
        digits, suffix = match.groups()
        sign = ""
    if group == 0:
        words = _in_thousands(int(digits), andword)  # int(): ValueError past the int-string limit
    elif group == 2:
        words = _in_pairs(digits, zero)
    else:
        raise ValueError(f"unsupported group {group}")
    return sign + (_ordinal_of_words(words) if suffix else words)


def ordinal(num: str) -> str:
    """inflect's ``ordinal`` of a string: digits take a suffix (``"12"`` -> ``"12th"``), words are changed
    (``"twenty-one"`` -> ``twenty-first``, ``"one hundred"`` -> ``one hundredth``)."""
    if not num[:1].isdecimal():
        return _ordinal_of_words(num)
    try:
        value = int(num)
    except ValueError:  # e.g. past the int-string limit
        raise BadNumValueError(f"cannot read {num[:20]!r}... as a number") from None
    if value % 100 in (11, 12, 13):
        return num + "th"
    return num + {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
