"""Name tables: surname and given-name character frequencies, and the variants dirt uses.

The shares are approximate national frequencies (the surname shares follow the
published household-registration rankings; given-name characters are the common
ones of the last decades, split by how they lean by gender). Homophones are
substitutions seen in real records (王晓明/王小明); traditional forms are the
standard conversions (checked against OpenCC in the tests). Names are built from
indices into these tables, so every variant of a name is one array lookup.
"""

from __future__ import annotations

from functools import cache

import numpy as np

# surname, share in percent
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.25), ("李", 7.19), ("张", 6.83), ("刘", 5.38), ("陈", 4.61), ("杨", 3.22),
    ("黄", 2.45), ("赵", 2.19), ("吴", 2.00), ("周", 1.95), ("徐", 1.75), ("孙", 1.56),
    ("马", 1.55), ("朱", 1.47), ("胡", 1.41), ("郭", 1.39), ("何", 1.33), ("林", 1.23),
    ("高", 1.22), ("罗", 1.17), ("郑", 1.05), ("梁", 1.01), ("谢", 0.87), ("宋", 0.85),
    ("唐", 0.83), ("许", 0.81), ("韩", 0.77), ("邓", 0.72), ("冯", 0.72), ("曹", 0.69),
    ("彭", 0.67), ("曾", 0.64), ("肖", 0.63), ("田", 0.62), ("董", 0.60), ("潘", 0.58),
    ("袁", 0.58), ("蔡", 0.56), ("蒋", 0.54), ("余", 0.53), ("于", 0.52), ("杜", 0.51),
    ("叶", 0.49), ("程", 0.48), ("魏", 0.46), ("苏", 0.46), ("吕", 0.45), ("丁", 0.44),
    ("任", 0.43), ("卢", 0.42), ("姚", 0.41), ("沈", 0.40), ("钟", 0.40), ("姜", 0.39),
    ("崔", 0.38), ("谭", 0.37), ("陆", 0.36), ("范", 0.35), ("汪", 0.35), ("廖", 0.34),
    ("石", 0.34), ("金", 0.33), ("韦", 0.32), ("贾", 0.31), ("夏", 0.30), ("付", 0.30),
    ("方", 0.29), ("邹", 0.28), ("熊", 0.28), ("白", 0.28), ("孟", 0.27), ("秦", 0.27),
    ("邱", 0.26), ("侯", 0.26), ("江", 0.25), ("尹", 0.25), ("薛", 0.24), ("闫", 0.24),
    ("段", 0.23), ("雷", 0.23), ("龙", 0.22), ("黎", 0.22), ("史", 0.22), ("陶", 0.21),
    ("贺", 0.21), ("毛", 0.20), ("郝", 0.20), ("顾", 0.19), ("龚", 0.19), ("邵", 0.18),
    ("万", 0.18), ("覃", 0.17), ("武", 0.17), ("钱", 0.16), ("戴", 0.16), ("严", 0.15),
    ("莫", 0.15), ("孔", 0.14), ("向", 0.14), ("常", 0.14), ("汤", 0.13), ("欧阳", 0.05),
    ("司马", 0.01), ("诸葛", 0.005), ("上官", 0.005),
)  # fmt: skip

