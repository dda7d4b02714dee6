"""X.509 for the local authority: its own certificate, the cards' certificates, and the CRL.

No I/O: the service decides what to issue and stores the results. Keys are ECDSA P-256 and every
signature is SHA-256, the profile OpenSSL verifies out of the box.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fukaiji.jpki.chip import new_private_key
from fukaiji.jpki.states import CardFunction

CA_VALIDITY_YEARS = 20
CRL_LIFETIME = timedelta(days=1)
_MAX_COMMON_NAME_BYTES = 64  # ub-common-name; cryptography counts UTF-8 bytes

CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fukaiji (simulation of J-LIS)"),
        x509.NameAttribute(NameOID.COMMON_NAME, "fukaiji 公的個人認証 ローカル認証局"),
    ]
)


class CaKeyUnreadable(Exception):
    """The stored CA key does not decrypt with the key given."""


@dataclass(frozen=True, slots=True)
class Holder:
    """What the signing certificate says about the holder (the auth one says nothing)."""

    family_name: str
    given_name: str
    municipality_code: str
    address_line: str


@dataclass(frozen=True, slots=True)
class CrlEntry:
    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags


def serial_hex(serial: int) -> str:
    """The form a serial is stored and shown in: lower-case hexadecimal, as openssl prints it."""
    return format(serial, "x")


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February into a common year
        return moment.replace(year=moment.year + years, day=28)


def _whole_seconds(moment: datetime) -> datetime:
    # X.509 times have no fractions; trimming here keeps the stored copy equal to the certificate.
    return moment.replace(microsecond=0)


def new_authority(now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = new_private_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    not_before = _whole_seconds(now)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(CA_NAME)
        .issuer_name(CA_NAME)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(_add_years(not_before, CA_VALIDITY_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def encrypt_authority_key(private_key: ec.EllipticCurvePrivateKey, ca_key: bytes) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(ca_key),
    ).decode("ascii")


def decrypt_authority_key(encrypted_pem: str, ca_key: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(encrypted_pem.encode("ascii"), password=ca_key)
    except (ValueError, TypeError) as error:
        raise CaKeyUnreadable() from error
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CaKeyUnreadable()
    return key


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode()[:limit]
    return encoded.decode(errors="ignore")


def subject_for(function: CardFunction, serial: int, holder: Holder) -> x509.Name:
    """利用者証明用: an opaque name from the serial alone, as in the real card (a login must not
    hand the holder's name and address to every service). 署名用: name and address."""
    if function is CardFunction.AUTH:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"JPKI-AUTH-{serial_hex(serial).upper()}"),
            ]
        )
    full_name = f"{holder.family_name} {holder.given_name}"
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            # The common name is capped at 64 bytes; surname and given name carry it in full.
            x509.NameAttribute(
                NameOID.COMMON_NAME, _truncate_utf8(full_name, _MAX_COMMON_NAME_BYTES)
            ),
            x509.NameAttribute(NameOID.SURNAME, holder.family_name),
            x509.NameAttribute(NameOID.GIVEN_NAME, holder.given_name),
            x509.NameAttribute(
                NameOID.STREET_ADDRESS, f"{holder.municipality_code} {holder.address_line}"
            ),
        ]
    )


def card_certificate(
    *,
    function: CardFunction,
    serial: int,
    public_key: ec.EllipticCurvePublicKey,
    holder: Holder,
    not_before: datetime,
    not_after: datetime,
    authority: x509.Certificate,
    authority_key: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    key_usage = _key_usage(digital_signature=True, content_commitment=function is CardFunction.SIGN)
    authority_ski = authority.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return (
        x509.CertificateBuilder()
        .subject_name(subject_for(function, serial, holder))
        .issuer_name(authority.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(_whole_seconds(not_before))
        .not_valid_after(_whole_seconds(not_after))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(authority_ski.value),
            critical=False,
        )
        .sign(authority_key, hashes.SHA256())
    )


def revocation_list(
    *,
    entries: Iterable[CrlEntry],
    number: int,
    now: datetime,
    authority: x509.Certificate,
    authority_key: ec.EllipticCurvePrivateKey,
) -> x509.CertificateRevocationList:
    this_update = _whole_seconds(now)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(authority.subject)
        .last_update(this_update)
        .next_update(this_update + CRL_LIFETIME)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_key.public_key()),
            critical=False,
        )
    )
    for entry in entries:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(_whole_seconds(entry.revoked_at))
            .add_extension(x509.CRLReason(entry.reason), critical=False)
            .build()
        )
    return builder.sign(authority_key, hashes.SHA256())


def issued_by(certificate: x509.Certificate, authority: x509.Certificate) -> bool:
    """Whether ``authority`` signed ``certificate``; a one-level hierarchy has no other chain."""
    try:
        certificate.verify_directly_issued_by(authority)
    except (InvalidSignature, ValueError, TypeError):  # bad signature, other issuer, other key
        return False
    return True
