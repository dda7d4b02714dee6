"""識別番号 (identifiers): value types and rules of the numbers of the My Number system.

個人番号 (My Number), 住民票コード (resident record code), 地方公共団体コード (local government
code), 団体内統合宛名番号 (addressee number) and 機関別符号 (institution-specific code). Pure: no
I/O except reading the shipped list of local governments.
"""

from __future__ import annotations

from collections.abc import Callable

from fukaiji.identifiers.addressee_number import AddresseeNumber
from fukaiji.identifiers.errors import InvalidIdentifier, UnknownLocalGovernment
from fukaiji.identifiers.institution_specific_code import InstitutionSpecificCode
from fukaiji.identifiers.local_government import (
    LocalGovernment,
    LocalGovernmentCode,
    all_local_governments,
    find_local_governments,
    lookup_local_government,
)
from fukaiji.identifiers.my_number import MyNumber, MyNumberGenerator
from fukaiji.identifiers.resident_record_code import ResidentRecordCode


def _parse_listed_local_government_code(text: str) -> LocalGovernmentCode:
    # A checker must refuse a well-formed code that names no real local government.
    return lookup_local_government(text).code


IDENTIFIER_KINDS: dict[str, tuple[str, Callable[[str], object]]] = {
    "my-number": (MyNumber.FIELD, MyNumber.parse),
    "resident-record-code": (ResidentRecordCode.FIELD, ResidentRecordCode.parse),
    "local-government-code": (LocalGovernmentCode.FIELD, _parse_listed_local_government_code),
    "addressee-number": (AddresseeNumber.FIELD, AddresseeNumber.parse),
    "institution-specific-code": (InstitutionSpecificCode.FIELD, InstitutionSpecificCode.parse),
}
"""CLI kind name -> (Japanese label, parser). Every parser raises InvalidIdentifier and returns a
value whose ``str()`` is the canonical form."""

__all__ = [
    "IDENTIFIER_KINDS",
    "AddresseeNumber",
    "InstitutionSpecificCode",
    "InvalidIdentifier",
    "LocalGovernment",
    "LocalGovernmentCode",
    "MyNumber",
    "MyNumberGenerator",
    "ResidentRecordCode",
    "UnknownLocalGovernment",
    "all_local_governments",
    "find_local_governments",
    "lookup_local_government",
]
