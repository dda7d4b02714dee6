"""The portal's tables as migrated: every named state fits the CHECK constraints (which the
migration spells out by hand), the constraints refuse what is inconsistent, and no secret a
resident handles is stored or audited in a usable form."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from fukaiji import portal
from fukaiji.audit.models import AuditEntry
from fukaiji.db.base import utc_now
from fukaiji.portal import (
    AccessAction,
    AccessLogEntry,
    ChallengePurpose,
    GrantEnd,
    InboxCategory,
    InboxMessage,
    LoginChallenge,
    PortalSession,
    ProxyGrant,
    SessionEnd,
    proxies,
)


def test_every_named_state_fits_the_migrated_constraints(world) -> None:
    hanako, taro = world.resident(), world.resident("太郎")
    login = world.login(hanako.card_token)
    account_id, session = login.account.id, world.session
    for action in AccessAction:
        session.add(AccessLogEntry(account_id=account_id, action=action, actor_person_id=hanako.id))
    for category in InboxCategory:
        session.add(
            InboxMessage(
                account_id=account_id,
                institution_id=world.chiyoda.id,
                category=category,
                title="t",
                body="b",
            )
        )
    for number, reason in enumerate(GrantEnd):
        session.add(
            ProxyGrant(
                account_id=account_id,
                proxy_person_id=taro.id,
                kind="appointed",
                granted_by="test",
                ended_at=utc_now(),
                end_reason=reason,
                ended_by=f"test:{number}",
            )
        )
    for reason in SessionEnd:
        row = login.portal_session
        session.add(
            PortalSession(
                token_hash=f"{reason:0>64}"[-64:],
                csrf_token="c",
                person_id=hanako.id,
                account_id=account_id,
                certificate_serial=row.certificate_serial,
                card_id=row.card_id,
                acting_account_id=account_id,
                ended_at=utc_now(),
                end_reason=reason,
            )
        )
    for purpose in ChallengePurpose:
        session.add(
            LoginChallenge(
                nonce_hash=f"{purpose:0>64}"[-64:],
                purpose=purpose,
                session_id=login.portal_session.id if purpose == "deletion" else None,
                expires_at=utc_now() + timedelta(minutes=5),
            )
        )
    session.commit()


@pytest.mark.parametrize(
    "statement",
    [
        # A proxy session must name its grant, and an own-folder session must not.
        "UPDATE portal_sessions SET acting_account_id = (SELECT MAX(id) FROM portal_accounts)"
        " WHERE acting_grant_id IS NULL",
        # A legal grant needs its ground, an appointed one has none.
        "UPDATE portal_proxy_grants SET kind = 'legal'",
        # An ended grant says why and by whom.
        "UPDATE portal_proxy_grants SET ended_at = CURRENT_TIMESTAMP",
        "UPDATE portal_access_log SET action = 'peeked'",
    ],
)
def test_the_constraints_refuse_inconsistent_rows(world, statement: str) -> None:
    hanako, taro = world.resident(), world.resident("太郎")
    world.appoint(hanako, taro)
    world.login(hanako.card_token)
    with pytest.raises(IntegrityError):
        world.session.execute(text(statement))
        world.session.flush()
    world.session.rollback()


def test_one_live_folder_per_person_and_one_live_grant_per_pair(world) -> None:
    hanako, taro = world.resident(), world.resident("太郎")
    grant = world.appoint(hanako, taro)
    with pytest.raises(IntegrityError):
        world.session.add(portal.PortalAccount(person_id=hanako.id, created_by="test"))
        world.session.flush()
    world.session.rollback()
    with pytest.raises(IntegrityError):
        world.session.add(
            ProxyGrant(
                account_id=grant.account_id,
                proxy_person_id=taro.id,
                kind="appointed",
                granted_by="test",
            )
        )
        world.session.flush()
    world.session.rollback()


def test_no_secret_is_stored_or_audited_in_a_usable_form(world) -> None:
    hanako, taro = world.resident(), world.resident("太郎")
    challenge = portal.issue_challenge(world.session)
    signed = world.sign(hanako.card_token, challenge.nonce)
    login = portal.log_in(
        world.session,
        challenge=challenge.nonce,
        certificate_pem=signed.certificate_pem,
        signature=signed.signature,
    )
    issued = proxies.create_invitation(world.session, login.portal_session)
    proxy_login = world.login(taro.card_token)
    proxies.accept_invitation(world.session, proxy_login.portal_session, code=issued.code)
    deletion = portal.issue_deletion_challenge(world.session, login.portal_session)
    world.session.commit()

    secrets_in_hand = {
        "card token": hanako.card_token,
        "session token": login.token,
        "proxy session token": proxy_login.token,
        "invitation code": issued.code,
        "invitation code (raw)": issued.code.replace("-", ""),
        "nonce (base64)": base64.b64encode(challenge.nonce).decode(),
        "nonce (hex)": challenge.nonce.hex(),
        "deletion nonce (hex)": deletion.nonce.hex(),
    }
    stored = []
    for table in (
        "portal_sessions",
        "portal_challenges",
        "portal_proxy_invitations",
        "portal_proxy_grants",
        "portal_access_log",
        "portal_accounts",
        "audit_entries",
    ):
        rows = world.session.execute(text(f"SELECT * FROM {table}")).all()
        stored.extend(str(value) for row in rows for value in row)
    dump = "\n".join(stored)
    for name, secret in secrets_in_hand.items():
        assert secret not in dump, name
    for entry in world.session.scalars(select(AuditEntry)):
        assert '"pin"' not in entry.details and world.auth_pin not in entry.details.split('"')

    shown = " ".join(
        repr(value) for value in (login, challenge, issued, deletion, login.portal_session, hanako)
    )
    for name, secret in secrets_in_hand.items():
        assert secret not in shown, name
