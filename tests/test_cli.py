"""The command line as a user runs it: real subprocesses, a real SQLite file."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answering.kb import KnowledgeBase
from bot.config import ROOT, TZ
from bot.desk.workdays import WorkCalendar

pytestmark = pytest.mark.slow


def run(args: list[str], tmp_path: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "BOT_TODAY": "2020-03-21", **env}
    return subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), *args],
        input=stdin, capture_output=True, text=True, timeout=120, env=full_env, cwd=tmp_path,
    )  # fmt: skip


def test_ask_answers_with_district_wording(tmp_path: Path) -> None:
    out = run(["ask", "企业水价降了多少", "--district", "上街区"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "4.1" in out.stdout and "依据：《" in out.stdout


def test_ask_escalates_into_a_ticket_that_survives(tmp_path: Path) -> None:
    first = run(["ask", "社保卡丢了去哪里补办"], tmp_path)
    assert "工单号：FG" in first.stdout, first.stderr
    status = run(["ask", "查询工单"], tmp_path)
    assert "待认领" in status.stdout


def test_match_reads_json_lines_and_keeps_order(tmp_path: Path) -> None:
    lines = ['{"q": "社保能缓缴吗"}', "not json", '{"q": "😂"}', '{"q": "企业水价降了多少", "district": "上街区"}']
    out = run(["match"], tmp_path, stdin="\n".join(lines) + "\n")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["outcome"] for r in rows] == ["answer", "escalate", "escalate", "answer"]
    assert rows[0]["id"] == "si.deferral" and rows[0]["candidates"][0]["id"] == "si.deferral"
    assert "error" in rows[1] and rows[2]["id"] is None


def test_match_gives_every_process_the_same_scores(tmp_path: Path, kb: KnowledgeBase) -> None:
    """Scores do not depend on Python's per-process string hashing (set order), typos included."""
    questions = [a for e in list(kb.entries.values())[::3] for a in e.alternates[:4]]
    questions += [
        "请问公积金缓缴到么时候，急",
        "社保缓缴最长多久，到年底行不行，急",
        "社宝能缓交吗",
        "yanchi fugong 要审批吗",
    ]
    stdin = "".join(json.dumps({"q": q}, ensure_ascii=False) + "\n" for q in questions)
    outputs = {run(["match"], tmp_path, stdin=stdin, PYTHONHASHSEED=seed).stdout for seed in ("1", "2", "3")}
    assert len(outputs) == 1 and len(outputs.pop().splitlines()) == len(questions)


def test_faq_check_passes_on_the_repo_and_fails_on_a_broken_faq(tmp_path: Path) -> None:
    ok = run(["faq", "check"], tmp_path)
    assert ok.returncode == 0 and "FAQ 检查通过" in ok.stdout, ok.stdout + ok.stderr
    broken = tmp_path / "faq"
    broken.mkdir()
    (broken / "x.yaml").write_text("- id: x.one\n  category: 税费\n  question: 问？\n  answer: ''\n", encoding="utf-8")
    bad = run(["faq", "check"], tmp_path, FAQ_DIR=str(broken))
    assert bad.returncode == 1
    assert "x.yaml: 条目 x.one: 字段 answer: 缺少或为空" in bad.stderr


def test_console_chat_works_piped_and_ends_at_end_of_input(tmp_path: Path) -> None:
    out = run([], tmp_path, stdin="上街区\n企业水价降了多少\n转人工\n")
    assert out.returncode == 0, out.stderr
    assert "复工复产政策咨询助手" in out.stdout and "4.1" in out.stdout and "工单号：FG" in out.stdout
    missing = WorkCalendar().uncovered_years(dt.datetime.now(TZ).date())
    assert ("放假调休安排" in out.stderr) is bool(missing), "a year in sight without holiday data is warned at start"


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    out = run(["match"], tmp_path, stdin="", MATCH_MARGIN="abc")
    assert out.returncode != 0 and "MATCH_MARGIN" in out.stderr and "Traceback" not in out.stderr
