"""Loading the FAQ: every problem is named by file, entry id and field, all at once."""

from pathlib import Path

import pytest

from bot.answering.kb import KbError, load

GOOD = """
- id: a.one
  category: 社会保险
  question: 问题一？
  alternates: [问法一]
  answer: 答案一
  department: 区人社局
  sources: [{title: 文件一, number: 某〔2020〕1号, date: 2020-02-20}]
  valid_until: permanent
  related: [a.two]
- id: a.two
  category: 社会保险
  question: 问题二？
  answer: 答案二
  department: 区人社局
  sources: [{title: 文件二}]
  valid_from: 2020-02-01
  valid_until: 2020-06-30
  regions: {上街区: {extra: 上街区另有规定}}
"""


def write(tmp_path: Path, text: str, name: str = "a.yaml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_valid_file_loads(tmp_path: Path) -> None:
    kb = load(write(tmp_path, GOOD))
    assert list(kb.entries) == ["a.one", "a.two"]
    assert kb.entries["a.two"].answer_for("上街区") == "答案二\n上街区另有规定"
    assert kb.entries["a.two"].answer_for("二七区") == "答案二"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("答案一", ""), "a.yaml: 条目 a.one: 字段 answer: 缺少或为空"),
        (("related: [a.two]", "related: [a.nine]"), "a.yaml: 条目 a.one: 字段 related: 未知或指向自身的条目 a.nine"),
        (("valid_until: 2020-06-30", "valid_until: 2020-13-40"), "a.yaml: 条目 a.two: 字段 valid_until: 日期无效"),
        (("id: a.two", "id: a.one"), "a.yaml: 条目 a.one: 字段 id: 重复"),
        (
            ("department: 区人社局\n  sources: [{title: 文件二}]", "sources: [{title: 文件二}]"),
            "a.yaml: 条目 a.two: 字段 department: 缺少或为空",
        ),
        (("上街区: {extra", "金水区: {extra"), "a.yaml: 条目 a.two: 字段 regions.金水区: 未知区县"),
        (("alternates: [问法一]", "alternate: [问法一]"), "a.yaml: 条目 a.one: 字段 alternate: 未知字段"),
        (("  valid_until: permanent\n", ""), "a.yaml: 条目 a.one: 字段 valid_until: 缺少"),
        (("valid_until: permanent", "valid_until: forever"), "a.yaml: 条目 a.one: 字段 valid_until: 日期无效"),
        (("{title: 文件二}", "{title: 文件二, district: 金水区}"), "a.yaml: 条目 a.two: 字段 sources[1].district"),
        (("{title: 文件二}", "{title: 文件二, cite: 否}"), "a.yaml: 条目 a.two: 字段 sources[1].cite: 应为 true"),
        (("{title: 文件二}", "{title: 文件二；文件三}"), "a.yaml: 条目 a.two: 字段 sources[1].title: 一个来源"),
        (("date: 2020-02-20", "date: 2020-13"), "a.yaml: 条目 a.one: 字段 sources[1].date: 日期无效"),
    ],
)
def test_errors_name_file_entry_and_field(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(KbError) as err:
        load(write(tmp_path, GOOD.replace(*change, 1)))
    assert any(p.startswith(message) for p in err.value.problems), err.value.problems


def test_broken_yaml_is_reported_not_raised_raw(tmp_path: Path) -> None:
    with pytest.raises(KbError, match=r"b\.yaml: YAML 无法解析"):
        load(write(write(tmp_path, GOOD), "- id: [unclosed", "b.yaml"))


def test_override_must_point_to_an_entry(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    write(tmp_path, "问题三: a.nine\n", "overrides.yaml")
    with pytest.raises(KbError, match=r"overrides\.yaml: 条目 问题三: 指向不存在的条目 a\.nine"):
        load(tmp_path)


def test_validity_is_a_date_permanent_or_unknown(tmp_path: Path) -> None:
    kb = load(write(tmp_path, GOOD + GOOD.replace("a.one", "a.three").replace("a.two", "a.four").replace(
        "valid_until: permanent", "valid_until: unknown")))  # fmt: skip
    one, two, three = kb.entries["a.one"], kb.entries["a.two"], kb.entries["a.three"]
    assert (one.permanent, one.end_unknown, one.valid_until) == (True, False, None)
    assert (two.permanent, two.end_unknown, str(two.valid_until)) == (False, False, "2020-06-30")
    assert (three.permanent, three.end_unknown, three.valid_until) == (False, True, None)


def test_sources_carry_district_cite_and_a_month_only_date(tmp_path: Path) -> None:
    text = GOOD.replace("{title: 文件二}", "{title: 文件二, district: 上街区, cite: false, date: 2020-03}")
    source = load(write(tmp_path, text)).entries["a.two"].sources[0]
    assert (source.district, source.cite, source.month_only, source.date_text) == ("上街区", False, True, "2020-03")


REAL = (
    '{"q": "企业问法甲?", "expect": "a.one", "source": "https://example.gov.cn/qa/1"}\n'
    "\n"
    '{"q": "  营业执照年报怎么报 ", "expect": null, "source": "https://example.com/2"}\n'
    '{"q": "两条都答?", "expect": "a.two", "also": ["a.one"], "source": "https://example.com/3"}\n'
)


def test_real_questions_teach_the_index_phrasings_and_near_misses(tmp_path: Path) -> None:
    """An answered real question becomes a phrasing of its entry, an unanswered one an out-of-scope exemplar."""
    kb = load(write(write(tmp_path, GOOD), REAL, "real-questions.jsonl"))
    assert kb.entries["a.one"].alternates == ("问法一", "企业问法甲?")
    assert kb.entries["a.two"].alternates == ("两条都答?",)
    assert kb.out_of_scope[-1] == "营业执照年报怎么报"


@pytest.mark.parametrize(
    "line",
    [
        '{"q": "问?", "expect": "a.nine"}',  # no such entry
        '{"q": "问?", "expect": "a.one", "also": ["a.nine"]}',
        '{"q": "问?", "expect": null, "also": ["a.one"]}',  # out of scope, yet answered by an entry?
        '{"q": "", "expect": "a.one"}',
        '{"q": "问?", "expect": ["a.one"]}',
        '{"q": "问?", "expect": "a.one", "also": "a.two"}',
        "not json",
    ],
)
def test_a_bad_real_question_line_is_named(tmp_path: Path, line: str) -> None:
    write(tmp_path, GOOD)
    write(tmp_path, REAL + line + "\n", "real-questions.jsonl")
    with pytest.raises(KbError, match=r"real-questions\.jsonl: 条目 第5行"):
        load(tmp_path)
