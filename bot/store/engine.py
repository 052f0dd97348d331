"""Engines: psycopg 3 for PostgreSQL; WAL, a busy timeout and BEGIN IMMEDIATE for SQLite."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


def make_engine(url: str) -> Engine:
    """An engine for `url`; plain postgresql:// URLs use psycopg 3, SQLite gets WAL and a busy timeout."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across process crashes, fsync only at checkpoints
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _immediate(conn: Connection) -> None:
            # Take the write lock at BEGIN so concurrent writers queue instead of failing on lock upgrade.
            # Reads (the READS option) need no BEGIN: each SELECT is its own snapshot of the last commit.
            if not conn.get_execution_options().get(READS):
                conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]

        return _sqlite_manual_begin(engine)
    engine = sa.create_engine(url, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


READS = "fugong_reads"  # execution option: this connection only reads (SQLite: no BEGIN, no write lock)
PING_IDLE_SECONDS = 30.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it sat idle a while (a server restart breaks those).

    Cheaper than `pool_pre_ping`, which costs a round trip on every checkout; a busy connection that breaks
    fails its statement and SQLAlchemy then invalidates the whole pool.
    """

    @sa.event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", time.monotonic()) < PING_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise sa.exc.DisconnectionError(f"stale pooled connection: {exc}") from exc  # the pool retries


def _sqlite_manual_begin(engine: Engine) -> Engine:
    """Let our BEGIN IMMEDIATE above replace pysqlite's implicit transactions."""

    @sa.event.listens_for(engine, "connect")
    def _autocommit(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    return engine
