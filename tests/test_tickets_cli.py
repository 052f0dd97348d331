"""The desk on the command line, and what survives killing the bot: real processes on both backends."""

from __future__ import annotations

import csv
import io
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import ROOT

pytestmark = pytest.mark.slow
NUMBER = re.compile(r"FG\d{8}-\d{4}")
QUESTION = "我们厂的锅炉年检证书到期了，要找哪个窗口"


def env(db_url: str, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {**keep, "DATABASE_URL": db_url, "BOT_TODAY": "2020-03-21", "PYTHONIOENCODING": "utf-8", **extra}


def bot(db_url: str, *args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), *args],
        env=env(db_url, **extra),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def desk(db_url: str, *args: str, cwd: Path, staff: str = "张三") -> subprocess.CompletedProcess[str]:
    return bot(db_url, "tickets", *args, "--staff", staff, cwd=cwd)


def escalate(db_url: str, cwd: Path, user: str = "u1") -> str:
    bot(db_url, "ask", QUESTION, "--user", user, cwd=cwd)
    found = NUMBER.search(bot(db_url, "ask", "转人工", "--user", user, cwd=cwd).stdout)
    assert found, "the user is told a ticket number"
    return found.group()


def test_desk_works_a_ticket_from_queue_to_answer(db_url: str, tmp_path: Path) -> None:
    number = escalate(db_url, tmp_path)
    listing = desk(db_url, "list", cwd=tmp_path)
    assert listing.returncode == 0 and f"{number}｜待认领｜一般｜区复工复产服务专班" in listing.stdout
    assert desk(db_url, "claim", number, cwd=tmp_path).stdout.strip() == f"工单 {number} 认领成功，当前状态：处理中"
    lost = desk(db_url, "claim", number, cwd=tmp_path, staff="李四")
    assert lost.returncode == 1 and "已由张三认领" in lost.stderr
    assert desk(db_url, "note", number, "已电话联系", cwd=tmp_path).returncode == 0
    answered = desk(db_url, "answer", number, "请到区市场监管局特种设备窗口补办。", "--candidate", cwd=tmp_path)
    assert "企业下次发消息时即可看到" in answered.stdout, "an `ask` user cannot be pushed to"
    shown = desk(db_url, "show", number, cwd=tmp_path).stdout
    assert "答复：请到区市场监管局特种设备窗口补办。" in shown and "等待企业评价，计时暂停" in shown
    assert [line.split("｜")[2] for line in shown.splitlines() if line.startswith("  ") and "｜" in line][-4:] == [
        "认领",
        "备注",
        "答复",
        "标记FAQ候选",
    ]
    assert f"您的工单 {number} 已答复：\n请到区市场监管局特种设备窗口补办。" in ask(db_url, "你好", "u1", tmp_path)
    assert "已办结" in ask(db_url, "满意", "u1", tmp_path)
    assert desk(db_url, "list", "--status", "已办结", cwd=tmp_path).stdout.startswith(number)


def ask(db_url: str, text: str, user: str, cwd: Path, *extra: str) -> str:
    done = bot(db_url, "ask", text, "--user", user, *extra, cwd=cwd)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    return done.stdout


def test_an_ask_user_gets_the_staff_answer_at_the_next_ask_and_rates_it_after(db_url: str, tmp_path: Path) -> None:
    """Issue 13's repro: the answer never reached `ask`, yet 满意 closed the ticket."""
    first = ask(db_url, "我们想申请复工复产专项资金奖励，中牟县有这个吗", "U", tmp_path, "--district", "中牟县")
    human = ask(db_url, "转人工", "U", tmp_path)
    number = NUMBER.search(first + human).group()  # type: ignore[union-attr]
    assert number in human and "请用一句话描述" not in human, "the question is with a colleague already"
    assert "本对话不能主动推送答复" in first + human and "直接发送到本对话" not in first + human
    desk(db_url, "claim", number, cwd=tmp_path)
    answered = desk(db_url, "answer", number, "中牟县专项资金请向县工信局申报。", cwd=tmp_path)
    assert answered.returncode == 0 and "企业下次发消息时即可看到" in answered.stdout
    early = ask(db_url, "满意", "U", tmp_path)
    assert f"您的工单 {number} 已答复：\n中牟县专项资金请向县工信局申报。" in early
    assert f"请先阅读上面工单 {number} 的答复" in early and "已办结" not in early
    assert f"{number}｜已答复" in desk(db_url, "list", "--all", cwd=tmp_path).stdout
    assert "已办结" in ask(db_url, "满意", "U", tmp_path)
    assert "县工信局" not in ask(db_url, "你好", "U", tmp_path), "delivered once"


def test_staff_record_a_hotline_callers_satisfaction(db_url: str, tmp_path: Path) -> None:
    created = desk(db_url, "new", "--question", "来电：复工需要哪些防疫材料", "--contact", "13800000000", "--claim",
                   cwd=tmp_path)  # fmt: skip
    number = NUMBER.search(created.stdout).group()  # type: ignore[union-attr]
    early = desk(db_url, "rate", number, "满意", cwd=tmp_path)
    assert early.returncode == 1 and "不能评价满意" in early.stderr
    desk(db_url, "answer", number, "已电话告知所需材料清单。", cwd=tmp_path)
    wrong = desk(db_url, "rate", number, "还行", cwd=tmp_path)
    assert wrong.returncode == 1 and "评价只能是：满意、基本满意、不满意" in wrong.stderr
    rated = desk(db_url, "rate", number, "基本满意", cwd=tmp_path)
    assert rated.stdout.strip() == f"工单 {number} 已登记评价“基本满意”，当前状态：已办结"
    shown = desk(db_url, "show", number, cwd=tmp_path).stdout
    assert "满意度：基本满意" in shown and "｜评价满意｜基本满意" in shown


