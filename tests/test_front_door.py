"""The front door (issue 13): the README's commands run as written, and `… | head` ends quietly."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.config import ROOT
from bot.desk.staff import Staff, StaffService
from bot.store import open_store
from bot.store.queue import TicketQueue

DOCS = [ROOT / "README.md", ROOT / "docs" / "telegram.md", ROOT / "docs" / "wechat.md", ROOT / "faq" / "README.md"]
# A Python command a reader would type: `python …`, `python3 …`, `.venv/bin/python …` (code spans and blocks).
COMMAND = re.compile(r"(?:^|[`\s(])((?:[^`\s(]*/)?python3?) (?:-m )?(\S+)", re.MULTILINE)


def commands(path: Path) -> list[tuple[str, str]]:
    """(interpreter, what it runs) for every Python command in a document."""
    return [(m.group(1), m.group(2)) for m in COMMAND.finditer(path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_documented_command_uses_the_projects_virtual_environment(doc: Path) -> None:
    found = commands(doc)
    assert found, f"{doc} documents no command"
    outside = [f"{py} {what}" for py, what in found if py != ".venv/bin/python" and what != "venv"]
    assert outside == [], f"{doc.name}: these fail with ModuleNotFoundError outside the venv"


def test_every_run_bot_subcommand_in_the_readme_exists(capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    invoked = set(re.findall(r"run_bot\.py ((?:faq |tickets )?[a-z]+)", text))
    assert {"ask", "match", "faq check", "tickets list", "tickets close", "report"} <= invoked
    for command in sorted(invoked):
        with pytest.raises(SystemExit) as done:
            cli.main([*command.split(), "--help"])
        assert done.value.code == 0, command
    assert "usage: run_bot.py" in capsys.readouterr().out


@pytest.mark.slow
def test_a_listing_piped_into_head_ends_without_a_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    store = open_store(url)
    desk = StaffService(TicketQueue(store))
    for i in range(1200):  # well over a pipe's buffer of output
        desk.hotline(Staff("cli", "张三"), f"锅炉年检证书到期了要到哪个窗口办理换证手续（第{i}次来电）")
    store.engine.dispose()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run_bot.py"), "tickets", "list", "--limit", "5000"],
        env={**env, "DATABASE_URL": url, "PYTHONIOENCODING": "utf-8"},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline().decode()
    proc.stdout.close()  # what `head -1` does after its line
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141, err
    assert first.startswith("FG") and "Traceback" not in err and "BrokenPipe" not in err
