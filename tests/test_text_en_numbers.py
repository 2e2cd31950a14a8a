"""runtime/text/en_numbers.py against inflect 7.6.0, the package upstream GPT-SoVITS spells numbers with.

inflect is a dev-only dependency: it is the oracle here and nothing in runtime/ imports it. Every call form
``en_normalize`` makes is compared: ``number_to_words`` of ints (default options; ``andword=""``; the year
reading ``andword="", zero="oh", group=2``) and of digit strings ending in st/nd/rd/th, ``ordinal`` of digit
strings and of the words ``number_to_words`` gives, and where inflect raises, the same error class name.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import inflect  # the oracle: a dev dependency, like hypothesis
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gsv_edge.runtime.text import TextError, en_normalize
from gsv_edge.runtime.text import en_numbers as ours
from tests.conftest import REPO_ROOT

ENGINE = inflect.engine()
LIMIT = 10**36  # the first number inflect cannot name (it has no word past decillion)
INT_DIGITS = sys.get_int_max_str_digits()  # Python's int <-> str limit, 4300 digits by default

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
YEAR_OPTIONS = {"andword": "", "zero": "oh", "group": 2}


def outcome(function: Callable[..., str], *args, **kwargs) -> str:
    """The result, or the name of the error raised: the two libraries' error classes differ but share names."""
    try:
        return function(*args, **kwargs)
    except Exception as error:
        return f"raised {type(error).__name__}"


def assert_same(inflect_call, our_call, *args, **kwargs):
    expected = outcome(inflect_call, *args, **kwargs)
    assert expected != "raised TypeCheckError", f"not a call inflect accepts: {args!r}"
    assert outcome(our_call, *args, **kwargs) == expected, (args, kwargs)


def mismatches(pairs):
    """(input, expected, got) for each pair that differs; the first ten are enough to see what broke."""
    return [(arg, expected, got) for arg, expected, got in pairs if expected != got][:10]


# --- exhaustive over the small numbers: clock times, fractions, years and every number under 100,001 ------


def test_number_to_words_0_to_100000_and_the_ordinal_of_each():
    words = [ENGINE.number_to_words(n) for n in range(100_001)]
    assert mismatches((n, w, ours.number_to_words(n)) for n, w in enumerate(words)) == []
    # en_normalize's fractions: ordinal(number_to_words(denominator))
    assert mismatches((w, ENGINE.ordinal(w), ours.ordinal(w)) for w in words) == []


def test_number_to_words_without_and_0_to_100000():
    pairs = ((n, ENGINE.number_to_words(n, andword=""), ours.number_to_words(n, andword="")) for n in range(100_001))
    assert mismatches(pairs) == []


def test_ordinal_of_digit_strings_0_to_100000():
    strings = [str(n) for n in range(100_001)] + [f"0{n}" for n in range(1000)] + [f"00{n}" for n in range(1000)]
    assert mismatches((s, ENGINE.ordinal(s), ours.ordinal(s)) for s in strings) == []


def test_years_read_in_pairs():
    """en_normalize reads 1001..2999 (not 2000..2009, not whole hundreds) in pairs; all four-digit numbers here."""
    pairs = (
        (n, ENGINE.number_to_words(n, **YEAR_OPTIONS), ours.number_to_words(n, **YEAR_OPTIONS)) for n in range(10_000)
    )
    assert mismatches(pairs) == []


@pytest.mark.parametrize("suffix", ["st", "nd", "rd", "th"])
def test_digit_strings_with_an_ordinal_suffix_0_to_2000(suffix):
    """en_normalize's ``[0-9]+(st|nd|rd|th)`` matches, right suffix or not (``1th`` is ``first``)."""
    strings = [f"{n}{suffix}" for n in range(2001)] + [f"0{n}{suffix}" for n in range(200)]
    assert mismatches((s, ENGINE.number_to_words(s), ours.number_to_words(s)) for s in strings) == []


# --- properties: large numbers, the naming limit, leading zeros, Python's int-string limit ----------------

