"""Roles and their Japanese names; the rules for usernames, display names and API key names."""

from __future__ import annotations

import pytest

from fukaiji.staff.errors import (
    InvalidApiKeyName,
    InvalidDisplayName,
    InvalidRole,
    InvalidUsername,
    MissingRoles,
)
from fukaiji.staff.names import check_username, clean_api_key_name, clean_display_name
from fukaiji.staff.roles import StaffRole, parse_roles, sorted_roles


def test_every_role_has_its_japanese_name() -> None:
    assert {role.value: role.label for role in StaffRole} == {
        "consultation_desk": "相談窓口",
        "business_desk": "事務担当",
        "notice_sender": "お知らせ送信担当",
        "card_window": "交付窓口",
        "administrator": "管理者",
    }


def test_roles_parse_from_their_values_and_sort_in_declaration_order() -> None:
    roles = parse_roles(["administrator", StaffRole.CONSULTATION_DESK, "administrator"])
    assert sorted_roles(roles) == [StaffRole.CONSULTATION_DESK, StaffRole.ADMINISTRATOR]


def test_an_unknown_role_is_named_with_the_known_ones() -> None:
    with pytest.raises(InvalidRole) as raised:
        parse_roles(["superuser"])
    assert raised.value.field == "roles"
    assert "役割 'superuser': 未知の役割です" in raised.value.message
    assert "consultation_desk" in raised.value.message


def test_no_roles_is_refused() -> None:
    with pytest.raises(MissingRoles, match=r"1 つ以上が必要です \(roles: at least one role"):
        parse_roles([])


@pytest.mark.parametrize("username", ["abc", "tanaka.hanako", "t_2026-x", "a" * 64])
def test_valid_usernames(username: str) -> None:
    check_username(username)


@pytest.mark.parametrize(
    ("username", "rule"),
    [
        ("ab", "must be 3 to 64 characters"),
        ("a" * 65, "must be 3 to 64 characters"),
        ("Tanaka", "may contain only"),
        ("田中花子", "may contain only"),
        ("tanaka hanako", "may contain only"),
        ("tanaka@city", "may contain only"),
    ],
)
def test_invalid_usernames_name_the_rule(username: str, rule: str) -> None:
    with pytest.raises(InvalidUsername) as raised:
        check_username(username)
    assert raised.value.field == "username"
    assert raised.value.message.startswith("ユーザー名 ")
    assert rule in raised.value.message


def test_display_and_key_names_are_trimmed_and_must_not_be_empty() -> None:
    assert clean_display_name("  田中 花子 ") == "田中 花子"
    assert clean_api_key_name(" 宛名システム連携 ") == "宛名システム連携"
    with pytest.raises(InvalidDisplayName, match="氏名: 空にできません"):
        clean_display_name("   ")
    with pytest.raises(InvalidApiKeyName, match="100 文字以内"):
        clean_api_key_name("x" * 101)


@pytest.mark.parametrize("text", ["田中\x00花子", "tab\there", "line\nbreak"])
def test_names_with_control_characters_are_refused(text: str) -> None:
    with pytest.raises(InvalidDisplayName, match="制御文字"):
        clean_display_name(text)
    with pytest.raises(InvalidApiKeyName, match="control characters"):
        clean_api_key_name(text)
