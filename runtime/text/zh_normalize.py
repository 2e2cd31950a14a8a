"""Chinese text normalisation as upstream GPT-SoVITS does it (its PaddleSpeech-derived
``zh_normalization``).

Numbers, dates, times, phone numbers, percentages, units, ranges and simple arithmetic are read out in
Hanzi, then punctuation is mapped to the six phone-level marks and everything else that is not a Hanzi
is dropped. Upstream's quirks are kept on purpose (a converted model was trained on them): thousand
separators are not understood, a slash in a date is read as a fraction, the unit letters ``m``/``s``/...
are replaced anywhere in the text, and every ``-`` left over becomes 减.

Two deliberate extensions, both only where upstream would crash: decimal digits of other scripts are
read as ASCII digits, and very long numbers are verbalised without deep recursion.
"""

from __future__ import annotations

import re
import unicodedata

from .symbols import PUNCTUATION
from .zh_tables import T2S_FROM, T2S_TO

_DIGIT_NAMES = "零一二三四五六七八九"
_UNIT_NAMES = {1: "十", 2: "百", 3: "千", 4: "万", 8: "亿"}
_UNIT_POWERS = (8, 4, 3, 2, 1)

_T2S = str.maketrans(T2S_FROM, T2S_TO)
_FULLWIDTH = {0xFF10 + i: 0x30 + i for i in range(10)}
_FULLWIDTH.update({0xFF21 + i: 0x41 + i for i in range(26)})
_FULLWIDTH.update({0xFF41 + i: 0x61 + i for i in range(26)})
_FULLWIDTH[0x3000] = 0x20


def _ascii_digits(text: str) -> str:
    """Fold decimal digits of any script to ASCII (upstream's ``\\d`` matches them but cannot read them)."""
    if text.isascii():
        return text
    out = []
    for ch in text:
        if "0" <= ch <= "9" or not ch.isdecimal():
            out.append(ch)
        else:
            out.append(str(unicodedata.decimal(ch)))
    return "".join(out)


# ---------------------------------------------------------------- number words


def read_digits(digits: str, alt_one: bool = False) -> str:
    """Digit by digit, e.g. 2024 -> 二零二四; with ``alt_one`` 1 is read 幺 (phone numbers)."""
    words = "".join(_DIGIT_NAMES[int(d)] for d in digits)
    return words.replace("一", "幺") if alt_one else words


def _group_words(digits: str) -> list[str]:
    """Words of an integer string of at most eight significant digits (upstream's recursive rule)."""
    stripped = digits.lstrip("0")
    if not stripped:
        return []
    if len(stripped) == 1:
        if len(stripped) < len(digits):
            return [_DIGIT_NAMES[0], _DIGIT_NAMES[int(stripped)]]
        return [_DIGIT_NAMES[int(stripped)]]
    power = next(p for p in _UNIT_POWERS if p < len(stripped))
    return _group_words(digits[:-power]) + [_UNIT_NAMES[power]] + _group_words(digits[-power:])


def _integer_words(digits: str) -> list[str]:
    # Peel 8-digit groups off the right while more than eight significant digits remain (each one a 亿 step).
    tail: list[list[str]] = []
    head = digits
    while len(head.lstrip("0")) > 8:
        tail.append([_UNIT_NAMES[8]] + _group_words(head[-8:]))
        head = head[:-8]
    words = _group_words(head)
    for part in reversed(tail):
        words += part
    return words


def read_cardinal(digits: str) -> str:
    """An integer as a cardinal: 15 -> 十五, 105 -> 一百零五, 0 -> 零."""
    if not digits:
        return ""
    digits = digits.lstrip("0")
    if not digits:
        return _DIGIT_NAMES[0]
    words = _integer_words(digits)
    if len(words) >= 2 and words[0] == "一" and words[1] == "十":
        words = words[1:]
    return "".join(words)


def read_number(value: str) -> str:
    """An unsigned decimal string: 3.14 -> 三点一四, .5 -> 零点五, 3.20 -> 三点二零."""
    integer, _, decimal = value.partition(".")
    words = read_cardinal(integer)
    decimal = decimal.rstrip("0") + "0" if decimal.endswith("0") else decimal.rstrip("0")
    if decimal:
        words = (words or _DIGIT_NAMES[0]) + "点" + read_digits(decimal)
    return words


def _minsec(value: str) -> str:
    words = read_number(value.lstrip("0"))
    return _DIGIT_NAMES[0] + words if value.startswith("0") else words


# ---------------------------------------------------------------- patterns, applied in upstream's order

