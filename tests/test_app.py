"""The composition root: settings declared once, channel configs sliced from them, objects built only when asked."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from bot.app import App
from bot.channels.telegram import TelegramConfig
from bot.channels.wechat import WeChatConfig
from bot.config import ROOT, Settings


def test_every_setting_names_its_variable_once_and_the_readme_lists_it() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [name for f in dataclasses.fields(Settings) for name in f.metadata["env"]]
    assert len(names) == len(set(names)), "a variable read by two settings"
    assert [n for n in names if f"`{n}`" not in readme and n != "TELEGRAM_FLOOD_PER_MINUTE"] == []


def test_from_env_reads_each_field_from_its_variable() -> None:
    env = {"WECHAT_PORT": "81", "WECHAT_PATH": "hook", "TELEGRAM_API_BASE_URL": "http://fake/", "LOG_LEVEL": "info"}
    s = Settings.from_env({**env, "TELEGRAM_FLOOD_PER_MINUTE": "6", "MATCH_MARGIN": ""})
    assert (s.wechat_port, s.wechat_path, s.telegram_api_base_url, s.log_level) == (81, "/hook", "http://fake", "INFO")
    assert s.flood_per_minute == 6, "the older name is still read"
    assert s.margin == Settings().margin, "an empty variable keeps the default"
    assert Settings.from_env({}) == Settings()


def test_channel_configs_are_slices_of_the_settings() -> None:
    s = Settings.from_env({"WECHAT_TOKEN": "t", "WECHAT_PORT": "81", "TELEGRAM_BOT_TOKEN": "1:a"})
    wechat = s.section("wechat_", WeChatConfig)
    assert (wechat.token, wechat.port, wechat.path, wechat.reply_deadline) == ("t", 81, "/wechat", 4.5)
    telegram = s.section("telegram_", TelegramConfig)
    assert (telegram.token, telegram.webhook_port, telegram.poll_timeout) == ("1:a", 8443, 30)


def test_no_channel_configured_serves_nothing_and_opens_no_database(tmp_path: Path) -> None:
    app = App(Settings(database_url=f"sqlite:///{tmp_path / 'bot.db'}"))
    serving = app.serving()
    assert (serving.tasks, serving.senders) == ([], {})
    assert "store" not in vars(app) and not (tmp_path / "bot.db").exists()


def test_match_never_imports_the_database_layer(tmp_path: Path) -> None:
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('sqlalchemy' in sys.modules, file=sys.stderr))\n"
        "from bot.cli.main import main\n"
        "main(['match'])\n"
    )
    env = {"PYTHONPATH": str(ROOT), "MATCH_SEMANTIC": "off", "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        input='{"q": "社保能缓缴吗"}\n',
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert '"id": "si.deferral"' in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "False"
