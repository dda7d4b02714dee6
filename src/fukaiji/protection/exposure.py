"""加害者から見える情報 (the exposure check): for a protected person, exactly what the portal
would show through every path still open to the perpetrator, and every item of it that would
give the protected region away, each with the measure that would close it — and, apart, every
item the protective mask holds back from that path (隠している項目), which the perpetrator does
not see but which the measures would make safe to show to her again.

The paths: the card left behind, while any card the perpetrator may hold can still log in; and
each proxy grant to the perpetrator (every grant, where the perpetrator is not identified). What a
path shows is built by the portal's own view code (``folder_view``; ``new_folder_view`` when the
card could open a folder that does not exist yet), so the check and the portal cannot disagree
(DESIGN §2, one choke point). An item gives the region away when an institution it names is
located there or its text names a place there (``fukaiji.protection.masking``, the same test the
mask applies).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from fukaiji import audit
from fukaiji.db.base import utc_now
from fukaiji.intermediate.display import DisclosableRecord, DisclosableSelfInfo
from fukaiji.network.linkage import InstitutionRef
from fukaiji.network.models import Institution
from fukaiji.portal.folder import (
    FolderPath,
    FolderView,
    ShownItem,
    folder_paths,
    folder_view,
    new_folder_view,
)
from fukaiji.portal.states import GrantKind, ViewKind
from fukaiji.protection.guidance import TOLL_FREE
from fukaiji.protection.live_state import risky_grants
from fukaiji.protection.masking import reasons_given_away, usable_risky_card
from fukaiji.protection.models import Protection
from fukaiji.protection.need_to_know import sees_item_details
from fukaiji.protection.region import ProtectedRegion
from fukaiji.protection.service import judge, protected_region, protection_subject


class PathKind(StrEnum):
    CARD = "card"  # 置いてきたカード
    PROXY = "proxy"  # 代理人 / 法定代理人

    @property
    def label(self) -> str:
        return {"card": "置いてきたカード", "proxy": "代理人設定"}[self.value]


@dataclass(frozen=True, slots=True)
class OpenPath:
    kind: PathKind
    grant_id: int | None
    grant_kind: GrantKind | None
    viewer_person_id: uuid.UUID
    new_folder: bool  # the card would open a folder that does not exist yet
    measure: str
    card_id: int | None = None  # for the card path: a card left behind that can still log in


@dataclass(frozen=True, slots=True)
class ExposedItem:
    path: OpenPath
    view: ViewKind
    item_id: int
    title: str
    institutions: tuple[InstitutionRef, ...]
    reasons: tuple[str, ...]
    measures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExposureReport:
    """``items`` are still shown through an open path; ``held_back`` are kept from it by the
    protective mask (隠している項目). ``details_withheld``: the desk is not in the shelter area
    (``need_to_know``), so both are empty and any open path counts as exposure."""

    protection_id: uuid.UUID
    checked_at: datetime
    paths: tuple[OpenPath, ...]
    items: tuple[ExposedItem, ...]
    details_withheld: bool = False
    held_back: tuple[ExposedItem, ...] = ()

    @property
    def exposed(self) -> bool:
        """False is the answer "no exposure" (露出なし)."""
        return bool(self.items) or (self.details_withheld and bool(self.paths))


def check_exposure(
    session: Session,
    protection: Protection,
    *,
    network_key: bytes,
    actor: str,
    now: datetime | None = None,
) -> ExposureReport:
    """The exposure check as the registering desk may see it (audited): every item for a
    shelter-area desk, otherwise the paths and their measures only (``need_to_know``)."""
    report = full_exposure(session, protection, network_key=network_key, now=now)
    institution = session.get_one(Institution, protection.institution_id)
    desk = InstitutionRef.of(institution)
    region = protected_region(protection)
    if sees_item_details(desk, region):
        shown = tuple(shown_to_desk(item, desk, region) for item in report.items)
        held = tuple(shown_to_desk(item, desk, region) for item in report.held_back)
        report = replace(report, items=shown, held_back=held)
    else:
        # Not even the desk's own items: which of them hit depends on the region it typed.
        report = replace(report, items=(), held_back=(), details_withheld=True)
    audit.record(
        session,
        actor=actor,
        action="protection.exposure_checked",
        institution=institution.code,
        subject=protection_subject(protection.id),
        details={
            "open_paths": len(report.paths),
            "exposed_items": len(report.items),
            "held_back_items": len(report.held_back),
            "details_withheld": report.details_withheld,
        },
    )
    return report


def shown_to_desk(item: ExposedItem, desk: InstitutionRef, region: ProtectedRegion) -> ExposedItem:
    """The item naming only institutions of the region and the desk itself: a record between
    the desk and an institution outside the region would otherwise name that institution, which
    for a desk that chose its own prefecture as the region may be the shelter."""
    kept = tuple(i for i in item.institutions if region.covers(i) or i.id == desk.id)
    if kept == item.institutions:
        return item
    measures = tuple(
        FLAG_MEASURE_UNNAMED if measure == _flag_measure(item.institutions, region) else measure
        for measure in item.measures
    )
    return replace(item, institutions=kept, measures=measures)


def full_exposure(
    session: Session, protection: Protection, *, network_key: bytes, now: datetime | None = None
) -> ExposureReport:
    """Everything every open path shows, or has held back, that gives the region away. Not for
    a desk as it is: ``check_exposure`` applies the need-to-know rule.

    Held back are only the items that give *this* region away: the mask also keeps from the
    path what would give away another desk's region, which this desk must not learn."""
    region = protected_region(protection)
    items: list[ExposedItem] = []
    held_back: list[ExposedItem] = []
    paths = open_paths(session, protection)
    for path in paths:
        view = _view_through(session, protection, path, network_key)
        items.extend(exposed_items(view, path, region))
        held_back.extend(_exposed_among(view.held_back, path, region))
    return ExposureReport(
        protection.id,
        now or utc_now(),
        tuple(paths),
        tuple(items),
        held_back=tuple(held_back),
    )