_HOUR = r"([0-1]?[0-9]|2[0-3])"
_MIN = r":([0-5][0-9])"
_SEC = r"(?::([0-5][0-9]))?"
_TIME = re.compile(_HOUR + _MIN + _SEC)
_TIME_RANGE = re.compile(_HOUR + _MIN + _SEC + r"(?:~|-)" + _HOUR + _MIN + _SEC)


def _clock(hour: str, minute: str, second: str | None, half_from: str) -> str:
    words = read_number(hour) + "点"
    if minute.lstrip("0"):
        # upstream tests the *first* minute for 半, also for the second time of a range
        words += "半" if int(half_from) == 30 else _minsec(minute) + "分"
    if second and second.lstrip("0"):
        words += _minsec(second) + "秒"
    return words


def _sub_time(m: re.Match) -> str:
    return _clock(m.group(1), m.group(2), m.group(3), m.group(2))


def _sub_time_range(m: re.Match) -> str:
    first = _clock(m.group(1), m.group(2), m.group(3), m.group(2))
    return first + "至" + _clock(m.group(4), m.group(5), m.group(6), m.group(2))


_DATE = re.compile(r"(\d{4}|\d{2})年(?:(0?[1-9]|1[0-2])月)?(?:(0?[1-9]|[12][0-9]|30|31)([日号]))?")
_DATE2 = re.compile(r"(\d{4})([- /.])(0[1-9]|1[012])\2(0[1-9]|[12][0-9]|3[01])")


def _sub_date(m: re.Match) -> str:
    words = read_digits(m.group(1)) + "年"
    if m.group(2):
        words += read_cardinal(m.group(2)) + "月"
    if m.group(3):
        words += read_cardinal(m.group(3)) + m.group(4)
    return words


def _sub_date2(m: re.Match) -> str:
    year, month, day = read_digits(m.group(1)), read_cardinal(m.group(3)), read_cardinal(m.group(4))
    return year + "年" + month + "月" + day + "日"


_NUM = r"(?:-?\d+(?:\.\d+)?|\.\d+)"
_RANGE_UNITS = r"(?:%|°C|℃|度|摄氏度|cm2|cm²|cm3|cm³|cm|db|ds|kg|km|m2|m²|m³|m3|ml|m|mm|s)"
_TO_RANGE = re.compile(_NUM + _RANGE_UNITS + "~" + _NUM + _RANGE_UNITS)
_TEMPERATURE = re.compile(r"(-?)(\d+(?:\.\d+)?)(°C|℃|度|摄氏度)")

# Unit abbreviations replaced anywhere in the sentence, in this order (so "mm" never fires: "m" went first).
_MEASURES = (
    ("cm2", "平方厘米"),
    ("cm²", "平方厘米"),
    ("cm3", "立方厘米"),
    ("cm³", "立方厘米"),
    ("cm", "厘米"),
    ("db", "分贝"),
    ("ds", "毫秒"),
    ("kg", "千克"),
    ("km", "千米"),
    ("m2", "平方米"),
    ("m²", "平方米"),
    ("m³", "立方米"),
    ("m3", "立方米"),
    ("ml", "毫升"),
    ("m", "米"),
    ("mm", "毫米"),
    ("s", "秒"),
)


def _sub_temperature(m: re.Match) -> str:
    # upstream looks at the wrong group for the unit, so every temperature is read 度
    return ("零下" if m.group(1) else "") + read_number(m.group(2)) + "度"


_SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ"
_OPERAND = rf"(?:-?\d+(?:\.\d+)?[{_SUP}]*|\.\d+[{_SUP}]*|[A-Za-z][{_SUP}]*)"
_ASMD = re.compile(rf"({_OPERAND})([+\-×÷=])({_OPERAND})")
_ASMD_WORDS = {"+": "加", "-": "减", "×": "乘", "÷": "除", "=": "等于"}
_POWER = re.compile(rf"[{_SUP}]+")
_POWER_CHARS = str.maketrans(_SUP, "0123456789xyn")


def _sub_asmd(m: re.Match) -> str:
    return m.group(1) + _ASMD_WORDS[m.group(2)] + m.group(3)


_FRAC = re.compile(r"(-?)(\d+)/(\d+)")
_PERCENT = re.compile(r"(-?)(\d+(?:\.\d+)?)%")
_MOBILE = re.compile(r"(?<!\d)((\+?86 ?)?1([38]\d|5[0-35-9]|7[678]|9[89])\d{8})(?!\d)")
_TELEPHONE = re.compile(r"(?<!\d)((0(10|2[1-3]|[3-9]\d{2})-?)?[1-9]\d{6,7})(?!\d)")
_UNIFORM = re.compile(r"(400)(-)?\d{3}(-)?\d{4}")
_RANGE = re.compile(r"(?<![\d+\-×÷=])(-?\d+(?:\.\d+)?)[-~](-?\d+(?:\.\d+)?)(?![\d+\-×÷=])")
_NEGATIVE = re.compile(r"-(\d+)")
_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?(?:\.\d+)+")
_DECIMAL = re.compile(r"(-?)(\d+\.\d+)|\.(\d+)")
_NUMBER = re.compile(r"(-?)(\d+(?:\.\d+)?)|\.(\d+)")
_DEFAULT = re.compile(r"\d{3}\d*")

