"""Configuration from the environment (``FUKAIJI_*``), read once at start.

The secret key is the root of every keyed derivation in the system (機関別符号, the 個人番号
generator, session signing). In development it is generated on first use and kept beside the
SQLite file so that restarts keep the same codes; in production it must be given explicitly,
because a key that silently changes would make every 機関別符号 and session invalid.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_FILE = "fukaiji.sqlite3"
MIN_SECRET_LENGTH = 32


class ConfigurationError(RuntimeError):
    """The environment does not describe a safe configuration."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUKAIJI_", frozen=True)

    env: Literal["development", "production"] = "development"
    database_url: str = f"sqlite:///{DEFAULT_SQLITE_FILE}"
    secret_key: SecretStr | None = None
    # How often `serve` judges every protection so that the desk hears of a lifted or returned
    # exclusion (seconds; 0 turns the sweep off — the live checks do not depend on it).
    protection_sweep_seconds: float = Field(default=60.0, ge=0)
    # How often `serve` signs the heads of the audit chains (seconds; 0 turns it off), and how
    # many new entries a chain needs before it is signed again.
    audit_checkpoint_seconds: float = Field(default=300.0, ge=0)
    audit_checkpoint_entries: int = Field(default=1000, ge=1)
    # Whether `serve` also runs the notice send jobs (turn off when `fukaiji notices work`
    # processes do it).
    send_worker: bool = True
    send_batch_size: int = Field(default=500, ge=1, le=10_000)  # addressees per transaction
    # Seconds the send worker waits between batches, to spare the database in office hours
    # (the same as `fukaiji notices work --pause`).
    send_pause_seconds: float = Field(default=0.0, ge=0, le=60)
    # How long a send worker holds a job without renewing it; after a crash another worker (or
    # the restarted server) takes the job over once this has passed.
    send_lease_seconds: float = Field(default=60.0, ge=1, le=3600)

    @cached_property
    def resolved_database_url(self) -> str:
        """The URL with a relative SQLite path made absolute and PostgreSQL bound to psycopg 3."""
        url = self.database_url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            relative = url.removeprefix("sqlite:///")
            if relative and relative != ":memory:":
                url = f"sqlite:///{Path(relative).resolve()}"
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                url = "postgresql+psycopg://" + url.removeprefix(plain)
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @cached_property
    def secret(self) -> bytes:
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < MIN_SECRET_LENGTH:
                raise ConfigurationError(
                    f"FUKAIJI_SECRET_KEY: {MIN_SECRET_LENGTH} 文字以上が必要です "
                    f"(must be at least {MIN_SECRET_LENGTH} characters)"
                )
            return value.encode()
        if self.env == "production":
            raise ConfigurationError(
                "FUKAIJI_SECRET_KEY: 本番環境 (FUKAIJI_ENV=production) では明示的な指定が必要です "
                "(production refuses to start without an explicit secret key)"
            )
        return _development_secret(self._secret_file())

    def derive_key(self, purpose: str) -> bytes:
        """A separate key per purpose, so that no two mechanisms ever share key material."""
        return hmac.new(self.secret, b"fukaiji:" + purpose.encode(), hashlib.sha256).digest()

    def _secret_file(self) -> Path:
        url = self.resolved_database_url
        if url.startswith("sqlite:///") and not url.endswith(":memory:"):
            database = Path(url.removeprefix("sqlite:///"))
            return database.with_name(database.name + ".secret")
        return Path.cwd() / ".fukaiji-secret"


def _development_secret(path: Path) -> bytes:
    """Read the development secret, creating it exactly once even if two processes race.

    The value is written to a private temporary file first and then hard-linked into place,
    so that a reader never sees a half-written secret and the first writer wins.
    """
    if not path.exists():
        temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text(encoding="ascii").strip().encode()


def load_settings() -> Settings:
    return Settings()