def open_paths(session: Session, protection: Protection) -> list[OpenPath]:
    """Every way the perpetrator can reach the folder now, card first, then grants by age."""
    facts, state, _ = judge(session, protection)
    folder = folder_paths(session, person_id=protection.person_id)
    paths: list[OpenPath] = []
    card_id = usable_risky_card(session, protection) if facts.card_left_behind else None
    if card_id is not None and state.risky_cards_usable:
        paths.append(_card_path(protection.person_id, card_id, new_folder=not folder))
    grants = risky_grants(
        folder,
        perpetrator_id=facts.perpetrator_id,
        every_grant=facts.card_left_behind and state.stale_account,
    )
    paths.extend(_proxy_path(path) for path in grants)
    return paths


def exposed_items(view: FolderView, path: OpenPath, region: ProtectedRegion) -> list[ExposedItem]:
    """The items one view shows that give the region away. Pure."""
    return _exposed_among((*view.records, *view.self_info, *view.inbox), path, region)


def _exposed_among(
    items: tuple[ShownItem, ...], path: OpenPath, region: ProtectedRegion
) -> list[ExposedItem]:
    found: list[ExposedItem] = []
    for item in items:
        reasons = reasons_given_away(item, region)
        if reasons:
            found.append(_exposed(item, path, reasons, region))
    return found


def _view_through(
    session: Session, protection: Protection, path: OpenPath, network_key: bytes
) -> FolderView:
    if path.new_folder:
        return new_folder_view(
            session, person_id=protection.person_id, card_id=path.card_id, network_key=network_key
        )
    account_id = folder_paths(session, person_id=protection.person_id)[0].account_id
    return folder_view(
        session,
        account_id=account_id,
        viewer_person_id=path.viewer_person_id,
        card_id=path.card_id,
        network_key=network_key,
    )


def _card_path(person_id: uuid.UUID, card_id: int, *, new_folder: bool) -> OpenPath:
    return OpenPath(
        PathKind.CARD,
        None,
        None,
        person_id,
        new_folder,
        f"置いてきたカードの一時停止を連絡し（{TOLL_FREE}）、再交付を受けたカードでログインして"
        "利用者フォルダーを削除する",
        card_id=card_id,
    )


def _proxy_path(path: FolderPath) -> OpenPath:
    kind = path.grant_kind or GrantKind.APPOINTED
    return OpenPath(
        PathKind.PROXY,
        path.grant_id,
        kind,
        path.viewer_person_id,
        False,
        f"{kind.label}設定を解除する（又は利用者フォルダーを削除する。削除すれば代理権も消滅する）",
    )


INBOX_MEASURE = (
    "送信済みのお知らせは、利用者フォルダーを削除すると消える（新しいカードでログインして削除する）"
)


def _exposed(
    item: ShownItem, path: OpenPath, reasons: tuple[str, ...], region: ProtectedRegion
) -> ExposedItem:
    if isinstance(item, DisclosableRecord):
        view, item_id = ViewKind.RECORDS, item.record_id
        title = f"{item.affair_name}（{item.item_name}）"
        item_measure = _flag_measure(item.institutions, region)
    elif isinstance(item, DisclosableSelfInfo):
        view, item_id, title = ViewKind.SELF_INFO, item.item_id, item.item_name
        item_measure = _flag_measure(item.institutions, region)
    else:
        view, item_id, title = ViewKind.INBOX, item.message_id, item.title
        item_measure = INBOX_MEASURE
    return ExposedItem(
        path, view, item_id, title, item.institutions, reasons, (item_measure, path.measure)
    )


FLAG_MEASURE_UNNAMED = (
    "この項目を記録した機関で不開示措置を申し出て不開示フラグを設定する（過去の記録も不開示になる）"
)


def _flag_measure(institutions: tuple[InstitutionRef, ...], region: ProtectedRegion) -> str:
    """Where to ask: the institutions of the region the item names, else whoever holds it."""
    inside = [institution for institution in institutions if region.covers(institution)]
    names = "・".join(dict.fromkeys(institution.name for institution in inside or institutions))
    return f"{names}で不開示措置を申し出て不開示フラグを設定する（過去の記録も不開示になる）"
