"""The states a card and its certificates can be in, and the two functions of the chip."""

from __future__ import annotations

from enum import StrEnum

from cryptography import x509


class CardFunction(StrEnum):
    """The two applications of the JPKI chip, each with its own key, PIN and certificate."""

    AUTH = "auth"  # 利用者証明用 (proves "the holder of this card is logging in")
    SIGN = "sign"  # 署名用 (signs documents; the certificate names the holder)

    @property
    def label(self) -> str:
        return {"auth": "利用者証明用", "sign": "署名用"}[self.value]

    @property
    def pin_label(self) -> str:
        return f"{self.label}電子証明書の暗証番号"


class CardStatus(StrEnum):
    ACTIVE = "active"  # 有効
    SUSPENDED = "suspended"  # 一時停止中 (every certificate on hold)
    ABOLISHED = "abolished"  # 廃止 (every certificate revoked for ever)

    @property
    def label(self) -> str:
        return {"active": "有効", "suspended": "一時停止中", "abolished": "廃止"}[self.value]


class CertificateStatus(StrEnum):
    VALID = "valid"  # 有効
    ON_HOLD = "on_hold"  # 一時保留 (listed on the CRL as certificateHold; can come back)
    REVOKED = "revoked"  # 失効 (listed on the CRL for ever)

    @property
    def label(self) -> str:
        return {"valid": "有効", "on_hold": "一時保留", "revoked": "失効"}[self.value]


class SuspensionChannel(StrEnum):
    PHONE = "phone"  # マイナンバー総合フリーダイヤル
    WINDOW = "window"  # 市区町村の窓口

    @property
    def label(self) -> str:
        return {"phone": "電話 (フリーダイヤル)", "window": "窓口"}[self.value]


class AbolitionReason(StrEnum):
    REISSUED = "reissued"  # 再交付 (a new card replaces this one)
    RETURNED = "returned"  # 返納・廃止 (the card is given up with no replacement)

    @property
    def crl_reason(self) -> x509.ReasonFlags:
        if self is AbolitionReason.REISSUED:
            return x509.ReasonFlags.superseded
        return x509.ReasonFlags.cessation_of_operation


# The CRL reasons this authority uses; anything else in the table is a fault.
REVOCATION_REASONS = frozenset(
    {
        x509.ReasonFlags.certificate_hold,
        x509.ReasonFlags.superseded,
        x509.ReasonFlags.cessation_of_operation,
        x509.ReasonFlags.affiliation_changed,
    }
)
