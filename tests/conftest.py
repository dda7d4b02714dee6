"""Database fixtures shared by the whole suite.

Every test that needs storage gets a database of its own, on SQLite always and on PostgreSQL when
``FUKAIJI_TEST_POSTGRES_URL`` is set. Migrations run once per backend into a template; each test
then gets a copy (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), dropped
afterwards, because the PostgreSQL server outlives the test run.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

from fukaiji.db import create_db_engine, transaction, upgrade
from fukaiji.network.institutions import load_local_governments

POSTGRES_URL_VARIABLE = "FUKAIJI_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = (
    f"PostgreSQL tests skipped: set {POSTGRES_URL_VARIABLE}="
    "postgresql+psycopg://postgres@127.0.0.1:5432/test to run them"
)

# No property may fail because the machine is busy: CI shares two cores with other work.
hypothesis_settings.register_profile("fukaiji", deadline=None)
hypothesis_settings.load_profile("fukaiji")


def examples_on(engine: Engine, examples: int) -> int:
    """How many examples a property runs on this backend. On PostgreSQL a third: the rules are
    the same code on both; what PostgreSQL adds (its types, its locks, its parameter limits) is
    met by the first examples as well as by many, and CI must stay inside 40 minutes."""
    if engine.dialect.name == "postgresql":
        return max(3, examples // 3)
    return examples


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Each reason for skipping once, with its count, instead of one line per skipped test."""
    reasons = Counter(
        str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        for report in terminalreporter.stats.get("skipped", [])
    )
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"SKIPPED {count}: {reason}", yellow=True)


def prepare_template(url: str) -> None:
    """Migrate, and load the official list of local governments every test can count on."""
    engine = create_db_engine(url)
    upgrade(engine)
    with transaction(engine) as session:
        load_local_governments(session, actor="test:template")
    engine.dispose()


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


def _run_admin(sql: str) -> None:
    admin = create_db_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(sql))
    admin.dispose()


def _database_url(name: str) -> str:
    return make_url(postgres_admin_url()).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    prepare_template(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    if postgres_admin_url() is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    name = f"fukaiji_template_{secrets.token_hex(4)}"
    _run_admin(f'CREATE DATABASE "{name}"')
    try:
        prepare_template(_database_url(name))
        yield name
    finally:
        _run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database of its own for one test."""
    if request.param == "sqlite":
        path = tmp_path / "fukaiji.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"fukaiji_test_{secrets.token_hex(6)}"
    _run_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _database_url(name)
    finally:
        _run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
