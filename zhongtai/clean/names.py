"""Person names: normal form, pinyin blocking key, pinyin-only detection.

Normal form: white space, full-width forms and bracketed remarks removed,
traditional characters converted to simplified (OpenCC ``t2s``), minority-name
separators (``•``, ``.``, ``・``...) unified to ``·`` (U+00B7). The pinyin key is
lower-case, toneless, without spaces, and reads surnames the way surnames are
read (曾 zeng, 单 shan, 尉迟 yuchi), not the way the words are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from zhongtai.clean.repairs import Repair
from zhongtai.clean.text import has_fullwidth, to_halfwidth

MIDDLE_DOT = "·"
# Dots people type between the parts of Uyghur, Tibetan, Kazakh... names.
_DOTS = re.compile(r"\s*[·•‧∙⋅・･.．。˙●]\s*")
_BRACKETS = re.compile(r"\s*[(（\[【〔{][^)）\]】〕}]*[)）\]】〕}]\s*")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_NAME = re.compile(r"^[A-Za-züÜ' ·-]+$")
_SPACES = re.compile(r"\s+")

# Surnames whose reading differs from the character's most common reading.
COMPOUND_SURNAMES = {
    "尉迟": "yuchi",
    "长孙": "zhangsun",
    "万俟": "moqi",
    "单于": "chanyu",
    "澹台": "tantai",
    "令狐": "linghu",
    "欧阳": "ouyang",
    "司马": "sima",
    "上官": "shangguan",
    "诸葛": "zhuge",
    "皇甫": "huangfu",
    "宇文": "yuwen",
    "东方": "dongfang",
    "慕容": "murong",
    "夏侯": "xiahou",
    "公孙": "gongsun",
    "西门": "ximen",
    "呼延": "huyan",
    "赫连": "helian",
    "南宫": "nangong",
}
SURNAME_READINGS = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "朴": "piao",
    "查": "zha",
    "盖": "ge",
    "缪": "miao",
    "乐": "yue",
    "尉": "yu",
    "覃": "qin",
    "种": "chong",
    "翟": "zhai",
    "秘": "bi",
    "冼": "xian",
    "员": "yun",
    "召": "shao",
    "繁": "po",
    "朝": "chao",
    "柏": "bai",
    "折": "she",
    "黑": "he",
    "沈": "shen",
    "长": "chang",
    "重": "chong",
    "薄": "bo",
    "佴": "nai",
    "句": "gou",
    "任": "ren",
    "华": "hua",
    "纪": "ji",
    "燕": "yan",
    "相": "xiang",
    "过": "guo",
    "便": "pian",
    "谌": "chen",
    "莘": "shen",
    "祭": "zhai",
    "阚": "kan",
    "恽": "yun",
}


@dataclass
class NameResult:
    """What the rule made of one name (``name`` is None when missing or empty)."""

    name: str | None
    pinyin: str | None
    repairs: list[Repair] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


@cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


@cache
def _char_pinyin(ch: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(ch, style=Style.NORMAL, errors="ignore", v_to_u=False))


def _pinyin_of(text: str) -> str:
    # Character by character: given names are not words, so phrase context rarely
    # applies, and a per-character cache makes the key ~50x cheaper than pypinyin per name.
    return "".join(_char_pinyin(ch) for ch in text)


def name_pinyin(name: str) -> str:
    """Toneless lower-case pinyin of a (normalised) hanzi name, surname readings applied.

    Separators, digits and latin letters outside hanzi are left out of hanzi
    names; a latin-only name is returned lower-cased without spaces or dots.
    """
    if not _HAN.search(name):
        return re.sub(r"[^a-z]", "", name.lower().replace("ü", "v"))
    head = name.split(MIDDLE_DOT, 1)[0]
    if MIDDLE_DOT in name:
        # Minority names are transliterations: no Han surname to read specially.
        return "".join(_pinyin_of(part) for part in name.split(MIDDLE_DOT))
    for compound, reading in COMPOUND_SURNAMES.items():
        if head.startswith(compound):
            return reading + _pinyin_of(name[len(compound) :])
    first = name[0]
    if first in SURNAME_READINGS:
        return SURNAME_READINGS[first] + _pinyin_of(name[1:])
    return _pinyin_of(name)


def normalise_name(raw: str | None, field_name: str = "name") -> NameResult:
    """Normalise one person name and compute its pinyin key.

    Args:
        raw: the name as delivered.
        field_name: column name used in repair records and flags.

    Returns:
        A :class:`NameResult`; a latin-only (pinyin) name is kept and flagged
        ``<field>:pinyin_only``.
    """
    repairs: list[Repair] = []
    flags: list[str] = []
    if raw is None or not raw.strip():
        return NameResult(None, None, flags=[f"{field_name}:missing"])
    s = raw.strip()
    if has_fullwidth(s):
        s = to_halfwidth(s)
        repairs.append(Repair(field_name, "fullwidth_to_ascii", "fullwidth_chars", "ascii_chars"))
    without = _BRACKETS.sub("", s).strip()
    if without != s:
        repairs.append(Repair(field_name, "drop_bracket_remark", "with_remark", "without_remark"))
        s = without
    if not s:
        return NameResult(None, None, repairs, [f"{field_name}:missing"])
    if _HAN.search(s):
        dotted = _DOTS.sub(MIDDLE_DOT, s).strip(MIDDLE_DOT)
        if dotted != s:
            if any(ch != MIDDLE_DOT and _DOTS.fullmatch(ch) for ch in s):
                repairs.append(
                    Repair(field_name, "unify_name_separator", "variant_separator", "middle_dot")
                )
            s = dotted
        compact = _SPACES.sub("", s)
        if compact != s:
            repairs.append(Repair(field_name, "remove_spaces", "spaced", "compact"))
            s = compact
        simplified = _t2s().convert(s)
        if simplified != s:
            repairs.append(
                Repair(field_name, "traditional_to_simplified", "traditional", "simplified")
            )
            s = simplified
        if not re.fullmatch(r"[\u3400-\u9fff\uf900-\ufaff·]+", s):
            flags.append(f"{field_name}:unexpected_characters")
        return NameResult(s, name_pinyin(s) or None, repairs, flags)
    collapsed = _SPACES.sub(" ", s)
    if collapsed != s:
        repairs.append(Repair(field_name, "collapse_spaces", "spaced", "single_spaced"))
        s = collapsed
    if _LATIN_NAME.match(s):
        flags.append(f"{field_name}:pinyin_only")
        return NameResult(s, name_pinyin(s) or None, repairs, flags)
    flags.append(f"{field_name}:unexpected_characters")
    return NameResult(s, None, repairs, flags)