# given-name character, weight among male names, weight among female names
GIVEN_CHARS: tuple[tuple[str, float, float], ...] = (
    ("伟", 9, 1), ("强", 7, 0), ("磊", 6, 0), ("军", 7, 0), ("勇", 6, 0), ("杰", 7, 1),
    ("涛", 6, 0), ("明", 8, 2), ("超", 6, 0), ("刚", 5, 0), ("平", 5, 3), ("辉", 6, 1),
    ("鹏", 5, 0), ("华", 7, 4), ("飞", 5, 2), ("鑫", 4, 1), ("波", 5, 0), ("斌", 5, 0),
    ("宇", 8, 2), ("浩", 8, 0), ("凯", 5, 0), ("健", 5, 0), ("俊", 6, 0), ("帆", 3, 2),
    ("帅", 3, 0), ("旭", 4, 0), ("宁", 3, 3), ("龙", 5, 0), ("林", 4, 3), ("欣", 2, 7),
    ("建", 6, 0), ("国", 7, 1), ("志", 6, 0), ("文", 6, 4), ("东", 5, 1), ("海", 5, 1),
    ("峰", 5, 0), ("成", 4, 0), ("博", 4, 0), ("晨", 4, 3), ("轩", 5, 1), ("子", 5, 5),
    ("睿", 4, 1), ("泽", 4, 0), ("晓", 6, 6), ("天", 4, 0), ("一", 4, 3), ("嘉", 3, 4),
    ("家", 4, 1), ("芳", 0, 8), ("娜", 0, 7), ("敏", 1, 7), ("静", 0, 8), ("丽", 0, 8),
    ("艳", 0, 7), ("娟", 0, 6), ("霞", 0, 6), ("秀", 0, 6), ("玲", 0, 6), ("燕", 0, 6),
    ("婷", 0, 6), ("雪", 0, 5), ("慧", 0, 6), ("红", 1, 6), ("萍", 0, 5), ("颖", 0, 5),
    ("琳", 0, 5), ("洁", 0, 5), ("倩", 0, 5), ("怡", 0, 6), ("梦", 0, 5), ("佳", 2, 6),
    ("晶", 0, 4), ("雨", 1, 6), ("思", 1, 5), ("涵", 1, 6), ("彤", 0, 5), ("诗", 0, 5),
    ("月", 0, 4), ("莹", 0, 4), ("璐", 0, 4), ("丹", 0, 5), ("悦", 0, 5), ("美", 0, 4),
    ("兰", 0, 5), ("春", 2, 4), ("凤", 0, 4), ("梅", 0, 5), ("琪", 0, 4), ("萱", 0, 5),
    ("淑", 0, 4), ("珊", 0, 3),
)  # fmt: skip

# Same reading, different character: substitutions clerks and OCR make.
HOMOPHONES: dict[str, str] = {
    "晓": "小", "明": "铭", "伟": "玮", "丽": "莉", "静": "婧", "军": "君", "华": "桦",
    "芳": "方", "娜": "那", "杰": "洁", "涛": "韬", "刚": "钢", "平": "萍", "辉": "晖",
    "鹏": "朋", "飞": "菲", "斌": "彬", "宇": "雨", "浩": "昊", "凯": "铠", "健": "建",
    "俊": "骏", "帆": "凡", "旭": "煦", "龙": "隆", "林": "琳", "欣": "新", "国": "帼",
    "志": "智", "文": "雯", "东": "冬", "峰": "锋", "成": "诚", "晨": "辰", "轩": "萱",
    "子": "梓", "睿": "瑞", "天": "添", "嘉": "佳", "家": "佳", "娟": "涓", "秀": "绣",
    "玲": "铃", "燕": "艳", "婷": "庭", "慧": "惠", "红": "虹", "颖": "莹", "洁": "杰",
    "倩": "茜", "怡": "宜", "梦": "孟", "晶": "菁", "雨": "宇", "思": "丝", "涵": "晗",
    "彤": "桐", "诗": "师", "月": "悦", "璐": "露", "丹": "单", "兰": "岚", "梅": "玫",
    "琪": "琦", "珊": "姗", "佳": "嘉", "艳": "燕", "萍": "平", "琳": "林", "雪": "薛",
}  # fmt: skip

