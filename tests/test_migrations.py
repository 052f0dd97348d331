"""The migrations build exactly the tables the code declares, on every backend, and can run twice."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.store import make_engine, migrate
from bot.store.schema import metadata


def test_migrations_match_the_declared_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        migrate(engine)  # a second start finds nothing to do
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        engine.dispose()
