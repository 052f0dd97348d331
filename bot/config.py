"""Settings, read once from the environment (and an optional `.env`) in `cli.main()`.

Every field documents its variable; the README's configuration table lists the same names.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.clock import TZ

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    # DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test — SQLAlchemy URL; default: SQLite file in the working dir.
    database_url: str = "sqlite:///fugong-bot.db"
    # FAQ_DIR=/srv/faq — the knowledge base folder.
    faq_dir: Path = ROOT / "faq"
    # BOT_TODAY=2020-03-21 — the date the bot judges policy validity by; default: today in Asia/Shanghai.
    today: dt.date | None = None
    # MATCH_ANSWER_SCORE=46 — lowest score (0–100) that may be answered directly.
    answer_score: float = 46.0
    # MATCH_MARGIN=7 — how far the best entry must lead the runner-up to be answered directly.
    margin: float = 7.0
    # MATCH_SUGGEST_SCORE=30 — lowest score offered as a suggestion; below it the question is escalated.
    suggest_score: float = 30.0
    # MATCH_SEMANTIC=off — turn the sentence-embedding model off (lexical matching only); default on.
    semantic: bool = True
    # EMBED_CACHE_DIR=/var/cache/fugong-bot — where FAQ phrasing vectors are cached; default ~/.cache/fugong-bot.
    embed_cache_dir: Path | None = None
    # TICKET_PREFIX=FG — prefix of ticket numbers such as FG20200321-0007.
    ticket_prefix: str = "FG"
    # LOG_LEVEL=INFO
    log_level: str = "WARNING"
    # BOT_WORKERS=4 — serving processes on this machine, all on one PostgreSQL (a supervisor restarts any that
    # dies); the SQLite default stays one process. Typically one per free core.
    workers: int = 1
    # STAFF_USER_IDS=12345,telegram:67890,张三 — who may use staff operations (bare ids or channel:id); when empty,
    # only the CLI desk (local database access) is staff.
    staff_user_ids: frozenset[str] = frozenset()
    # TICKET_SLA_DAYS=常规=1,一般=3,专业=5 — per-tier time limit in Chinese working days (fractions allowed).
    ticket_sla_days: Mapping[str, float] = field(default_factory=lambda: {"常规": 1.0, "一般": 3.0, "专业": 5.0})
    # TICKET_WORK_HOURS=09:00-17:00 — office hours in Asia/Shanghai; a working day is this span on a workday.
    ticket_work_hours: str = "09:00-17:00"
    # WORK_CALENDAR_FILE=/srv/fugong/workdays-2027.yaml — a year's 放假 and 调休上班 days (YAML, see
    # bot/desk/workdays.py) for years `chinesecalendar` does not cover yet; default: none.
    work_calendar_file: Path | None = None
    # TICKET_REMIND_HOURS=4 — 催办 lists active tickets due within this many hours.
    ticket_remind_hours: float = 4.0
    # FLOOD_PER_MINUTE=20 — messages one user may send per minute on any channel, counted in the database so the
    # limit holds across workers and restarts; 0 = no limit. TELEGRAM_FLOOD_PER_MINUTE is read as an older name.
    flood_per_minute: int = 20
    # Channel settings, used when present (see README).
    # TELEGRAM_BOT_TOKEN=123456:ABC… — from @BotFather; turns the Telegram channel on (see docs/telegram.md).
    telegram_token: str | None = None
    # TELEGRAM_API_BASE_URL=http://127.0.0.1:8081 — Bot API server root (self-hosted or a test fake).
    telegram_api_base_url: str = "https://api.telegram.org"
    # TELEGRAM_STAFF_CHAT_ID=-1001234567890 — the staff group: ticket cards, 督办, weekly report; members are staff.
    telegram_staff_chat_id: int | None = None
    # TELEGRAM_STAFF_USER_IDS=111,222 — Telegram user ids allowed to use staff commands anywhere.
    telegram_staff_user_ids: frozenset[str] = frozenset()
    # TELEGRAM_WEBHOOK_URL=https://bot.example.gov.cn/tg — webhook mode (default: long polling).
    telegram_webhook_url: str | None = None
    # TELEGRAM_WEBHOOK_LISTEN=0.0.0.0 / TELEGRAM_WEBHOOK_PORT=8443 — where the webhook server listens (behind a proxy).
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443
    # TELEGRAM_WEBHOOK_SECRET=… — secret_token Telegram echoes in each webhook call; default: derived from the token.
    telegram_webhook_secret: str | None = None
    # TELEGRAM_CARD_INTERVAL=5 — seconds between checks for new tickets to post as staff-group cards.
    telegram_card_interval: float = 5.0
    # TELEGRAM_OVERDUE_INTERVAL=1800 — seconds between checks for overdue tickets (督办) in the staff group.
    telegram_overdue_interval: float = 1800.0
    # TELEGRAM_THREADS=1 — threads answering Telegram messages; 0 = 1 on SQLite (one writer anyway), 4 on PostgreSQL.
    telegram_threads: int = 0
    # WECHAT_TOKEN=… — the Token set in the Official Account's server config; turns the WeChat endpoint on.
    wechat_token: str | None = None
    # WECHAT_AES_KEY=… — the 43-character EncodingAESKey; needed for safe (encrypted) and compatible mode.
    wechat_aes_key: str | None = None
    # WECHAT_APP_ID=wx1234567890abcdef — the AppID (decryption check and access token).
    wechat_app_id: str | None = None
    # WECHAT_APP_SECRET=… — the AppSecret; without it answers can only be passive replies (no staff answers).
    wechat_app_secret: str | None = None
    # WECHAT_HOST=0.0.0.0 / WECHAT_PORT=8080 / WECHAT_PATH=/wechat — where the endpoint listens.
    wechat_host: str = "127.0.0.1"
    wechat_port: int = 8080
    wechat_path: str = "/wechat"
    # WECHAT_API_BASE_URL=https://api.weixin.qq.com — the API server (tests point it at a local fake).
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    # WECHAT_THREADS=4 — threads answering WeChat messages; 0 = 1 on SQLite (one writer anyway), 4 on PostgreSQL.
    wechat_threads: int = 0

    def bot_today(self) -> dt.date:
        return self.today or dt.datetime.now(TZ).date()

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
        defaults = cls()

        def num(name: str, default: float) -> float:
            raw = env.get(name)
            if raw in (None, ""):
                return default
            try:
                return float(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r}: expected a number") from None

        today = None
        if env.get("BOT_TODAY"):
            try:
                today = dt.date.fromisoformat(env["BOT_TODAY"])
            except ValueError:
                raise ConfigError(f"BOT_TODAY={env['BOT_TODAY']!r}: expected YYYY-MM-DD") from None
        return cls(
            database_url=env.get("DATABASE_URL") or defaults.database_url,
            faq_dir=Path(env["FAQ_DIR"]) if env.get("FAQ_DIR") else defaults.faq_dir,
            today=today,
            answer_score=num("MATCH_ANSWER_SCORE", defaults.answer_score),
            margin=num("MATCH_MARGIN", defaults.margin),
            suggest_score=num("MATCH_SUGGEST_SCORE", defaults.suggest_score),
            semantic=_switch("MATCH_SEMANTIC", env.get("MATCH_SEMANTIC") or "on"),
            embed_cache_dir=Path(env["EMBED_CACHE_DIR"]) if env.get("EMBED_CACHE_DIR") else None,
            ticket_prefix=env.get("TICKET_PREFIX") or defaults.ticket_prefix,
            log_level=(env.get("LOG_LEVEL") or defaults.log_level).upper(),
            workers=_workers(env.get("BOT_WORKERS") or ""),
            staff_user_ids=frozenset(x.strip() for x in (env.get("STAFF_USER_IDS") or "").split(",") if x.strip()),
            ticket_sla_days=_ticket_sla(env.get("TICKET_SLA_DAYS") or ""),
            ticket_work_hours=_work_hours(env.get("TICKET_WORK_HOURS") or defaults.ticket_work_hours),
            work_calendar_file=_calendar_file(env.get("WORK_CALENDAR_FILE") or None),
            ticket_remind_hours=num("TICKET_REMIND_HOURS", defaults.ticket_remind_hours),
            flood_per_minute=int(num("FLOOD_PER_MINUTE", num("TELEGRAM_FLOOD_PER_MINUTE", defaults.flood_per_minute))),
            telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_base_url=(env.get("TELEGRAM_API_BASE_URL") or defaults.telegram_api_base_url).rstrip("/"),
            telegram_staff_chat_id=_chat_id(env.get("TELEGRAM_STAFF_CHAT_ID") or None),
            telegram_staff_user_ids=frozenset(
                x.strip() for x in (env.get("TELEGRAM_STAFF_USER_IDS") or "").split(",") if x.strip()
            ),
            telegram_webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or None,
            telegram_webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN") or defaults.telegram_webhook_listen,
            telegram_webhook_port=int(num("TELEGRAM_WEBHOOK_PORT", defaults.telegram_webhook_port)),
            telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
            telegram_card_interval=num("TELEGRAM_CARD_INTERVAL", defaults.telegram_card_interval),
            telegram_overdue_interval=num("TELEGRAM_OVERDUE_INTERVAL", defaults.telegram_overdue_interval),
            telegram_threads=int(num("TELEGRAM_THREADS", defaults.telegram_threads)),
            wechat_token=env.get("WECHAT_TOKEN") or None,
            wechat_aes_key=_aes_key(env.get("WECHAT_AES_KEY") or None),
            wechat_app_id=env.get("WECHAT_APP_ID") or None,
            wechat_app_secret=env.get("WECHAT_APP_SECRET") or None,
            wechat_host=env.get("WECHAT_HOST") or defaults.wechat_host,
            wechat_port=int(num("WECHAT_PORT", defaults.wechat_port)),
            wechat_path="/" + (env.get("WECHAT_PATH") or defaults.wechat_path).lstrip("/"),
            wechat_api_base_url=env.get("WECHAT_API_BASE_URL") or defaults.wechat_api_base_url,
            wechat_threads=int(num("WECHAT_THREADS", defaults.wechat_threads)),
        )


def _switch(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("on", "1", "true", "yes"):
        return True
    if value in ("off", "0", "false", "no"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected on or off")


MAX_WORKERS = 64


def _workers(raw: str) -> int:
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


def _chat_id(raw: str | None) -> int | None:
    """A Telegram chat id: an integer, negative for groups (-100… for supergroups)."""
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"TELEGRAM_STAFF_CHAT_ID={raw!r}: expected a numeric chat id, e.g. -1001234567890") from None


def _aes_key(raw: str | None) -> str | None:
    """WeChat's EncodingAESKey is 43 base64 characters (32 bytes once "=" is appended)."""
    if raw is None:
        return None
    import base64
    import binascii

    try:
        ok = len(raw) == 43 and len(base64.b64decode(raw + "=", validate=True)) == 32
    except binascii.Error:
        ok = False
    if not ok:
        raise ConfigError("WECHAT_AES_KEY: expected the 43-character EncodingAESKey from the WeChat admin page")
    return raw


def _ticket_sla(raw: str) -> dict[str, float]:
    from bot.desk.policy import parse_sla

    try:
        return parse_sla(raw)
    except ValueError as exc:
        raise ConfigError(f"TICKET_SLA_DAYS: {exc}") from None


def _calendar_file(raw: str | None) -> Path | None:
    """The staff's holiday file, checked now so a typo stops the start instead of skewing due times."""
    if raw is None:
        return None
    from bot.desk.workdays import CalendarError, load_calendar

    try:
        load_calendar(Path(raw))
    except CalendarError as exc:
        raise ConfigError(f"WORK_CALENDAR_FILE: {exc}") from None
    return Path(raw)


def _work_hours(raw: str) -> str:
    from bot.desk.policy import parse_hours

    try:
        parse_hours(raw)
    except ValueError as exc:
        raise ConfigError(f"TICKET_WORK_HOURS: {exc}") from None
    return raw
