"""職員の役割 (staff roles). Pure: no I/O.

Roles follow the desks of the seed: the 相談窓口 registers a protected person and alone sees the
protected region; the お知らせ送信担当 screens destination files; the 交付窓口 handles cards.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from fukaiji.staff.errors import InvalidRole, MissingRoles


class StaffRole(StrEnum):
    CONSULTATION_DESK = "consultation_desk"
    BUSINESS_DESK = "business_desk"
    NOTICE_SENDER = "notice_sender"
    CARD_WINDOW = "card_window"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    StaffRole.CONSULTATION_DESK: "相談窓口",
    StaffRole.BUSINESS_DESK: "事務担当",
    StaffRole.NOTICE_SENDER: "お知らせ送信担当",
    StaffRole.CARD_WINDOW: "交付窓口",
    StaffRole.ADMINISTRATOR: "管理者",
}


def parse_roles(values: Iterable[str]) -> frozenset[StaffRole]:
    """The roles named by ``values``; at least one, each a known role."""
    roles: set[StaffRole] = set()
    for value in values:
        try:
            roles.add(StaffRole(value))
        except ValueError as error:
            raise InvalidRole(str(value), [role.value for role in StaffRole]) from error
    if not roles:
        raise MissingRoles()
    return frozenset(roles)


def sorted_roles(roles: Iterable[StaffRole]) -> list[StaffRole]:
    """Roles in declaration order, so that lists and audit entries read the same every time."""
    order = list(StaffRole)
    return sorted(roles, key=order.index)
