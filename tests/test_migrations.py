"""The migrations build exactly the tables the code declares, on every backend, and can run twice."""

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.config import ROOT
from bot.store import MIGRATIONS, head_revision, make_engine, migrate, stored_revision
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


def test_the_cheap_head_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(cfg).get_current_head()


def test_a_database_behind_the_head_is_still_migrated(db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    engine = make_engine(db_url)
    try:
        migrate(engine)
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as conn:  # as a database left by the release before the newest migration
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "-1")
            conn.commit()
        behind = stored_revision(engine)
        assert behind is not None and behind != head_revision()
        assert set(inspect(engine).get_table_names()) != tables
        migrate(engine)
        assert stored_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) == tables
    finally:
        engine.dispose()


def test_a_current_database_starts_without_loading_alembic(tmp_path: Path) -> None:
    """The second start on a database finds it current with one query; Alembic's import is not paid."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    probe = "import sys; from bot.store import open_store; open_store(sys.argv[1]); print('alembic' in sys.modules)"
    runs = [
        subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, check=True, cwd=ROOT)
        for _ in range(2)
    ]
    assert [r.stdout.strip() for r in runs] == ["True", "False"]


def test_the_cheap_head_reads_generated_files_and_leaves_merges_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "0001"\ndown_revision = None\n', encoding="utf-8")
    (tmp_path / "b.py").write_text("revision: str = '0002'\ndown_revision: str | None = '0001'\n", encoding="utf-8")
    assert head_revision(tmp_path) == "0002"
    (tmp_path / "c.py").write_text('revision = "0003"\ndown_revision = "0001"\n', encoding="utf-8")
    assert head_revision(tmp_path) is None  # two heads: not for this shortcut to decide
    (tmp_path / "d.py").write_text('revision = "0004"\ndown_revision = ("0002", "0003")\n', encoding="utf-8")
    assert head_revision(tmp_path) is None
