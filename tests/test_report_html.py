"""The HTML report in a real browser: headless Chromium renders it offline, charts visible, no script errors.

Chromium is required (CI installs it: `apt-get update && apt-get install -y chromium`); without it these tests
fail with that instruction rather than pass silently.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.config import TZ
from bot.dialog.core import Assistant
from bot.reports import IsoWeek, build_report, render
from bot.store import SqlStore
from bot.store.reports import ReportStore
from tests.conftest import BOT_TODAY, Clock
from tests.report_week import PERSONAL, WEEK, write_week

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--enable-logging=stderr", "--v=0")  # fmt: skip
CONSOLE_ERROR = re.compile(r'CONSOLE.*"(Uncaught|.*Error)|Failed to load resource|net::ERR_', re.IGNORECASE)


@dataclass
class Page:
    dom: str
    log: str
    screenshot: Path

    @property
    def errors(self) -> list[str]:
        return [line for line in self.log.splitlines() if CONSOLE_ERROR.search(line)]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("Chromium is not installed: run `apt-get update && apt-get install -y chromium`")


def open_page(html: Path, tmp_path: Path) -> Page:
    """Load `html` in a fresh headless profile: DOM after load, console log, and a screenshot."""
    browser = chromium()
    base = [browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile-dom'}"]
    dom = subprocess.run([*base, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120)
    shot = tmp_path / "report.png"
    pic = subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile-shot'}", "--window-size=1100,2400",
         f"--screenshot={shot}", html.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert dom.returncode == 0 and pic.returncode == 0, dom.stderr[-2000:] + pic.stderr[-2000:]
    return Page(dom.stdout, dom.stderr + pic.stderr, shot)


def test_console_errors_are_detected(tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>undefinedFunction();</script></body></html>", encoding="utf-8")
    assert open_page(broken, tmp_path).errors, "a page with a script error must be caught"


def test_report_renders_in_chromium_with_charts_and_no_errors(
    assistant: Assistant, clock: Clock, store: SqlStore, kb: KnowledgeBase, matcher: Matcher, tmp_path: Path
) -> None:
    write_week(assistant, clock, store)
    now = dt.datetime(2020, 3, 23, 9, 0, tzinfo=TZ)
    report = build_report(ReportStore(store.engine), kb, matcher, IsoWeek.parse(WEEK), BOT_TODAY, now)
    html = tmp_path / "report.html"
    html.write_bytes(render(report, "html").data)
    page = open_page(html, tmp_path)
    assert page.errors == []
    assert page.dom.count("<svg") == 3, "volume by day, answered/escalated share, top gaps"
    assert len(re.findall(r"<rect ", page.dom)) > 10
    assert "复工复产政策咨询周报 2020-W12" in page.dom and "叉车操作证到期了去哪里换证" in page.dom
    assert not any(secret in page.dom for secret in PERSONAL)
    assert not re.search(r"<script|<link|src=\"http|href=\"http", page.dom), "self-contained, no external files"
    assert page.screenshot.stat().st_size > 20_000


def test_empty_report_renders_too(store: SqlStore, kb: KnowledgeBase, matcher: Matcher, tmp_path: Path) -> None:
    report = build_report(ReportStore(store.engine), kb, matcher, IsoWeek.parse("2020-W20"), BOT_TODAY)
    html = tmp_path / "empty.html"
    html.write_bytes(render(report, "html").data)
    page = open_page(html, tmp_path)
    assert page.errors == [] and page.dom.count("<svg") == 3 and "本周没有缺口问题" in page.dom
