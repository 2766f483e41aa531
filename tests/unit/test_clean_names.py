"""Name rule: spaces, brackets, full-width, traditional, minority separators, pinyin keys."""

from __future__ import annotations

import pytest

from zhongtai.clean.names import name_pinyin, normalise_name


@pytest.mark.parametrize(
    ("raw", "name", "rule"),
    [
        ("张三", "张三", None),
        ("张 三", "张三", "remove_spaces"),
        (" 张\u3000三 ", "张三", "fullwidth_to_ascii"),
        ("張三豐", "张三丰", "traditional_to_simplified"),
        ("王小明（已故）", "王小明", "drop_bracket_remark"),
        ("李四(户主)", "李四", "drop_bracket_remark"),
        ("王小明【重复】", "王小明", "drop_bracket_remark"),
        ("买买提•艾力", "买买提·艾力", "unify_name_separator"),
        ("买买提.艾力", "买买提·艾力", "unify_name_separator"),
        ("买买提．艾力", "买买提·艾力", "fullwidth_to_ascii"),
        ("阿依古丽・热合曼", "阿依古丽·热合曼", "unify_name_separator"),
        ("买买提·艾力", "买买提·艾力", None),
    ],
)
def test_normal_form(raw, name, rule):
    r = normalise_name(raw)
    assert r.name == name
    rules = [x.rule for x in r.repairs]
    assert (rule in rules) if rule else rules == []
    assert r.flags == []


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("王晓明", "wangxiaoming"),
        ("王小明", "wangxiaoming"),  # homophones share the blocking key
        ("曾国藩", "zengguofan"),
        ("单田芳", "shantianfang"),
        ("解缙", "xiejin"),
        ("仇英", "qiuying"),
        ("区丽", "ouli"),
        ("朴树", "piaoshu"),
        ("查良镛", "zhaliangyong"),
        ("尉迟恭", "yuchigong"),
        ("长孙无忌", "zhangsunwuji"),
        ("买买提·艾力", "maimaitiaili"),
    ],
)
def test_pinyin_key(name, key):
    assert name_pinyin(name) == key
    assert normalise_name(name).pinyin == key


def test_pinyin_only_name_kept_and_flagged():
    r = normalise_name("Zhang  San")
    assert (r.name, r.pinyin) == ("Zhang San", "zhangsan")
    assert r.flags == ["name:pinyin_only"]


def test_missing_and_odd_names():
    assert normalise_name(None).flags == ["name:missing"]
    assert normalise_name("（无）").name is None
    assert "name:unexpected_characters" in normalise_name("张三3").flags
