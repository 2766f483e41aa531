"""Entity-name normalisation, kinds and the comparators of the entity linker (no engines)."""

from __future__ import annotations

import pytest

from zhongtai.errors import ConfigError
from zhongtai.ids import uscc
from zhongtai.match.entities import (
    DEFAULT_REGIONS,
    PROVINCES,
    compare_entity_address,
    compare_entity_columns,
    compare_entity_name,
    compare_representative,
    compare_uscc,
    kinds_compatible,
    load_entity_matching_config,
    names_consistent,
    normalise_entity_name,
    parse_entity_matching_config,
    prepare_row,
    region_names,
    uscc_compact,
    uscc_neighbours,
)

REGIONS = region_names([*PROVINCES, "北京市", "东城区", "朝阳区"])


@pytest.mark.parametrize(
    ("name", "core", "kind", "branch"),
    [
        ("北京华联恒科技有限公司", "华联恒科技", "limited", ""),
        ("北京市东城区华联恒科技有限公司", "华联恒科技", "limited", ""),
        ("东城区华联恒科技有限责任公司", "华联恒科技", "limited", ""),
        ("华联(北京)恒科技有限公司", "华联恒科技", "limited", ""),
        ("华联恒科技（北京）有限公司", "华联恒科技", "limited", ""),
        ("北京華聯恆科技有限公司", "华联恒科技", "limited", ""),  # traditional characters
        ("北京 华联恒科技 有限公司", "华联恒科技", "limited", ""),
        ("华联恒科技", "华联恒科技", "", ""),  # grid abbreviation: no kind
        ("华联恒科技股份", "华联恒科技", "joint_stock", ""),
        ("北京华联恒科技股份有限公司", "华联恒科技", "joint_stock", ""),
        ("北京华联恒科技店", "华联恒科技", "shop", ""),
        ("北京华联恒咨询服务中心", "华联恒咨询", "centre", ""),
        ("北京嘉禾博物业管理协会", "嘉禾博物业管理", "association", ""),
        ("北京华联恒科技有限公司朝阳分公司", "华联恒科技", "limited", "分公司:朝阳"),
        ("中国工商银行股份有限公司北京东城支行", "工商银行", "joint_stock", "支行:东城"),
        ("ＸＹＺ科技（北京）有限公司", "XYZ科技", "limited", ""),
    ],
)
def test_entity_name_is_taken_apart(name, core, kind, branch):
    n = normalise_entity_name(name, REGIONS)
    assert (n.core, n.kind, n.branch) == (core, kind, branch)


def test_region_prefix_is_kept_when_nothing_would_be_left():
    assert normalise_entity_name("北京市", REGIONS).core == "北京市"
    assert normalise_entity_name("北京有限公司", REGIONS).core == "北京"
    assert normalise_entity_name(None).core is None
    assert normalise_entity_name("  ").core is None


def test_district_names_are_only_stripped_when_known():
    # 东城 is not a province: only the district's own divisions make it a region prefix
    assert normalise_entity_name("东城华联科技有限公司", DEFAULT_REGIONS).core == "东城华联科技"
    assert normalise_entity_name("东城华联科技有限公司", REGIONS).core == "华联科技"


def test_a_branch_is_never_its_parent_nor_another_branch():
    parent = normalise_entity_name("北京华联恒科技有限公司", REGIONS)
    branch = normalise_entity_name("北京华联恒科技有限公司朝阳分公司", REGIONS)
    other = normalise_entity_name("北京华联恒科技有限公司东城分公司", REGIONS)
    assert parent.core == branch.core
    assert not kinds_compatible(parent.kind, branch.kind, parent.branch, branch.branch)
    assert not kinds_compatible(branch.kind, other.kind, branch.branch, other.branch)
    assert kinds_compatible(branch.kind, branch.kind, branch.branch, branch.branch)
    # the fast-path guard: a branch carrying its parent's code is a conflict
    assert not names_consistent(branch.core, branch.branch, parent.core, parent.branch)


def test_kinds():
    assert kinds_compatible("limited", "", "", "")  # an abbreviation may be anything
    assert kinds_compatible("company", "joint_stock", "", "")  # a bare 公司
    assert not kinds_compatible("limited", "shop", "", "")  # 有限公司 is not 店
    assert not kinds_compatible("limited", "joint_stock", "", "")


def test_name_core_levels():
    assert compare_entity_name("华联恒科技", "华联恒科技").level == 0
    assert compare_entity_name("华联恒科技", "华联东科技").level == 1  # one character
    assert compare_entity_name("华联恒物业管理", "华联恒物业").level == 1
    assert compare_entity_name("华联恒科技", "华联恒").level == 2  # contained
    assert compare_entity_name("科技华联恒", "华联恒科技").level == 2  # reordered
    assert compare_entity_name("华联恒科技", "恒通华物流").level == 3
    assert compare_entity_name(None, "华联恒科技") is None


