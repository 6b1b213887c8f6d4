"""The Alembic migrations build exactly the schema the tables declare, on SQLite and
PostgreSQL, from the ``alembic`` configuration developers use and from ``walkin``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import queue_server.store.tables  # noqa: F401  (registers the tables)
from queue_server.store import Store, normalise_url
from queue_server.store.migrate import MIGRATIONS

ALEMBIC_INI = MIGRATIONS.parent / "alembic.ini"


def developer_config(url: str) -> Config:
    """The ``alembic -c queue_server/store/alembic.ini`` configuration, aimed at ``url``."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def schema_differences(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, SQLModel.metadata))


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_there_is_one_head() -> None:
    # two engineers adding revisions in parallel make two heads; upgrade would fail
    script = ScriptDirectory.from_config(developer_config("sqlite://"))
    assert len(script.get_heads()) == 1
    assert script.get_base() == "0001"


def test_alembic_upgrade_head_builds_the_declared_schema(empty_url: str) -> None:
    engine = sa.create_engine(normalise_url(empty_url))
    try:
        assert table_names(engine) == set()
        command.upgrade(developer_config(empty_url), "head")
        assert table_names(engine) == set(SQLModel.metadata.tables) | {"alembic_version"}
        assert schema_differences(engine) == []
        # and the way back, for a developer undoing a revision
        command.downgrade(developer_config(empty_url), "base")
        assert table_names(engine) == {"alembic_version"}
    finally:
        engine.dispose()


def test_walkin_migrate_builds_the_same_schema(empty_url: str) -> None:
    store = Store(empty_url)
    try:
        store.migrate()
        assert table_names(store.engine) == set(SQLModel.metadata.tables) | {"alembic_version"}
        assert schema_differences(store.engine) == []
        for table in SQLModel.metadata.sorted_tables:
            declared = {c.name: c.nullable for c in table.columns}
            built = {
                c["name"]: c["nullable"] for c in sa.inspect(store.engine).get_columns(table.name)
            }
            assert built == declared, table.name
    finally:
        store.close()


def test_migrate_takes_a_path_with_a_percent_sign(tmp_path: Path) -> None:
    # Alembic's config interpolates '%': a URL or path holding one once broke migrate
    folder = tmp_path / "100% walkin"
    folder.mkdir()
    store = Store(str(folder / "walkin.db"))
    try:
        store.migrate()
        assert "ticket" in table_names(store.engine)
    finally:
        store.close()


def test_migrate_takes_a_url_encoded_password(pg_url: str) -> None:
    # the test server trusts local connections, so any password gets in
    user, rest = pg_url.split("://", 1)[1].split("@", 1)
    store = Store(f"postgresql+psycopg://{user.split(':')[0]}:p%40ss%25word@{rest}")
    try:
        store.migrate()
        assert schema_differences(store.engine) == []
    finally:
        store.close()
