"""Settings, read once from the environment (and an optional `.env`) when `bot.app.App` is built.

Each setting is declared once, as a field of `Settings`: its name, its variable, its default and how the variable
is read. The README's configuration table lists the same variables; channel configs are slices of these fields
(`section`), not copies.
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TypeVar

from bot.clock import TZ

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
C = TypeVar("C")
Parse = Callable[[str, str], T]  # (variable name, its non-empty value) → the setting; ConfigError names the variable


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


def setting(env: str, default: T, parse: Parse[T], *older: str) -> T:
    """A field read from `env` (or an `older` name of it); unset or empty keeps `default`."""
    return field(default=default, metadata={"env": (env, *older), "parse": parse})


def setting_made(env: str, factory: Callable[[], T], parse: Parse[T]) -> T:
    """A field like `setting` whose default is mutable, so each `Settings` gets its own from `factory`."""
    return field(default_factory=factory, metadata={"env": (env,), "parse": parse})


def text(_name: str, raw: str) -> str:
    return raw


def number(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number") from None


def whole(name: str, raw: str) -> int:
    return int(number(name, raw))


def path(_name: str, raw: str) -> Path:
    return Path(raw)


def ids(_name: str, raw: str) -> frozenset[str]:
    """`12345,telegram:67890,张三` → the set of ids."""
    return frozenset(x.strip() for x in raw.split(",") if x.strip())


def day(name: str, raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected YYYY-MM-DD") from None


def _switch(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("on", "1", "true", "yes"):
        return True
    if value in ("off", "0", "false", "no"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected on or off")


MAX_WORKERS = 64


def _workers(_name: str, raw: str) -> int:
    """BOT_WORKERS: a whole number of processes, 1 when unset."""
    if not raw.strip():
        return 1
    try:
        n = int(raw.strip())
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_WORKERS:
        raise ConfigError(f"BOT_WORKERS={raw!r}: expected a whole number from 1 to {MAX_WORKERS}")
    return n


def _chat_id(_name: str, raw: str) -> int:
    """A Telegram chat id: an integer, negative for groups (-100… for supergroups)."""
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"TELEGRAM_STAFF_CHAT_ID={raw!r}: expected a numeric chat id, e.g. -1001234567890") from None


def _aes_key(_name: str, raw: str) -> str:
    """WeChat's EncodingAESKey is 43 base64 characters (32 bytes once "=" is appended)."""
    import base64
    import binascii

    try:
        ok = len(raw) == 43 and len(base64.b64decode(raw + "=", validate=True)) == 32
    except binascii.Error:
        ok = False
    if not ok:
        raise ConfigError("WECHAT_AES_KEY: expected the 43-character EncodingAESKey from the WeChat admin page")
    return raw


def _ticket_sla(_name: str, raw: str) -> Mapping[str, float]:
    from bot.desk.policy import parse_sla

    try:
        return parse_sla(raw)
    except ValueError as exc:
        raise ConfigError(f"TICKET_SLA_DAYS: {exc}") from None


def _calendar_file(_name: str, raw: str) -> Path:
    """The staff's holiday file, checked now so a typo stops the start instead of skewing due times."""
    from bot.desk.workdays import CalendarError, load_calendar

    try:
        load_calendar(Path(raw))
    except CalendarError as exc:
        raise ConfigError(f"WORK_CALENDAR_FILE: {exc}") from None
    return Path(raw)


def _work_hours(_name: str, raw: str) -> str:
    from bot.desk.policy import parse_hours

    try:
        parse_hours(raw)
    except ValueError as exc:
        raise ConfigError(f"TICKET_WORK_HOURS: {exc}") from None
    return raw


