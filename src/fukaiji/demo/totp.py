"""The current TOTP code of a demo staff member, so that a newcomer can log in without an
authenticator app (``fukaiji demo totp``) and tests can log in as the printed staff.

The secret is read the way the login reads it: decrypted with the key derived from the
configured secret key. Only the demo accounts are answered; the read is audited as any other.
"""

from __future__ import annotations

from datetime import datetime

import pyotp
from sqlalchemy.orm import Session

from fukaiji.config import Settings
from fukaiji.db.base import utc_now
from fukaiji.demo.cast import DEMO_USERNAMES
from fukaiji.demo.errors import NotADemoAccount, refuse_production
from fukaiji.staff import service as staff_service
from fukaiji.staff.totp import DIGITS, INTERVAL_SECONDS, TOTP_KEY_PURPOSE, decrypt_secret


def current_code(secret: str, now: datetime | None = None) -> str:
    """The code an authenticator app shows for ``secret`` at ``now``."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL_SECONDS).at(now or utc_now())


def seconds_left(now: datetime | None = None) -> int:
    """How long the current code stays the current one."""
    return INTERVAL_SECONDS - int((now or utc_now()).timestamp()) % INTERVAL_SECONDS


def demo_totp_secret(session: Session, *, username: str, settings: Settings, actor: str) -> str:
    """The TOTP secret of a demo account, decrypted as the login does. Refuses any other
    account, and refuses in production: this is a convenience of the demonstration, not a way
    round the second factor."""
    refuse_production(settings)
    if username.strip().lower() not in DEMO_USERNAMES:
        raise NotADemoAccount(username)
    staff_id = staff_service.find_staff_id(session, username)
    staff = staff_service.get_staff(session, staff_id, actor=actor)
    return decrypt_secret(settings.derive_key(TOTP_KEY_PURPOSE), staff.totp_secret_encrypted)


def demo_totp_code(
    session: Session,
    *,
    username: str,
    settings: Settings,
    actor: str,
    now: datetime | None = None,
) -> str:
    secret = demo_totp_secret(session, username=username, settings=settings, actor=actor)
    return current_code(secret, now)
