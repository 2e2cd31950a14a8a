"""English text normalisation, as upstream ``english.text_normalize`` with ``en_normalization/expend.py``.

Numbers, money, times, units and fractions are spelled out as upstream's inflect 7.6.0 does (by
``en_numbers``), accents are stripped, everything outside ``[ A-Za-z'.,?!-]`` is deleted and capitals
after a letter are split off (``ChatGPT`` -> ``Chat G P T``). The rules run in upstream's order, and its
quirks are kept on purpose:

* the mark map's keys are ``re.escape``-d, so ``[;:：，；]`` and ``["’]`` only ever match those literal
  strings; ``，``, ``；`` and curly quotes are deleted later instead of mapped;
* a number followed by ``". "`` becomes an ordinal with a comma (``in 2023. It`` -> ``twenty-third, It``);
* a minus sign after spaces swallows them (``is -5`` -> ``isnegative five``);
* ``km/h`` never matches as a unit (``km`` is tried first), and a unit needs no space before it.
"""

from __future__ import annotations

import re
import unicodedata

from .en_numbers import number_to_words, ordinal
from .errors import TextError

# upstream rep_map, matched through re.escape: the two bracket keys are literal strings, not classes
_MARKS = {"[;:：，；]": ",", '["’]': "'", "。": ".", "！": "!", "？": "?"}
_MARKS_RE = re.compile("|".join(re.escape(key) for key in _MARKS))

# upstream text/symbols.py punctuation (with "-"); the class also holds \s
_PUNCT = "".join(re.escape(p) for p in ["!", "?", "…", ",", ".", "-"])
_REPEATED_PUNCT = re.compile(rf"([{_PUNCT}\s])([{_PUNCT}])+")

_UNITS = {
    "m": ("meter", "meters"),
    "km": ("kilometer", "kilometers"),
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "ft": ("feet", "feet"),
    "L": ("liter", "liters"),
    "tbsp": ("tablespoon", "tablespoons"),
    "tsp": ("teaspoon", "teaspoons"),
    "h": ("hour", "hours"),
    "min": ("minute", "minutes"),
    "s": ("second", "seconds"),
    "°C": ("degree celsius", "degrees celsius"),
    "°F": ("degree fahrenheit", "degrees fahrenheit"),
}

_ORDINAL_BEFORE_STOP = re.compile(r"\b([0-9]+)\. ")
_SUPERSCRIPTS = "[⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ]*"
_OPERAND = rf"((-?)((\d+)(\.\d+)?{_SUPERSCRIPTS})|(\.\d+{_SUPERSCRIPTS})|([A-Za-z]{_SUPERSCRIPTS}))"
_ARITHMETIC = re.compile(_OPERAND + r"\s+([\+\-\×÷=])\s+" + _OPERAND)  # groups 1, 8 (operator), 9
_SPACED_OPERATOR = re.compile(r"\s[\+\-\×÷=]\s")
_OPERATORS = {"+": " plus ", "-": " minus ", "×": " times ", "÷": " divided by ", "=": " Equals "}
_NEGATIVE = re.compile(r"(?:^|\s+)(-)(\d+)")
_THOUSANDS = re.compile(r"([0-9][0-9\,]+[0-9])")
_CLOCK = re.compile(r"\b([01]?[0-9]|2[0-3]):([0-5][0-9])\b")
_MEASURE = re.compile(r"\b([0-9]+(\.[0-9]+)?(m|km|km/h|ft|L|tbsp|tsp|h|min|s|°C|°F))\b")
_POUNDS_BEFORE = re.compile(r"£([0-9\.\,]*[0-9]+)")
# upstream's r"([0-9\.\,]*[0-9]+)£" takes cubic time on a long digit run; this form matches exactly the
# same text (the whole run of those characters before the sign, ending in a digit) in linear time
_POUNDS_AFTER = re.compile(r"(?<![0-9.,])((?>[0-9.,]*)(?<=[0-9]))£")
_DOLLARS_BEFORE = re.compile(r"\$([0-9\.\,]*[0-9]+)")
_DOLLARS_AFTER = re.compile(r"(?<![(0-9.,])((?>[(0-9.,]*)(?<=[0-9]))\$")  # sic: "(" in the class, as upstream
_DECIMAL = re.compile(r"([0-9]+\.\s*[0-9]+)")
_FRACTION = re.compile(r"([0-9]+/[0-9]+)")
_ORDINAL = re.compile(r"[0-9]+(st|nd|rd|th)")
_NUMBER = re.compile(r"[0-9]+")
_NOT_KEPT = re.compile(r"[^ A-Za-z'.,?!\-]")
_INNER_CAPITAL = re.compile(r"(?<!^)(?<![\s])([A-Z])")


def _ordinal_with_comma(m: re.Match) -> str:
    return ordinal(m.group(1)) + ", "


def _arithmetic(m: re.Match) -> str:
    return m.group(1) + _OPERATORS[m.group(8)] + m.group(9)


def _negative(m: re.Match) -> str:
    return f"negative {m.group(2)}"  # the match began with the spaces before "-": they are gone


