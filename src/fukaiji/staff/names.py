"""Rules for usernames, display names and API key names. Pure: no I/O."""

from __future__ import annotations

import re
import unicodedata

from fukaiji.staff.errors import InvalidApiKeyName, InvalidDisplayName, InvalidUsername

USERNAME_MIN_LENGTH = 3
USERNAME_MAX_LENGTH = 64
# Lower case only, so that two accounts can never differ by case alone and login can fold case.
_USERNAME_PATTERN = re.compile(r"[a-z0-9._-]+")
DISPLAY_NAME_MAX_LENGTH = 100
API_KEY_NAME_MAX_LENGTH = 100


def is_valid_username(username: str) -> bool:
    return (
        USERNAME_MIN_LENGTH <= len(username) <= USERNAME_MAX_LENGTH
        and _USERNAME_PATTERN.fullmatch(username) is not None
    )


def has_control_characters(text: str) -> bool:
    # NUL cannot even be stored in PostgreSQL text; the rest would garble screens and logs.
    return any(unicodedata.category(character) == "Cc" for character in text)


def check_username(username: str) -> None:
    if not USERNAME_MIN_LENGTH <= len(username) <= USERNAME_MAX_LENGTH:
        raise InvalidUsername(
            username,
            f"{USERNAME_MIN_LENGTH}〜{USERNAME_MAX_LENGTH} 文字が必要です",
            f"must be {USERNAME_MIN_LENGTH} to {USERNAME_MAX_LENGTH} characters",
        )
    if _USERNAME_PATTERN.fullmatch(username) is None:
        raise InvalidUsername(
            username,
            "使える文字は英小文字・数字・「.」「_」「-」だけです",
            "may contain only a-z, 0-9, '.', '_' and '-'",
        )


def clean_display_name(display_name: str) -> str:
    cleaned = display_name.strip()
    if not cleaned:
        raise InvalidDisplayName("空にできません", "must not be empty")
    if has_control_characters(cleaned):
        raise InvalidDisplayName("制御文字は使えません", "must not contain control characters")
    if len(cleaned) > DISPLAY_NAME_MAX_LENGTH:
        raise InvalidDisplayName(
            f"{DISPLAY_NAME_MAX_LENGTH} 文字以内にしてください",
            f"must be at most {DISPLAY_NAME_MAX_LENGTH} characters",
        )
    return cleaned


def clean_api_key_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise InvalidApiKeyName("空にできません", "must not be empty")
    if has_control_characters(cleaned):
        raise InvalidApiKeyName("制御文字は使えません", "must not contain control characters")
    if len(cleaned) > API_KEY_NAME_MAX_LENGTH:
        raise InvalidApiKeyName(
            f"{API_KEY_NAME_MAX_LENGTH} 文字以内にしてください",
            f"must be at most {API_KEY_NAME_MAX_LENGTH} characters",
        )
    return cleaned