big_ints = st.one_of(
    st.integers(min_value=0, max_value=10**40),
    st.integers(min_value=LIMIT - 10**7, max_value=LIMIT + 10**7),  # either side of the naming limit
    st.integers(min_value=0, max_value=40).map(lambda k: 10**k),  # round numbers: empty groups
    st.integers(min_value=0, max_value=40).flatmap(lambda k: st.integers(10**k, 10**k + 200)),
    st.integers(min_value=10**42, max_value=10**200),
)
suffixes = st.sampled_from(["", "st", "nd", "rd", "th"])


@PROPS
@given(n=big_ints)
@example(n=LIMIT - 1)
@example(n=LIMIT)
@example(n=10**39 + 1)
def test_number_to_words_of_big_ints(n):
    assert_same(ENGINE.number_to_words, ours.number_to_words, n)
    assert_same(ENGINE.number_to_words, ours.number_to_words, n, andword="")
    assert_same(ENGINE.number_to_words, ours.number_to_words, n, **YEAR_OPTIONS)


@PROPS
@given(n=st.integers(min_value=-(10**40), max_value=-1))
def test_number_to_words_of_negative_ints(n):
    assert_same(ENGINE.number_to_words, ours.number_to_words, n)


@PROPS
@given(n=st.integers(min_value=0, max_value=LIMIT - 1))
def test_ordinal_of_the_words_for_big_ints(n):
    words = ENGINE.number_to_words(n)
    assert ours.ordinal(words) == ENGINE.ordinal(words)


@PROPS
@given(zeros=st.integers(min_value=0, max_value=60), n=big_ints, suffix=suffixes)
@example(zeros=0, n=0, suffix="th")
@example(zeros=3, n=1, suffix="nd")
@example(zeros=37, n=0, suffix="")
def test_digit_strings_with_leading_zeros(zeros, n, suffix):
    digits = "0" * zeros + str(n)
    assert_same(ENGINE.number_to_words, ours.number_to_words, digits + suffix)
    assert_same(ENGINE.ordinal, ours.ordinal, digits)


@pytest.mark.parametrize(
    "digits",
    [
        "0" * INT_DIGITS,  # zero, at the limit
        "0" * INT_DIGITS + "0",  # ... one digit past it
        "0" * (INT_DIGITS - 1) + "5",
        "0" * INT_DIGITS + "5",
        "7" * INT_DIGITS,  # too big to name, at the limit
        "7" * (INT_DIGITS + 1),
        "1" + "0" * (INT_DIGITS + 500),
    ],
    ids=["zeros", "zeros-past", "five", "five-past", "sevens", "sevens-past", "far-past"],
)
def test_python_int_string_limit(digits):
    """Past ``sys.get_int_max_str_digits()`` digits int() and str() raise ValueError, in inflect and here."""
    for suffix in ["", "st", "th"]:
        assert_same(ENGINE.number_to_words, ours.number_to_words, digits + suffix)
    assert_same(ENGINE.ordinal, ours.ordinal, digits)
    sys.set_int_max_str_digits(0)  # an int with this many digits (int() of the string stops at the limit)
    try:
        n = int(digits)
    finally:
        sys.set_int_max_str_digits(INT_DIGITS)
    assert_same(ENGINE.number_to_words, ours.number_to_words, n)


def test_our_errors_are_value_errors_named_as_inflects():
    assert issubclass(ours.NumOutOfRangeError, ValueError)
    assert issubclass(ours.BadNumValueError, ValueError)
    assert outcome(ENGINE.number_to_words, LIMIT) == f"raised {ours.NumOutOfRangeError.__name__}"
    assert outcome(ENGINE.ordinal, "1" * (INT_DIGITS + 1)) == f"raised {ours.BadNumValueError.__name__}"


# --- en_normalize as a whole: its text with our numbers against its text with inflect's ---------------------


def _oracle_error(error: Exception) -> ValueError:
    # inflect's errors are not ValueErrors; text_normalize catches ValueError, naming the class in its message
    return type(type(error).__name__, (ValueError,), {})()