_QUANTIFIERS = (
    "处 台 架 枚 趟 幅 平 方 堵 间 床 株 批 项 例 列 篇 栋 注 亩 封 艘 "
    "把 目 套 段 人 所 朵 匹 张 座 回 场 尾 条 个 首 阙 阵 网 炮 顶 丘 "
    "棵 只 支 袭 辆 挑 担 颗 壳 窠 曲 墙 群 腔 砣 客 贯 扎 捆 刀 令 打 "
    "手 罗 坡 山 岭 江 溪 钟 队 单 双 对 出 口 头 脚 板 跳 枝 件 贴 针 "
    "线 管 名 位 身 堂 课 本 页 家 户 层 丝 毫 厘 分 钱 两 斤 铢 石 钧 "
    "锱 忽 千克 毫克 微克 公分 寸 尺 丈 里 寻 常 铺 程 千米 分米 厘米 毫米 微米 米 撮 勺 "
    "合 升 斗 盘 碗 碟 叠 桶 笼 盆 盒 杯 斛 锅 簋 篮 罐 瓶 壶 卮 盏 箩 "
    "箱 煲 啖 袋 钵 年 月 日 季 刻 时 周 天 秒 小时 旬 纪 岁 世 更 夜 春 "
    "夏 秋 冬 代 伏 辈 丸 泡 粒 幢 堆 根 道 面 片 块 元 亿 千万 百万 万 千 "
    "百 亿元 千万元 百万元 万元 千元 百元 美元 亿吨 千万吨 百万吨 "
    "万吨 千吨 百吨 十吨 吨 亿块 千万块 百万块 万块 千块 百块 "
    "角 毛 "
).split()
_POSITIVE_QUANTIFIER = re.compile(
    r"(\d+)([多余几+])?(" + "|".join(sorted(set(_QUANTIFIERS), key=len, reverse=True)) + ")"
)


def _sub_frac(m: re.Match) -> str:
    return ("负" if m.group(1) else "") + read_number(m.group(3)) + "分之" + read_number(m.group(2))


def _sub_percent(m: re.Match) -> str:
    return ("负" if m.group(1) else "") + "百分之" + read_number(m.group(2))


def _sub_mobile(m: re.Match) -> str:
    return "，".join(read_digits(part, alt_one=True) for part in m.group(0).strip("+").split())


def _sub_phone(m: re.Match) -> str:
    return "，".join(read_digits(part, alt_one=True) for part in m.group(0).split("-"))


def _sub_number(m: re.Match) -> str:
    if m.group(3):
        return read_number("." + m.group(3))
    return ("负" if m.group(1) else "") + read_number(m.group(2))


def _sub_range(m: re.Match) -> str:
    return _NUMBER.sub(_sub_number, m.group(1)) + "到" + _NUMBER.sub(_sub_number, m.group(2))


def _sub_version(m: re.Match) -> str:
    return "".join("点" if c == "." else read_number(c) for c in m.group(0))


def _sub_quantifier(m: re.Match) -> str:
    number = read_number(m.group(1))
    if number == "二":
        number = "两"
    more = "多" if m.group(2) == "+" else (m.group(2) or "")
    return number + more + m.group(3)


_GREEK = {
    "α": "阿尔法",
    "β": "贝塔",
    "γ": "伽玛",
    "Γ": "伽玛",
    "δ": "德尔塔",
    "Δ": "德尔塔",
    "ε": "艾普西龙",
    "ζ": "捷塔",
    "η": "依塔",
    "θ": "西塔",
    "Θ": "西塔",
    "ι": "艾欧塔",
    "κ": "喀帕",
    "λ": "拉姆达",
    "Λ": "拉姆达",
    "μ": "缪",
    "ν": "拗",
    "ξ": "克西",
    "Ξ": "克西",
    "ο": "欧米克伦",
    "π": "派",
    "Π": "派",
    "ρ": "肉",
    "ς": "西格玛",
    "Σ": "西格玛",
    "σ": "西格玛",
    "τ": "套",
    "υ": "宇普西龙",
    "φ": "服艾",
    "Φ": "服艾",
    "χ": "器",
    "ψ": "普赛",
    "Ψ": "普赛",
    "ω": "欧米伽",
    "Ω": "欧米伽",
}
_POST_MAP = {"/": "每", "+": "加", "-": "减", "×": "乘", "÷": "除", "=": "等"}
_POST_MAP.update({chr(0x2460 + i): _DIGIT_NAMES[i + 1] for i in range(9)})
_POST_MAP["⑩"] = "十"
_POST_MAP.update(_GREEK)
_POST_RE = re.compile("|".join(re.escape(k) for k in _POST_MAP))
_POST_DROP = re.compile(r"[—《》【】<>{}()（）#&@“”^_|\\]")
_SPLIT_DROP = _POST_DROP
_SENTENCE_END = re.compile(r"([：、，；。？！,;?!][”’]?)")


