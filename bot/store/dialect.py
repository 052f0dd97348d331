"""The one place that picks a dialect's INSERT: SQLite and PostgreSQL spell `ON CONFLICT` the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite


def insert(table: sa.Table, dialect: str) -> sqlite.Insert | postgresql.Insert:
    """`INSERT INTO table` with `on_conflict_do_nothing/do_update` for `dialect` ("sqlite" or "postgresql").

    PostgreSQL's dialect module is imported only here, when asked for: a SQLite bot never loads it (0.1 s).
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)