def _clock(m: re.Match) -> str:
    hours, minutes = int(m.group(1)), int(m.group(2))
    period = "a.m." if hours < 12 else "p.m."
    if hours > 12:
        hours -= 12
    hour_words = number_to_words(hours)
    if minutes == 0:
        return f"{hour_words} o'clock {period}"
    return f"{hour_words} {number_to_words(minutes)} {period}"


def _measure(m: re.Match) -> str:
    unit = m.group(3)
    # upstream drops every "." before int(), so "1.0km" is plural and only a bare "1" is singular
    singular = m.group(2) is None and int(m.group(1).replace(unit, "").replace(".", "")) == 1
    return m.group(1).replace(unit, " " + _UNITS[unit][0 if singular else 1])


def _currency(amount: str, major: tuple[str, str], minor: tuple[str, str]) -> str:
    """Upstream's _expand_dollars/_expand_pounds; the digits stay digits for the number rules below."""
    parts = amount.split(".")
    if len(parts) > 2:
        return f"{amount} {major[1]}"
    whole = int(parts[0]) if parts[0] else 0
    cents = int(parts[1].ljust(2, "0")) if len(parts) > 1 and parts[1] else 0
    major_word = major[0] if whole == 1 else major[1]
    minor_word = minor[0] if cents == 1 else minor[1]
    if whole and cents:
        return f"{whole} {major_word} and {cents} {minor_word}"
    if whole:
        return f"{whole} {major_word}"
    if cents:
        return f"{cents} {minor_word}"
    return f"zero {major[1]}"


def _pounds(m: re.Match) -> str:
    return _currency(m.group(1), ("pound", "pounds"), ("penny", "pence"))


def _dollars(m: re.Match) -> str:
    return _currency(m.group(1), ("dollar", "dollars"), ("cent", "cents"))


def _decimal(m: re.Match) -> str:
    whole, fraction = m.group(1).split(".")[:2]
    return whole + " point " + " ".join(fraction)  # fraction digits one by one, spaces included


def _fraction(m: re.Match) -> str:
    numerator, denominator = (int(n) for n in m.group(0).split("/"))
    words = number_to_words(numerator)
    if denominator == 1:
        return words
    if denominator == 2:
        return f"{words} {'half' if numerator == 1 else 'halves'}"
    below = ordinal(number_to_words(denominator))
    return f"{words} {below}{'s' if numerator > 1 else ''}"


def _ordinal(m: re.Match) -> str:
    return number_to_words(m.group(0))


def _number(m: re.Match) -> str:
    num = int(m.group(0))
    say = number_to_words
    if 1000 < num < 3000:  # read as a year
        if num == 2000:
            return "two thousand"
        if 2000 < num < 2010:
            return "two thousand " + say(num % 100)
        if num % 100 == 0:
            return say(num // 100) + " hundred"
        return say(num, andword="", zero="oh", group=2).replace(", ", " ")
    return say(num, andword="")


def _expand(text: str) -> str:
    """Upstream ``expend.normalize``."""
    text = _ORDINAL_BEFORE_STOP.sub(_ordinal_with_comma, text)
    # the operator needs white space on both sides: without that nothing can match (and the costly scan is skipped)
    while _SPACED_OPERATOR.search(text) and _ARITHMETIC.search(text):  # each pass removes an operator
        text = _ARITHMETIC.sub(_arithmetic, text)
    text = _NEGATIVE.sub(_negative, text)
    text = _THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), text)
    text = _CLOCK.sub(_clock, text)
    text = _MEASURE.sub(_measure, text)
    text = _POUNDS_BEFORE.sub(_pounds, text)
    text = _POUNDS_AFTER.sub(_pounds, text)
    text = _DOLLARS_BEFORE.sub(_dollars, text)
    text = _DOLLARS_AFTER.sub(_dollars, text)
    text = _DECIMAL.sub(_decimal, text)
    text = _FRACTION.sub(_fraction, text)
    text = _ORDINAL.sub(_ordinal, text)
    text = _NUMBER.sub(_number, text)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    text = text.replace("%", " percent")
    text = _NOT_KEPT.sub("", text)
    text = re.sub(r"(?i)i\.e\.", "that is", text)
    text = re.sub(r"(?i)e\.g\.", "for example", text)
    return _INNER_CAPITAL.sub(r" \1", text)


def text_normalize(text: str) -> str:
    """Upstream ``english.text_normalize``: mark map, ``expend.normalize``, then repeated marks collapsed."""
    text = _MARKS_RE.sub(lambda m: _MARKS[m.group()], text)
    try:
        text = _expand(text)
    except (ValueError, ArithmeticError) as error:
        # e.g. int() of a number past Python's 4300-digit limit, or en_numbers' NumOutOfRangeError (a number
        # too large to name) or BadNumValueError, both ValueErrors named as inflect's; upstream crashes
        raise TextError(f"en: cannot read a number in this text ({type(error).__name__})") from None
    return _REPEATED_PUNCT.sub(r"\1", text)