def _inflect_number_to_words(*args, **kwargs):
    try:
        return ENGINE.number_to_words(*args, **kwargs)
    except (inflect.NumOutOfRangeError, inflect.BadNumValueError) as error:
        raise _oracle_error(error) from None


def _inflect_ordinal(*args, **kwargs):
    try:
        return ENGINE.ordinal(*args, **kwargs)
    except (inflect.NumOutOfRangeError, inflect.BadNumValueError) as error:
        raise _oracle_error(error) from None


def _normalize(text: str) -> str:
    try:
        return en_normalize.text_normalize(text)
    except TextError as error:
        return f"TextError: {error}"


def _normalize_with_inflect(text: str) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(en_normalize, "number_to_words", _inflect_number_to_words)
        patch.setattr(en_normalize, "ordinal", _inflect_ordinal)
        return _normalize(text)


TOO_BIG = "1" + "0" * 36
TOO_LONG = "9" * (INT_DIGITS + 10)
NUMBER_TEXTS = [
    "I was born in 1984 and have 3 cats.",
    "in 2023. It",
    "It is -5 now, or 1,000,021 or 12,345,678,901.",
    "3/4 and 1/2 and 6/1 and 5/0 and 7/10 and 1/100 and 11/12 and 2/3 and 9/1000001",
    "0:05 09:30 12:00 13:00 23:59 7:45",
    "1.2s and 1L and 10km and 3 tbsp and 25°C",
    "£7.14 $1 $0.01 $2.50 12$ 100£",
    "1st 2nd 3rd 4th 11th 12th 13th 21st 22nd 101st 111th 1000000th 1th 02nd 0th",
    "1001 1010 1099 1100 1905 1999 2000 2005 2010 2021 2999 3000 1000 999",
    "1 + 2 = 3 and 10 × 100 ÷ 7",
    "It was the 100th. Then the 1000000. Then 1000000000000000000000000000000000000. End",
    f"{TOO_BIG}. too big",  # an ordinal with comma: a digit string, then its words
    f"{TOO_BIG}",  # number_to_words of an int too big to name
    f"{TOO_BIG}th",  # ... of a digit string
    f"1/{TOO_BIG}",  # ... in a fraction
    f"{TOO_LONG}. too long",  # ordinal: int() past the limit
    f"{TOO_LONG}th",
    TOO_LONG,
]


@pytest.mark.parametrize("text", NUMBER_TEXTS, ids=range(len(NUMBER_TEXTS)))
def test_text_normalize_as_with_inflect(text):
    assert _normalize(text) == _normalize_with_inflect(text)


def test_the_error_cases_cover_each_error():
    messages = {_normalize_with_inflect(text) for text in NUMBER_TEXTS}
    for name in ["NumOutOfRangeError", "BadNumValueError", "ValueError"]:
        assert f"TextError: en: cannot read a number in this text ({name})" in messages


_PIECES = [" ", ". ", ".", ",", "/", ":", "-", " - ", " + ", " = ", "$", "£", "st", "nd", "rd", "th", "km", "s", "%"]
number_texts = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=3000).map(str),
        big_ints.map(str),
        st.integers(min_value=0, max_value=5).map(lambda k: "0" * k),
        st.sampled_from(_PIECES + ["in", "It", "a"]),
    ),
    max_size=12,
).map("".join)


@PROPS
@given(text=number_texts)
def test_text_normalize_as_with_inflect_on_generated_text(text):
    assert _normalize(text) == _normalize_with_inflect(text)


def test_english_numbers_do_not_import_inflect():
    script = (
        "import sys\n"
        "from runtime.text.en_normalize import text_normalize\n"
        "text = text_normalize('I was born in 1984, on the 21st. I have 3/4 of 2 cats at 10:30 for $1.50.')\n"
        "assert 'nineteen eighty-four' in text and 'twenty-first' in text and 'three fourths' in text, text\n"
        "print(sorted(m for m in ('inflect', 'typeguard') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