@dataclass(frozen=True)
class Settings:
    """Every setting: `setting(variable, default, reader)` returns the dataclass Field that declares it."""

    # postgresql://postgres@127.0.0.1:5432/test — SQLAlchemy URL; default: SQLite file in the working dir.
    database_url: str = setting("DATABASE_URL", "sqlite:///fugong-bot.db", text)
    # /srv/faq — the knowledge base folder.
    faq_dir: Path = setting("FAQ_DIR", ROOT / "faq", path)  # noqa: RUF009
    # 2020-03-21 — the date the bot judges policy validity by; default: today in Asia/Shanghai.
    today: dt.date | None = setting("BOT_TODAY", None, day)  # noqa: RUF009
    # 46 — lowest score (0–100) that may be answered directly.
    answer_score: float = setting("MATCH_ANSWER_SCORE", 46.0, number)
    # 7 — how far the best entry must lead the runner-up to be answered directly.
    margin: float = setting("MATCH_MARGIN", 7.0, number)
    # 30 — lowest score offered as a suggestion; below it the question is escalated.
    suggest_score: float = setting("MATCH_SUGGEST_SCORE", 30.0, number)
    # off — turn the sentence-embedding model off (lexical matching only); default on.
    semantic: bool = setting("MATCH_SEMANTIC", True, _switch)
    # /var/cache/fugong-bot — where FAQ phrasing vectors are cached; default ~/.cache/fugong-bot.
    embed_cache_dir: Path | None = setting("EMBED_CACHE_DIR", None, path)  # noqa: RUF009
    # FG — prefix of ticket numbers such as FG20200321-0007.
    ticket_prefix: str = setting("TICKET_PREFIX", "FG", text)
    # INFO
    log_level: str = setting("LOG_LEVEL", "WARNING", lambda _name, raw: raw.upper())
    # 4 — serving processes on this machine, all on one PostgreSQL (a supervisor restarts any that dies); the SQLite
    # default stays one process. Typically one per free core.
    workers: int = setting("BOT_WORKERS", 1, _workers)
    # 12345,telegram:67890,张三 — who may use staff operations (bare ids or channel:id); when empty, only the CLI
    # desk (local database access) is staff.
    staff_user_ids: frozenset[str] = setting("STAFF_USER_IDS", frozenset(), ids)
    # 常规=1,一般=3,专业=5 — per-tier time limit in Chinese working days (fractions allowed).
    ticket_sla_days: Mapping[str, float] = setting_made(
        "TICKET_SLA_DAYS", lambda: {"常规": 1.0, "一般": 3.0, "专业": 5.0}, _ticket_sla
    )
    # 09:00-17:00 — office hours in Asia/Shanghai; a working day is this span on a workday.
    ticket_work_hours: str = setting("TICKET_WORK_HOURS", "09:00-17:00", _work_hours)
    # /srv/fugong/workdays-2027.yaml — a year's 放假 and 调休上班 days (YAML, see bot/desk/workdays.py) for years
    # `chinesecalendar` does not cover yet; default: none.
    work_calendar_file: Path | None = setting("WORK_CALENDAR_FILE", None, _calendar_file)  # noqa: RUF009
    # 4 — 催办 lists active tickets due within this many hours.
    ticket_remind_hours: float = setting("TICKET_REMIND_HOURS", 4.0, number)
    # 20 — messages one user may send per minute on any channel, counted in the database so the limit holds across
    # workers and restarts; 0 = no limit. TELEGRAM_FLOOD_PER_MINUTE is read as an older name.
    flood_per_minute: int = setting("FLOOD_PER_MINUTE", 20, whole, "TELEGRAM_FLOOD_PER_MINUTE")
    # Channel settings, used when present (see README); `section("telegram_", …)` and `section("wechat_", …)` slice
    # them for the channels' configs.
    # 123456:ABC… — from @BotFather; turns the Telegram channel on (see docs/telegram.md).
    telegram_token: str | None = setting("TELEGRAM_BOT_TOKEN", None, text)
    # http://127.0.0.1:8081 — Bot API server root (self-hosted or a test fake).
    telegram_api_base_url: str = setting(
        "TELEGRAM_API_BASE_URL", "https://api.telegram.org", lambda _name, raw: raw.rstrip("/")
    )
    # -1001234567890 — the staff group: ticket cards, 督办, weekly report; members are staff.
    telegram_staff_chat_id: int | None = setting("TELEGRAM_STAFF_CHAT_ID", None, _chat_id)
    # 111,222 — Telegram user ids allowed to use staff commands anywhere.
    telegram_staff_user_ids: frozenset[str] = setting("TELEGRAM_STAFF_USER_IDS", frozenset(), ids)
    # https://bot.example.gov.cn/tg — webhook mode (default: long polling).
    telegram_webhook_url: str | None = setting("TELEGRAM_WEBHOOK_URL", None, text)
    # 0.0.0.0 / 8443 — where the webhook server listens (behind a proxy).
    telegram_webhook_listen: str = setting("TELEGRAM_WEBHOOK_LISTEN", "127.0.0.1", text)
    telegram_webhook_port: int = setting("TELEGRAM_WEBHOOK_PORT", 8443, whole)
    # … — secret_token Telegram echoes in each webhook call; default: derived from the token.
    telegram_webhook_secret: str | None = setting("TELEGRAM_WEBHOOK_SECRET", None, text)
    # 5 — seconds between checks for new tickets to post as staff-group cards.
    telegram_card_interval: float = setting("TELEGRAM_CARD_INTERVAL", 5.0, number)
    # 1800 — seconds between checks for overdue tickets (督办) in the staff group.
    telegram_overdue_interval: float = setting("TELEGRAM_OVERDUE_INTERVAL", 1800.0, number)
    # 1 — threads answering Telegram messages; 0 = 1 on SQLite (one writer anyway), 4 on PostgreSQL.
    telegram_threads: int = setting("TELEGRAM_THREADS", 0, whole)
    # … — the Token set in the Official Account's server config; turns the WeChat endpoint on.
    wechat_token: str | None = setting("WECHAT_TOKEN", None, text)
    # … — the 43-character EncodingAESKey; needed for safe (encrypted) and compatible mode.
    wechat_aes_key: str | None = setting("WECHAT_AES_KEY", None, _aes_key)
    # wx1234567890abcdef — the AppID (decryption check and access token).
    wechat_app_id: str | None = setting("WECHAT_APP_ID", None, text)
    # … — the AppSecret; without it answers can only be passive replies (no staff answers).
    wechat_app_secret: str | None = setting("WECHAT_APP_SECRET", None, text)
    # 0.0.0.0 / 8080 / /wechat — where the endpoint listens.
    wechat_host: str = setting("WECHAT_HOST", "127.0.0.1", text)
    wechat_port: int = setting("WECHAT_PORT", 8080, whole)
    wechat_path: str = setting("WECHAT_PATH", "/wechat", lambda _name, raw: "/" + raw.lstrip("/"))
    # https://api.weixin.qq.com — the API server (tests point it at a local fake).
    wechat_api_base_url: str = setting("WECHAT_API_BASE_URL", "https://api.weixin.qq.com", text)
    # 4 — threads answering WeChat messages; 0 = 1 on SQLite (one writer anyway), 4 on PostgreSQL.
    wechat_threads: int = setting("WECHAT_THREADS", 0, whole)

    def bot_today(self) -> dt.date:
        return self.today or dt.datetime.now(TZ).date()

    def section(self, prefix: str, make: Callable[..., C]) -> C:
        """`make` (a channel's config class) from the settings named `prefix` + one of its parameters.

        `section("wechat_", WeChatConfig)` passes wechat_port as port and so on; parameters without such a setting
        keep their defaults. The channel's config is a slice of the settings, never a field-by-field copy.
        """
        wanted = inspect.signature(make).parameters
        values = {f.name[len(prefix) :]: getattr(self, f.name) for f in fields(self) if f.name.startswith(prefix)}
        return make(**{name: value for name, value in values.items() if name in wanted})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv: Path | None = None) -> Settings:
        """Build settings from `env` (default: os.environ, after loading `.env` if one exists)."""
        if env is None:
            if dotenv is None:
                dotenv = Path.cwd() / ".env"
            if dotenv.is_file():
                from dotenv import load_dotenv

                load_dotenv(dotenv, override=False)
            env = os.environ
        values = {}
        for f in fields(cls):
            for name in f.metadata["env"]:
                if raw := env.get(name):
                    values[f.name] = f.metadata["parse"](name, raw)
                    break
        return replace(cls(), **values)