# Simplified to traditional, for the characters of these tables that differ.
TRADITIONAL: dict[str, str] = {
    "刘": "劉", "陈": "陳", "杨": "楊", "黄": "黃", "赵": "趙", "吴": "吳", "孙": "孫",
    "马": "馬", "罗": "羅", "郑": "鄭", "谢": "謝", "许": "許", "韩": "韓", "邓": "鄧",
    "冯": "馮", "蒋": "蔣", "叶": "葉", "苏": "蘇", "吕": "呂", "卢": "盧", "谭": "譚",
    "陆": "陸", "韦": "韋", "贾": "賈", "邹": "鄒", "闫": "閆", "龙": "龍", "贺": "賀",
    "顾": "顧", "龚": "龔", "万": "萬", "钱": "錢", "严": "嚴", "汤": "湯", "欧": "歐",
    "阳": "陽", "诸": "諸", "伟": "偉", "强": "強", "军": "軍", "涛": "濤",
    "刚": "剛", "辉": "輝", "鹏": "鵬", "华": "華", "飞": "飛", "凯": "凱", "帅": "帥",
    "宁": "寧", "国": "國", "东": "東", "轩": "軒", "晓": "曉",
    "静": "靜", "丽": "麗", "艳": "豔", "红": "紅", "颖": "穎",
    "洁": "潔", "梦": "夢", "诗": "詩", "莹": "瑩", "兰": "蘭", "凤": "鳳",
    "钟": "鍾",
}  # fmt: skip

MINORITY_NAMES: tuple[str, ...] = (
    "阿依古丽·买买提", "艾力·吐尔逊", "古丽娜尔·艾买提", "热依拉·阿不都", "买买提·依明",
    "迪丽娜尔·阿不都", "阿卜杜拉·艾则孜", "努尔艾力·买买提", "帕尔哈提·吐尔洪",
    "阿迪力·吾守尔", "米热古丽·阿布拉", "艾克拜尔·米吉提", "祖丽菲亚·克热木",
    "吐尔逊·托合提", "麦合木提·艾力",
)  # fmt: skip

DOT_VARIANTS: tuple[str, ...] = ("•", ".", "．", "")
REMARKS: tuple[str, ...] = ("（儿童）", "(代)", "（陪护）", "（学生）", "(外地)", "（老人）")


def _trad(s: str) -> str:
    return "".join(TRADITIONAL.get(c, c) for c in s)


def _homo(s: str) -> str:
    return HOMOPHONES.get(s, s)


@cache
def _pinyin(s: str, surname: bool) -> str:
    from pypinyin import Style, lazy_pinyin

    if not s:
        return ""
    if surname:
        special = {"曾": "zeng", "单": "shan", "覃": "qin", "万": "wan", "于": "yu"}
        return "".join(special.get(c) or lazy_pinyin(c, style=Style.NORMAL)[0] for c in s)
    return "".join(lazy_pinyin(s, style=Style.NORMAL))


class NameTables:
    """The tables as numpy arrays, indexed by the component indices of a name."""

    def __init__(self) -> None:
        self.surname = np.array([s for s, _ in SURNAMES])
        w = np.array([p for _, p in SURNAMES], dtype=np.float64)
        self.surname_p = w / w.sum()
        # index 0 of the given table is the empty second character of one-character names
        chars = [""] + [c for c, _, _ in GIVEN_CHARS]
        self.given = np.array(chars)
        male = np.array([0.0] + [m for _, m, _ in GIVEN_CHARS])
        female = np.array([0.0] + [f for _, _, f in GIVEN_CHARS])
        self.given_p_male = male / male.sum()
        self.given_p_female = female / female.sum()
        self.surname_trad = np.array([_trad(s) for s in self.surname])
        self.given_trad = np.array([_trad(c) for c in chars])
        self.given_homo = np.array([_homo(c) for c in chars])
        self.has_homo = self.given_homo != self.given
        self.surname_py = np.array([_pinyin(s, True).capitalize() for s in self.surname])
        self.given_py = np.array([_pinyin(c, False) for c in chars])
        self.minority = np.array(MINORITY_NAMES)


@cache
def tables() -> NameTables:
    """The name tables (built once)."""
    return NameTables()
