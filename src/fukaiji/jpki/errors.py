"""公的個人認証に関する誤り (JPKI errors).

Each error names the field, the fault and the rule, Japanese first and English in parentheses.
``field`` is the English name of the input an API or form puts the message next to. No message,
attribute or repr ever contains a card token, a PIN, or a private key.

``keep_changes`` marks the refusals that have already changed something the caller must commit
even though the operation failed: the wrong-PIN counter of the chip and the audit entry of every
refusal. A caller that rolls such an error back would give a guesser unlimited PIN attempts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from enum import StrEnum

from fukaiji.errors import DomainError
from fukaiji.jpki.states import CardFunction


class JpkiError(DomainError):
    """公的個人認証の操作の誤り (a card or certificate operation was refused)."""


# ---- input ---------------------------------------------------------------------------------


class PinFault(StrEnum):
    WRONG_LENGTH = "wrong_length"
    NOT_DIGITS = "not_digits"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    BAD_CHARACTERS = "bad_characters"
    NO_LETTER = "no_letter"
    NO_DIGIT = "no_digit"


_PIN_FAULT_TEXT = {
    PinFault.WRONG_LENGTH: ("4 桁で入力してください", "must be exactly 4 digits"),
    PinFault.NOT_DIGITS: ("半角数字だけで入力してください", "must contain digits 0-9 only"),
    PinFault.TOO_SHORT: ("6 文字以上が必要です", "must be at least 6 characters"),
    PinFault.TOO_LONG: ("16 文字以内にしてください", "must be at most 16 characters"),
    PinFault.BAD_CHARACTERS: (
        "半角英大文字 (A-Z) と数字 (0-9) だけで入力してください",
        "must contain capital letters A-Z and digits 0-9 only",
    ),
    PinFault.NO_LETTER: ("英大文字を 1 文字以上含めてください", "must contain a capital letter"),
    PinFault.NO_DIGIT: ("数字を 1 文字以上含めてください", "must contain a digit"),
}


class InvalidPin(JpkiError):
    """暗証番号が規則に合わない (the PIN breaks the rule); lists every fault, never the PIN."""

    def __init__(self, function: CardFunction, field: str, faults: Sequence[PinFault]) -> None:
        self.function = function
        self.faults = tuple(faults)
        ja = "、".join(_PIN_FAULT_TEXT[fault][0] for fault in self.faults)
        en = "; ".join(_PIN_FAULT_TEXT[fault][1] for fault in self.faults)
        super().__init__(field, f"{function.pin_label}: {ja} ({function.value} PIN {en})")


class InvalidChoice(JpkiError):
    """A value outside a fixed list (card function, suspension channel)."""

    def __init__(self, field: str, label: str, value: object, allowed: Sequence[str]) -> None:
        self.value = value
        choices = ", ".join(allowed)
        super().__init__(
            field,
            f"{label} {value!r}: 次のいずれかです: {choices} ({field} must be one of: {choices})",
        )


class InvalidChallenge(JpkiError):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            "challenge",
            f"チャレンジ: 1 バイト以上 {max_bytes} バイト以下が必要です"
            f" (challenge must be 1 to {max_bytes} bytes)",
        )


class InvalidSerial(JpkiError):
    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(
            "serial",
            f"シリアル番号 {value!r}: 16 進数で指定してください"
            f" (serial must be a hexadecimal number, as openssl prints it)",
        )


# ---- what the register or the authority does not hold --------------------------------------


class UnknownPerson(JpkiError):
    def __init__(self, person_id: uuid.UUID) -> None:
        self.person_id = person_id
        super().__init__(
            "person_id", f"住民 {person_id}: 登録されていません (person is not registered)"
        )


class PersonWithoutAddress(JpkiError):
    def __init__(self, person_id: uuid.UUID) -> None:
        self.person_id = person_id
        super().__init__(
            "person_id",
            f"住民 {person_id}: 現住所がありません。署名用電子証明書には住所が必要です"
            f" (person has no current address; the signing certificate must carry one)",
        )


class CardAlreadyIssued(JpkiError):
    def __init__(self, person_id: uuid.UUID) -> None:
        self.person_id = person_id
        super().__init__(
            "person_id",
            f"住民 {person_id}: 有効なカードがすでにあります。1 人 1 枚のため、再交付してください"
            f" (person already holds a card that is not abolished: one card per person;"
            f" reissue instead)",
        )


class NoCard(JpkiError):
    def __init__(self, person_id: uuid.UUID) -> None:
        self.person_id = person_id
        super().__init__(
            "person_id",
            f"住民 {person_id}: 廃止されていないカードがありません"
            f" (person holds no card that is not abolished)",
        )


class UnknownCard(JpkiError):
    def __init__(self, card_id: int) -> None:
        self.card_id = card_id
        super().__init__(
            "card_id", f"カード {card_id}: 登録されていません (card is not registered)"
        )


class CardNotSuspended(JpkiError):
    def __init__(self, card_id: int) -> None:
        self.card_id = card_id
        super().__init__(
            "card_id",
            f"カード {card_id}: 一時停止されていないため解除できません"
            f" (card is not suspended, so there is no suspension to lift)",
        )


class CardNotActive(JpkiError):
    def __init__(self, card_id: int) -> None:
        self.card_id = card_id
        super().__init__(
            "card_id",
            f"カード {card_id}: 一時停止中のため手続きできません。先に一時停止を解除してください"
            f" (card is suspended; lift the suspension first)",
        )


class UnknownCertificate(JpkiError):
    def __init__(self, serial: str) -> None:
        self.serial = serial
        super().__init__(
            "serial",
            f"電子証明書 {serial}: この認証局は発行していません"
            f" (no certificate with this serial was issued by this authority)",
        )


class AuthorityNotCreated(JpkiError):
    def __init__(self) -> None:
        super().__init__(
            "ca",
            "認証局: まだ作成されていません。最初のカード交付か CRL の発行で作成されます"
            " (the certificate authority does not exist yet; it is created on first use)",
        )


class AuthorityKeyUnreadable(JpkiError):
    """The CA key does not decrypt: the key given is not the one it was stored under."""

    def __init__(self) -> None:
        super().__init__(
            "ca_key",
            "認証局の秘密鍵: 復号できません。FUKAIJI_SECRET_KEY が作成時と同じか確認してください"
            " (CA private key cannot be decrypted: the secret key differs from creation"
            " or the record was altered)",
        )


# ---- refusals by the chip: audited, and the caller must commit ------------------------------


class CardRefused(JpkiError):
    """カードが署名を拒否した (the chip refused to sign). Audited; commit the transaction."""

    keep_changes = True
    reason: str


class UnrecognisedCard(CardRefused):
    reason = "unknown_card"

    def __init__(self) -> None:
        super().__init__(
            "card_token",
            "カード: 読み取れないか、この認証局の発行したカードではありません"
            " (card not recognised: unreadable or not issued by this authority)",
        )


class CardSuspended(CardRefused):
    reason = "suspended"

    def __init__(self, card_id: int) -> None:
        self.card_id = card_id
        super().__init__(
            "card",
            f"カード {card_id}: 一時停止中です。解除は市区町村の窓口で行います"
            f" (card is suspended; the suspension is lifted at the municipal window)",
        )


class CardAbolished(CardRefused):
    reason = "abolished"

    def __init__(self, card_id: int) -> None:
        self.card_id = card_id
        super().__init__(
            "card",
            f"カード {card_id}: 廃止されています。廃止されたカードは二度と使えません"
            f" (card is abolished; an abolished card can never be used again)",
        )


class NoCertificate(CardRefused):
    reason = "no_certificate"

    def __init__(self, card_id: int, function: CardFunction) -> None:
        self.card_id = card_id
        self.function = function
        super().__init__(
            "function",
            f"カード {card_id}: {function.label}電子証明書が失効しています。"
            f"窓口で再発行してください"
            f" (card holds no usable {function.value} certificate; get a new one at the window)",
        )


class WrongPin(CardRefused):
    reason = "wrong_pin"

    def __init__(self, function: CardFunction, remaining: int) -> None:
        self.function = function
        self.remaining = remaining
        if remaining:
            ja = f"正しくありません。あと {remaining} 回続けて誤るとロックされます"
            en = f"is wrong; {remaining} more wrong in a row locks it"
        else:
            ja = "正しくありません。3 回続けて誤ったためロックしました。窓口で再設定してください"
            en = "is wrong; locked after 3 wrong in a row: reset it at the municipal window"
        super().__init__("pin", f"{function.pin_label}: {ja} ({function.value} PIN {en})")


class PinLocked(CardRefused):
    reason = "pin_locked"

    def __init__(self, function: CardFunction) -> None:
        self.function = function
        super().__init__(
            "pin",
            f"{function.pin_label}: 3 回続けて誤ったためロックされています。"
            f"市区町村の窓口で再設定してください"
            f" ({function.value} PIN is locked after 3 wrong in a row;"
            f" reset it at the municipal window)",
        )


# ---- the login check -----------------------------------------------------------------------


class LoginRefusal(StrEnum):
    UNKNOWN_CERTIFICATE = "unknown_certificate"
    UNTRUSTED_CERTIFICATE = "untrusted_certificate"
    NOT_AUTH_CERTIFICATE = "not_auth_certificate"
    BAD_SIGNATURE = "bad_signature"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"


_REFUSAL_TEXT = {
    LoginRefusal.UNKNOWN_CERTIFICATE: (
        "certificate",
        "電子証明書: この認証局が発行したものではないか、読み取れません",
        "certificate was not issued by this authority or cannot be read",
    ),
    LoginRefusal.UNTRUSTED_CERTIFICATE: (
        "certificate",
        "電子証明書: 認証局の署名を検証できません",
        "certificate does not verify against the authority's certificate",
    ),
    LoginRefusal.NOT_AUTH_CERTIFICATE: (
        "certificate",
        "電子証明書: ログインには利用者証明用電子証明書が必要です",
        "login needs the authentication certificate, not the signing one",
    ),
    LoginRefusal.BAD_SIGNATURE: (
        "signature",
        "署名: 電子証明書の鍵による署名ではありません",
        "signature was not made with the certificate's key over this challenge",
    ),
    LoginRefusal.SUSPENDED: (
        "certificate",
        "電子証明書: カードが一時停止中のため一時保留されています",
        "certificate is on hold because the card is suspended",
    ),
    LoginRefusal.REVOKED: (
        "certificate",
        "電子証明書: 失効しています",
        "certificate is revoked",
    ),
    LoginRefusal.NOT_YET_VALID: (
        "certificate",
        "電子証明書: 有効期間の開始前です",
        "certificate is not valid yet",
    ),
    LoginRefusal.EXPIRED: (
        "certificate",
        "電子証明書: 有効期限 (発行後 5 回目の誕生日) を過ぎています",
        "certificate expired (valid until the fifth birthday after issue)",
    ),
}


class LoginRefused(JpkiError):
    """ログインを拒否した (the login check failed). Audited with the reason; commit."""

    keep_changes = True

    def __init__(self, reason: LoginRefusal) -> None:
        self.reason = reason
        field, ja, en = _REFUSAL_TEXT[reason]
        super().__init__(field, f"{ja} ({en})")
