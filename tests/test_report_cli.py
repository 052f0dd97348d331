"""`run_bot.py report` and `run_bot.py faq suggest` as staff run them, in a subprocess against a real database."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.config import ROOT
from bot.dialog.core import Assistant
from bot.store import SqlStore
from tests.conftest import Clock
from tests.report_week import PERSONAL, WEEK, write_week


def run(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "BOT_TODAY": "2020-03-23", "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, str(ROOT / "run_bot.py"), *args], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip


@pytest.fixture
def week_db(assistant: Assistant, clock: Clock, store: SqlStore, db_url: str) -> str:
    write_week(assistant, clock, store)
    return db_url


@pytest.mark.slow
def test_report_defaults_to_last_week_and_writes_every_format(week_db: str, tmp_path: Path) -> None:
    for fmt in ("md", "html", "csv"):
        done = run(week_db, "report", "--format", fmt, "--out", str(tmp_path))
        assert done.returncode == 0, done.stderr
        assert f"faq-report-{WEEK}.{fmt}" in done.stdout and "【咨询周报 2020-W12】" in done.stdout
    md = (tmp_path / f"faq-report-{WEEK}.md").read_text(encoding="utf-8")
    assert "### 1. " in md and "叉车" in md
    assert not any(secret in md for secret in PERSONAL)


@pytest.mark.slow
def test_report_to_stdout_and_bad_week(week_db: str) -> None:
    done = run(week_db, "report", "--week", "2020-W12", "--top", "1")
    assert done.returncode == 0 and done.stdout.startswith("# 复工复产政策咨询周报 2020-W12")
    assert "其余 3 组" in done.stdout
    bad = run(week_db, "report", "--week", "下周")
    assert bad.returncode == 2 and "ISO 周格式" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_suggest_turns_accepted_clusters_into_yaml_stubs(week_db: str, tmp_path: Path) -> None:
    done = run(week_db, "faq", "suggest", "--week", WEEK, "--clusters", "1,4")
    assert done.returncode == 0, done.stderr
    stubs = yaml.safe_load(done.stdout)
    [new] = stubs["new_entries"]
    assert new["id"] == "draft.2020-w12-1" and "叉车" in new["question"] and new["sources"]
    assert not any(secret in done.stdout for secret in PERSONAL)
    [alt] = stubs["add_alternates"]
    assert alt["id"] == "utility.electricity" and "疫情期间电费能便宜点吗？" in alt["alternates"]
    missing = run(week_db, "faq", "suggest", "--week", WEEK, "--clusters", "9")
    assert missing.returncode == 2 and "没有编号为 9 的组" in missing.stderr


@pytest.mark.slow
def test_suggest_reads_the_accepted_column_of_the_csv(week_db: str, tmp_path: Path) -> None:
    assert run(week_db, "report", "--format", "csv", "--out", str(tmp_path)).returncode == 0
    path = tmp_path / f"faq-report-{WEEK}.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    rows[1]["采纳"] = "是"
    rows[1]["草拟问题"] = "公章丢失后怎样补刻？"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8-sig")
    out = tmp_path / "drafts" / "stubs.yaml"
    done = run(week_db, "faq", "suggest", "--csv", str(path), "--out", str(out))
    assert done.returncode == 0, done.stderr
    [new] = yaml.safe_load(out.read_text(encoding="utf-8"))["new_entries"]
    assert new["question"] == "公章丢失后怎样补刻？" and new["answer"].startswith("公章遗失需先登报声明")
    again = run(week_db, "faq", "suggest", "--csv", str(path), "--out", str(out))
    assert again.returncode == 2 and "已存在" in again.stderr


@pytest.mark.slow
def test_suggest_never_writes_into_faq(week_db: str) -> None:
    target = ROOT / "faq" / "drafts.yaml"
    done = run(week_db, "faq", "suggest", "--week", WEEK, "--clusters", "1", "--out", str(target))
    assert done.returncode == 2 and "不会写入 FAQ 目录" in done.stderr
    assert not target.exists()
