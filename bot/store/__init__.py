"""Storage: every SQL statement of the bot, behind one small Protocol per consumer (interfaces.py).

One SQLAlchemy Core implementation for SQLite and PostgreSQL; migrations applied at start.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import exc, text
from sqlalchemy.engine import Engine

from bot.store.base import Exchange, NewTicket, UserState
from bot.store.engine import make_engine
from bot.store.sql import SqlStore

__all__ = ["Exchange", "NewTicket", "SqlStore", "UserState", "make_engine", "migrate", "open_store"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 0x46474F4E  # "FGON": one migrator at a time across PostgreSQL workers


# `revision = "0007"` / `down_revision: str | None = '0006'`; a merge's tuple is not read, so it leaves two heads
# and `head_revision` returns None: Alembic then decides.
_REVISION_RE = re.compile(r"""^(down_revision|revision)\s*(?::[^=\n]*)?=\s*["']([^"'\n]+)["']""", re.MULTILINE)


def head_revision(versions: Path = MIGRATIONS / "versions") -> str | None:
    """The newest migration's id from the version files' own `revision =` lines (None if that is not one id).

    Read without Alembic, whose import alone is a tenth of a second of every start."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        for kind, value in _REVISION_RE.findall(path.read_text(encoding="utf-8")):
            (revisions if kind == "revision" else parents).add(value)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def stored_revision(engine: Engine) -> str | None:
    """The revision the database was last migrated to (None: a new database, or one Alembic never stamped)."""
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except exc.DBAPIError:  # no such table yet
            return None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe when several workers start at once.

    A database already at the newest revision is left alone after one query, without loading Alembic."""
    head = head_revision()
    if head is not None and stored_revision(engine) == head:
        return
    from alembic import command  # imported here: a second of start-up that only migrating needs
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({_LOCK_ID})")
            conn.commit()
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_LOCK_ID})")
                conn.commit()


def open_store(url: str, ticket_prefix: str = "FG") -> SqlStore:
    engine = make_engine(url)
    migrate(engine)
    return SqlStore(engine, ticket_prefix)
