"""The rules of マイナポータル that need no storage: lifetimes, when a session must end, the
shape of an invitation code, and what an お知らせ or a setting may contain. Pure: no I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from fukaiji.portal.errors import InvalidInput
from fukaiji.portal.states import LegalEndGround, Representation, SessionEnd

CHALLENGE_LIFETIME = timedelta(minutes=5)
IDLE_TIMEOUT = timedelta(minutes=15)
INVITATION_LIFETIME = timedelta(hours=24)
NONCE_BYTES = 32
TOKEN_BYTES = 32

# Crockford's base32: no I, L, O or U, so that a code read aloud or copied by hand survives.
INVITATION_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
INVITATION_LENGTH = 20  # 100 bits: not guessable, and still short enough to read out
INVITATION_GROUP = 4
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_INVITATION_PATTERN = re.compile(rf"[{INVITATION_ALPHABET}]{{{INVITATION_LENGTH}}}")
# Far longer than any code we issue; stops a caller from making us normalise megabytes.
_MAX_PRESENTED_CODE = 64

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 10_000
SOURCE_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254
END_REFERENCE_MAX_LENGTH = 64  # 根拠の参照: a family court's case number fits many times over
_EMAIL_PATTERN = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")


# ---- sessions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionState:
    """What decides whether a portal session may go on, read afresh on every request."""

    now: datetime
    last_seen_at: datetime
    card_usable: bool
    own_account_live: bool
    as_proxy: bool
    grant_live: bool
    folder_live: bool


def session_end_reason(state: SessionState) -> SessionEnd | None:
    """Why the session must end now, or None if it may go on.

    The card comes first: a session opened with a card that is no longer usable is dead whatever
    else holds, and the audit log should say so rather than "idle"."""
    if not state.card_usable:
        return SessionEnd.CARD_UNUSABLE
    if not state.own_account_live:
        return SessionEnd.ACCOUNT_DELETED
    if state.as_proxy:
        if not state.grant_live:
            return SessionEnd.GRANT_ENDED
        if not state.folder_live:
            return SessionEnd.ACCOUNT_DELETED
    if state.now - state.last_seen_at >= IDLE_TIMEOUT:
        return SessionEnd.IDLE_TIMEOUT
    return None


def is_fresh(expires_at: datetime, now: datetime) -> bool:
    return now < expires_at


# ---- invitation codes ----------------------------------------------------------------------


def format_invitation_code(raw: str) -> str:
    """``ABCD-EFGH-JKMN-PQRS-TVWX``: groups of four, for reading out and typing."""
    return "-".join(raw[i : i + INVITATION_GROUP] for i in range(0, len(raw), INVITATION_GROUP))


def normalize_invitation_code(text: str) -> str | None:
    """The code as issued, from what a person typed (any case, with or without hyphens and
    spaces, O for 0 and I or L for 1), or None if it cannot be one."""
    if len(text) > _MAX_PRESENTED_CODE:
        return None
    cleaned = unicodedata.normalize("NFKC", text).upper()
    cleaned = "".join(c for c in cleaned if c not in "- \t").translate(_CONFUSABLE)
    return cleaned if _INVITATION_PATTERN.fullmatch(cleaned) else None


# ---- お知らせ and settings ------------------------------------------------------------------


def _has_control_characters(text: str, *, allow_newlines: bool = False) -> bool:
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def clean_title(title: str) -> str:
    cleaned = title.strip()
    if not 1 <= len(cleaned) <= TITLE_MAX_LENGTH:
        raise InvalidInput(
            "title",
            f"件名: 1〜{TITLE_MAX_LENGTH} 文字が必要です"
            f" (title must be 1 to {TITLE_MAX_LENGTH} characters)",
        )
    if _has_control_characters(cleaned):
        raise InvalidInput(
            "title", "件名: 制御文字は使えません (title must not contain control characters)"
        )
    return cleaned


def clean_body(body: str) -> str:
    cleaned = body.strip()
    if not 1 <= len(cleaned) <= BODY_MAX_LENGTH:
        raise InvalidInput(
            "body",
            f"本文: 1〜{BODY_MAX_LENGTH:,} 文字が必要です"
            f" (body must be 1 to {BODY_MAX_LENGTH:,} characters)",
        )
    if _has_control_characters(cleaned, allow_newlines=True):
        raise InvalidInput(
            "body",
            "本文: 改行とタブ以外の制御文字は使えません"
            " (body must not contain control characters other than newlines and tabs)",
        )
    return cleaned


def clean_source(source: str | None) -> str | None:
    if source is None:
        return None
    cleaned = source.strip()
    if not 1 <= len(cleaned) <= SOURCE_MAX_LENGTH or _has_control_characters(cleaned):
        raise InvalidInput(
            "source",
            f"送信元の参照: 制御文字のない 1〜{SOURCE_MAX_LENGTH} 文字が必要です"
            f" (source must be 1 to {SOURCE_MAX_LENGTH} characters without control characters)",
        )
    return cleaned


def clean_notification_email(address: str | None) -> str | None:
    """The address to tell of new お知らせ, or None to be told nowhere."""
    if address is None or not address.strip():
        return None
    cleaned = address.strip()
    if len(cleaned) > EMAIL_MAX_LENGTH or _EMAIL_PATTERN.fullmatch(cleaned) is None:
        raise InvalidInput(
            "notification_email",
            f"通知先メールアドレス {cleaned[:EMAIL_MAX_LENGTH]!r}: 形式が正しくありません。"
            f"「名前@ドメイン」の形で {EMAIL_MAX_LENGTH} 文字以内にしてください"
            f" (must look like name@domain.example, at most {EMAIL_MAX_LENGTH} characters)",
        )
    return cleaned


# ---- 法定代理の終了 ------------------------------------------------------------------------------

END_GROUND_FIELD = "ground"
END_REFERENCE_FIELD = "reference"


def legal_end_ground(value: str | None) -> LegalEndGround:
    """終了の根拠, required: one of ``LegalEndGround``. The value given is never echoed."""
    typed = (value or "").strip()
    if not typed:
        raise InvalidInput(
            END_GROUND_FIELD,
            "終了の根拠が選ばれていません。法定代理を終了するには、窓口で確認した根拠"
            "（家庭裁判所の審判、本人が成年に達したことなど）を選んでください。",
        )
    try:
        return LegalEndGround(typed)
    except ValueError:
        choices = ", ".join(ground.value for ground in LegalEndGround)
        raise InvalidInput(
            END_GROUND_FIELD,
            "終了の根拠が選べる根拠のいずれでもありません。"
            f"次のいずれかを指定してください: {choices}",
        ) from None


def ground_fits(ground: LegalEndGround, representation: Representation) -> None:
    """The ground must be one that can end this kind of 法定代理 (a guardian does not come of
    age; a parent is not dismissed as a guardian)."""
    if representation in ground.applies_to:
        return
    fitting = "、".join(
        f"「{candidate.label}」"
        for candidate in LegalEndGround
        if representation in candidate.applies_to
    )
    raise InvalidInput(
        END_GROUND_FIELD,
        f"終了の根拠「{ground.label}」は、{representation.label}の法定代理を終了させる根拠では"
        f"ありません。{representation.label}については次のいずれかを選んでください: {fitting}",
    )


def clean_end_reference(reference: str | None) -> str | None:
    """根拠の参照 (審判の事件番号など), optional: one line of at most
    ``END_REFERENCE_MAX_LENGTH`` characters; blank means none."""
    if reference is None:
        return None
    # Not normalising megabytes: far over the limit is over it whatever NFKC makes of it.
    raw = reference.strip()
    too_long = len(raw) > 4 * END_REFERENCE_MAX_LENGTH
    cleaned = raw if too_long else unicodedata.normalize("NFKC", raw).strip()
    if not cleaned:
        return None
    if len(cleaned) > END_REFERENCE_MAX_LENGTH:
        raise InvalidInput(
            END_REFERENCE_FIELD,
            f"根拠の参照が長すぎます（{len(cleaned)} 文字）。審判の事件番号など、"
            f"{END_REFERENCE_MAX_LENGTH} 文字以内で入力してください。",
        )
    if _has_control_characters(cleaned):
        raise InvalidInput(
            END_REFERENCE_FIELD,
            "根拠の参照に改行などの制御文字は使えません。1 行で入力してください。",
        )
    return cleaned


def account_subject(account_id: int) -> str:
    """How the audit log names a folder."""
    return f"portal-account:{account_id}"