def test_hotline_call_transfer_export_and_digest(db_url: str, tmp_path: Path) -> None:
    created = desk(
        db_url,
        "new",
        "--question",
        "来电：口罩生产企业原材料短缺",
        "--contact",
        "13800000000",
        "--district",
        "上街区",
        cwd=tmp_path,
    )
    number = NUMBER.search(created.stdout).group()  # type: ignore[union-attr]
    assert "上街区复工复产服务专班" in created.stdout
    moved = desk(db_url, "transfer", number, "区工信（科工信）部门", "--tier", "专业", cwd=tmp_path)
    assert moved.returncode == 0 and "已转办" in moved.stdout
    assert number in desk(db_url, "list", "--department", "工信", cwd=tmp_path).stdout
    out = tmp_path / "tickets.csv"
    assert desk(db_url, "export", "--out", str(out), cwd=tmp_path).returncode == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM so Excel reads the Chinese"
    (row,) = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    assert (row["工单号"], row["状态"], row["级别"], row["联系方式"]) == (number, "已转办", "专业", "138****0000")
    digest = desk(db_url, "digest", cwd=tmp_path).stdout
    assert digest.startswith("工单日报") and "新增 1 件" in digest and "区工信（科工信）部门：新增 1" in digest
    assert desk(db_url, "remind", cwd=tmp_path).returncode == 0
    assert desk(db_url, "supervise", cwd=tmp_path).stdout.startswith("督办（已超期）：0 件")


def test_refusals_are_polite_and_exit_non_zero(db_url: str, tmp_path: Path) -> None:
    unknown = desk(db_url, "show", "FG20200321-9999", cwd=tmp_path)
    assert unknown.returncode == 1 and "没有找到工单 FG20200321-9999" in unknown.stderr
    anonymous = bot(db_url, "tickets", "claim", "FG20200321-0001", cwd=tmp_path)
    assert anonymous.returncode == 2 and "--staff" in anonymous.stderr, "acting needs a name"
    reader = bot(db_url, "tickets", "list", cwd=tmp_path)
    assert reader.returncode == 0 and "共 0 件" in reader.stdout, "reading does not"
    outsider = bot(db_url, "tickets", "list", "--staff", "王五", cwd=tmp_path, STAFF_USER_IDS="张三")
    assert outsider.returncode == 1 and "不是已登记的工作人员" in outsider.stderr
    bad_status = desk(db_url, "list", "--status", "完成", cwd=tmp_path)
    assert bad_status.returncode == 1 and "没有“完成”这个状态" in bad_status.stderr
    assert "Traceback" not in unknown.stderr + anonymous.stderr + bad_status.stderr


# ---- restart --------------------------------------------------------------------------------------------


class Console:
    """`run_bot.py` chatting on a pipe, read with a deadline so a hang fails instead of blocking."""

    def __init__(self, db_url: str, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run_bot.py")],
            env=env(db_url),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.raw = b""

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def read_until(self, pattern: str, deadline: float = 90) -> str:
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        end = time.monotonic() + deadline
        while not re.search(pattern, self.raw.decode(errors="ignore")):
            if time.monotonic() > end or not sel.select(timeout=max(0.0, end - time.monotonic())):
                raise AssertionError(f"no {pattern!r} in console output:\n{self.raw.decode(errors='ignore')}")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"console ended before {pattern!r}:\n{self.raw.decode(errors='ignore')}")
            self.raw += chunk
        return self.raw.decode(errors="ignore")

    def stop(self, kill: bool = False) -> int:
        """SIGKILL (a crash) or end of input (a normal exit); the exit status."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if kill:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.stdin.close()
        code = self.proc.wait(timeout=60)
        self.proc.stdout.close()
        return code


def test_tickets_and_staff_answers_survive_killing_the_bot(db_url: str, tmp_path: Path) -> None:
    first = Console(db_url, tmp_path)
    first.read_until("请先选择您企业所在的区县")
    first.say(QUESTION)
    first.say("转人工")
    number = NUMBER.search(first.read_until(r"工单号：FG\d{8}-\d{4}")).group()  # type: ignore[union-attr]
    assert first.stop(kill=True) == -signal.SIGKILL

    assert f"{number}｜待认领" in desk(db_url, "list", cwd=tmp_path).stdout, "the unanswered question survived"
    desk(db_url, "claim", number, cwd=tmp_path)
    desk(db_url, "answer", number, "补办请到区市场监管局特种设备窗口。", cwd=tmp_path)

    second = Console(db_url, tmp_path)
    second.read_until("请先选择您企业所在的区县")
    second.say("查询工单")
    seen = second.read_until(f"{number}｜已答复")
    assert f"您的工单 {number} 已答复：\n补办请到区市场监管局特种设备窗口。" in seen
    second.say("满意")
    second.read_until("已办结")
    assert second.stop() == 0
    assert "满意" in desk(db_url, "show", number, cwd=tmp_path).stdout


def test_the_console_remembers_the_district_for_the_next_start(db_url: str, tmp_path: Path) -> None:
    first = Console(db_url, tmp_path)
    first.read_until("请先选择您企业所在的区县")
    first.say("2")
    first.read_until("已设置为上街区")
    assert first.stop() == 0
    second = Console(db_url, tmp_path)
    seen = second.read_until("欢迎回来")
    assert "按上街区的口径" in seen and "请先选择" not in seen
    assert second.stop() == 0
