"""お知らせ (the inbox) and settings: delivered only into a live folder, shown with the sending
institution, and gone with the folder."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fukaiji import portal
from fukaiji.audit.models import AuditEntry
from fukaiji.portal import AccountSettings, InboxMessage, InvalidInput


def deliver(world, person_id, institution, title: str = "お知らせ", **options) -> bool:
    return portal.deliver_to_inbox(
        world.session,
        person_id=person_id,
        institution_id=institution.id,
        title=title,
        body=options.pop("body", "本文です。"),
        category=options.pop("category", "general"),
        actor="test:sender",
        **options,
    )


def test_without_a_live_folder_nothing_is_delivered(world) -> None:
    hanako = world.resident()
    assert deliver(world, hanako.id, world.chiyoda) is False
    assert world.session.scalar(select(func.count()).select_from(InboxMessage)) == 0
    world.login(hanako.card_token)
    assert deliver(world, hanako.id, world.chiyoda, source="notice:1/job:2") is True
    entry = world.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "portal.inbox_delivered")
    ).one()
    assert entry.institution == "131016"
    assert "お知らせ" not in entry.details and "本文" not in entry.details


def test_the_inbox_is_newest_first_with_the_senders_name(world) -> None:
    hanako = world.resident()
    login = world.login(hanako.card_token)
    deliver(world, hanako.id, world.chiyoda, "一通目", category="tax")
    deliver(world, hanako.id, world.yokohama, "二通目", category="benefit", body="改行\nあり")
    world.session.commit()

    inbox = world.view(login).inbox
    assert [(m.title, m.institution.name, m.category.label) for m in inbox] == [
        ("二通目", "神奈川県横浜市", "給付"),
        ("一通目", "東京都千代田区", "税"),
    ]
    assert inbox[0].body == "改行\nあり"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"category": "secret"}, "category"),
        ({"title": "x" * 201}, "title"),
        ({"title": "  "}, "title"),
        ({"title": "bell\x07"}, "title"),
        ({"body": "nul\x00"}, "body"),
    ],
)
def test_a_malformed_message_is_refused_naming_the_field(world, options, field) -> None:
    hanako = world.resident()
    world.login(hanako.card_token)
    with pytest.raises(InvalidInput) as refused:
        deliver(world, hanako.id, world.chiyoda, **options)
    assert refused.value.field == field


def test_settings_belong_to_the_folder_and_go_with_it(world) -> None:
    hanako = world.resident()
    login = world.login(hanako.card_token)
    deliver(world, hanako.id, world.chiyoda)
    assert portal.account_settings(world.session, login.portal_session).notification_email is None
    updated = portal.update_settings(
        world.session, login.portal_session, notification_email=" hanako@example.jp "
    )
    assert updated.notification_email == "hanako@example.jp"
    with pytest.raises(InvalidInput) as refused:
        portal.update_settings(world.session, login.portal_session, notification_email="hanako")
    assert refused.value.field == "notification_email"
    world.session.commit()

    deletion = portal.issue_deletion_challenge(world.session, login.portal_session)
    signed = world.sign(hanako.card_token, deletion.nonce)
    report = portal.delete_account(
        world.session,
        login.portal_session,
        challenge=deletion.nonce,
        certificate_pem=signed.certificate_pem,
        signature=signed.signature,
    )
    world.session.commit()

    assert report.messages_deleted == 1
    assert world.session.scalar(select(func.count()).select_from(InboxMessage)) == 0
    assert world.session.scalar(select(func.count()).select_from(AccountSettings)) == 0
    again = world.login(hanako.card_token)
    assert portal.account_settings(world.session, again.portal_session).notification_email is None