def split_sentences(text: str) -> list[str]:
    """Upstream's ``TextNormalizer._split``: drop spaces and some marks, split after sentence punctuation."""
    text = _SPLIT_DROP.sub("", text.replace(" ", ""))
    text = _SENTENCE_END.sub("\\1\n", text).strip()
    return [s.strip() for s in re.split(r"\n+", text)]


def normalize_sentence(sentence: str) -> str:
    """Verbalise one sentence (upstream's ``TextNormalizer.normalize_sentence``)."""
    s = _ascii_digits(sentence.translate(_T2S).translate(_FULLWIDTH))
    s = _DATE.sub(_sub_date, s)
    s = _DATE2.sub(_sub_date2, s)
    s = _TIME_RANGE.sub(_sub_time_range, s)
    s = _TIME.sub(_sub_time, s)
    s = _TO_RANGE.sub(lambda m: m.group(0).replace("~", "至"), s)
    s = _TEMPERATURE.sub(_sub_temperature, s)
    for abbr, word in _MEASURES:
        s = s.replace(abbr, word)
    while _ASMD.search(s):
        s = _ASMD.sub(_sub_asmd, s)
    s = _POWER.sub(lambda m: "的" + m.group(0).translate(_POWER_CHARS) + "次方", s)
    s = _FRAC.sub(_sub_frac, s)
    s = _PERCENT.sub(_sub_percent, s)
    s = _MOBILE.sub(_sub_mobile, s)
    s = _TELEPHONE.sub(_sub_phone, s)
    s = _UNIFORM.sub(_sub_phone, s)
    s = _RANGE.sub(_sub_range, s)
    s = _NEGATIVE.sub(lambda m: "负" + read_number(m.group(1)), s)
    s = _VERSION.sub(_sub_version, s)
    s = _DECIMAL.sub(_sub_number, s)
    s = _POSITIVE_QUANTIFIER.sub(_sub_quantifier, s)
    s = _DEFAULT.sub(lambda m: read_digits(m.group(0), alt_one=True), s)
    s = _NUMBER.sub(_sub_number, s)
    s = _POST_RE.sub(lambda m: _POST_MAP[m.group(0)], s)
    return _POST_DROP.sub("", s)


# ---------------------------------------------------------------- punctuation map (chinese.py / chinese2.py)

_PUNCT_MAP = {
    "：": ",",
    "；": ",",
    "，": ",",
    "。": ".",
    "！": "!",
    "？": "?",
    "\n": ".",
    "·": ",",
    "、": ",",
    "...": "…",
    "$": ".",
    "/": ",",
    "—": "-",
    "~": "…",
    "～": "…",
}
_PUNCT_RE = re.compile("|".join(re.escape(k) for k in _PUNCT_MAP))
_PUNCT_CLASS = "".join(re.escape(p) for p in PUNCTUATION)
_NOT_KEPT = re.compile(r"[^\u4e00-\u9fa5" + _PUNCT_CLASS + r"]+")
_NOT_KEPT_WITH_LATIN = re.compile(r"[^\u4e00-\u9fa5A-Za-z" + _PUNCT_CLASS + r"]+")
_REPEATED_PUNCT = re.compile(f"([{_PUNCT_CLASS}])([{_PUNCT_CLASS}])+")


def map_punctuation(text: str, keep_latin: bool = False) -> str:
    """Map marks to the phone punctuation and drop every other non-Hanzi character."""
    text = text.replace("嗯", "恩").replace("呣", "母")
    text = _PUNCT_RE.sub(lambda m: _PUNCT_MAP[m.group(0)], text)
    return (_NOT_KEPT_WITH_LATIN if keep_latin else _NOT_KEPT).sub("", text)


def collapse_punctuation(text: str) -> str:
    """Keep the first of each run of phone punctuation (``?!!`` -> ``?``)."""
    return _REPEATED_PUNCT.sub("\\1", text)


def text_normalize(text: str) -> str:
    """Upstream zh ``text_normalize``: the text the zh g2p and the BERT tokenizer see."""
    normalized = "".join(map_punctuation(normalize_sentence(s)) for s in split_sentences(text))
    return collapse_punctuation(normalized)