def test_names_consistent_for_the_fast_path():
    assert names_consistent("华联恒科技", "", "华联恒科技", "")
    assert names_consistent("华联恒", "", "华联恒科技", "")  # abbreviation
    assert names_consistent("华联东科技", "", "华联恒科技", "")  # typo
    assert not names_consistent("恒通华物流", "", "华联恒科技", "")  # another entity's code


def _valid_code() -> str:
    body = "91110105" + "MA01ABC" + "D"
    org = body[8:16]
    first17 = body[:16] + uscc.org_check_char(org)
    return first17 + uscc.check_char(first17)


def test_uscc_neighbours_recover_a_one_character_typo_and_a_swap():
    code = _valid_code()
    assert uscc.is_valid(code) and uscc.is_valid_org_code(code)
    typo = code[:5] + ("8" if code[5] != "8" else "3") + code[6:]
    assert not uscc.is_valid(typo)
    assert code in uscc_neighbours(typo)
    wrong_check = code[:17] + ("0" if code[17] != "0" else "1")
    assert code in uscc_neighbours(wrong_check)
    swapped = code[:10] + code[11] + code[10] + code[12:]
    if swapped != code:
        assert code in uscc_neighbours(swapped)
    assert all(uscc.is_valid(c) and uscc.is_valid_org_code(c) for c in uscc_neighbours(typo))
    assert uscc_neighbours("110105123456789") == []  # old 15-digit registration number
    assert uscc_neighbours(None) == []


def test_uscc_compact_and_compare():
    code = _valid_code()
    assert uscc_compact(f" {code[:8].lower()} {code[8:]} ") == code
    assert uscc_compact("") is None
    assert compare_uscc(code, code).level == 0
    assert compare_uscc(code, code[:3] + "8" + code[4:]).level in (0, 1)
    assert compare_uscc(code, "110105123456789") is None
    assert compare_uscc(code, "9" * 18).level == 2


def test_representative_address_and_columns():
    assert compare_representative("张三", "zhangsan", "张三|李四", "zhangsan|lisi").level == 0
    assert compare_representative("张三", "zhangsan", "章三", "zhangsan").level == 1
    assert compare_representative("张三", "zhangsan", "王五", "wangwu").level == 2
    assert compare_representative(None, None, "王五", "wangwu") is None
    assert compare_entity_address("A1|A2", "C1", None, "A2", "C9", None).level == 0
    assert (
        compare_entity_address(
            None, "C1", "北京市东城区某路1号", None, "C1", "北京市东城区某路1号"
        ).level
        == 1
    )
    assert (
        compare_entity_address(
            None, "C1", "北京市东城区甲路1号", None, "C1|C2", "北京市东城区乙街99号"
        ).level
        == 2
    )
    assert compare_entity_address(None, "C1", None, None, "C2", None).level == 3
    assert compare_entity_address(None, None, None, "A1", None, None) is None
    cols = {
        f"{s}_{c}": [v]
        for s, row in (
            ("l", {"name_core": "华联恒科技", "name_kind": "", "name_branch": ""}),
            (
                "r",
                {"name_core": "华联恒科技", "name_kind": "limited", "name_branch": "分公司:朝阳"},
            ),
        )
        for c, v in {
            **dict.fromkeys(
                (
                    "uscc_code",
                    "rep_norm",
                    "rep_pinyin",
                    "phone_norm",
                    "address_ids",
                    "communities",
                    "address_texts",
                    "established_date",
                    "industry_code",
                )
            ),
            **row,
        }.items()
    }
    out = compare_entity_columns(cols)
    assert out["name_level"] == [0] and out["kind_ok"] == [False]
    assert out["uscc_level"] == [-1]


def test_prepare_row_without_gazetteer():
    code = _valid_code()
    row = {
        "entity_name": "北京华联恒科技有限公司",
        "entity_name_norm": "北京华联恒科技有限公司",
        "uscc": code[:4] + "8" + code[5:] if code[4] != "8" else code[:4] + "3" + code[5:],
        "uscc_norm": None,
        "uscc_valid": False,
        "legal_representative_norm": "张三",
        "registered_address": "北京市东城区某路1号",
        "business_address": None,
    }
    d = prepare_row(row, None, REGIONS)
    assert d["name_core"] == "华联恒科技" and d["name_kind"] == "limited"
    assert code in d["uscc_near"].split("|")
    assert d["rep_pinyin"] == "zhangsan"
    assert d["reg_address_text"] == "北京市东城区某路1号" and d["reg_address_id"] is None


def test_shipped_configuration_loads_and_bad_ones_are_refused(tmp_path):
    cfg = load_entity_matching_config()
    assert cfg.source_trust["market_regulation"] < cfg.source_trust["grid"]
    assert 0 < cfg.possible <= cfg.certain < 1
    with pytest.raises(ConfigError, match="entities"):
        parse_entity_matching_config({"model": {}})
    bad = tmp_path / "m.yaml"
    bad.write_text("entities: [1, 2", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_entity_matching_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_entity_matching_config(tmp_path / "absent.yaml")
