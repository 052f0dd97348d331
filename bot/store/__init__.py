"""Storage: one small contract (`Store`), one SQLAlchemy implementation, migrations applied at start."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from bot.store.base import Exchange, NewTicket, Store, UserState
from bot.store.sql import SqlStore, make_engine

__all__ = ["Exchange", "NewTicket", "SqlStore", "Store", "UserState", "make_engine", "migrate", "open_store"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 0x46474F4E  # "FGON": one migrator at a time across PostgreSQL workers


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe when several workers start at once."""
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
