"""``fukaiji protection``: the consultation desk (相談窓口) and its 不開示措置, for scripts.

The operator acts for one department of one institution (``--institution`` and, where the
desk's need-to-know applies, ``--department``): only the registering desk sees a protection's
facts and region; another department learns that the person is to be watched; another
institution is told "not found". A person is given by ``--my-number`` (used to find them in the
resident register and going no further) or by the institution's ``--addressee`` number; nothing
printed carries a 個人番号.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from fukaiji import intermediate
from fukaiji.cli._common import (
    cli_actor,
    console,
    engine_from_settings,
    errors,
    fail,
    settings,
    unit_of_work,
)
from fukaiji.db.base import utc_now
from fukaiji.errors import DomainError
from fukaiji.identifiers import InvalidIdentifier, MyNumber
from fukaiji.intermediate.addressee_files import ADDRESSEE_COLUMN
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.network.institutions import get_department, get_institution
from fukaiji.network.models import Institution
from fukaiji.portal.states import InboxCategory
from fukaiji.protection import consent as consents
from fukaiji.protection import exclusion, ledger, messages, requests, service
from fukaiji.protection.errors import InvalidProtection
from fukaiji.protection.exposure import ExposedItem, ExposureReport, check_exposure
from fukaiji.protection.facts import CaseFacts
from fukaiji.protection.models import Consent, Protection
from fukaiji.protection.region import ProtectedRegion
from fukaiji.protection.service import Requester, View, Viewer
from fukaiji.protection.states import ConsentChannel, DeskMessageKind
from fukaiji.protection.status import ProtectionStatus, current_status
from fukaiji.protection.sweeper import sweep_all
from fukaiji.registry import service as registry
from fukaiji.registry.errors import RegistryError
from fukaiji.registry.models import Person

protection_app = typer.Typer(
    help="不開示措置と相談窓口 (保護対象者・露出確認・宛先除外・同意・紙台帳)",
    no_args_is_help=True,
)
consent_app = typer.Typer(help="本人の同意 (consent to receive a notice)", no_args_is_help=True)
ledger_app = typer.Typer(help="紙台帳 (paper ledger of persons under 不開示)", no_args_is_help=True)
protection_app.add_typer(consent_app, name="consent")
protection_app.add_typer(ledger_app, name="ledger")

T = TypeVar("T")
TOKYO = ZoneInfo("Asia/Tokyo")
EXIT_EXPOSED = 1

Institution_ = Annotated[
    str, typer.Option("--institution", help="自機関のコード (institution code)")
]
Department = Annotated[
    str, typer.Option("--department", help="自分の部署名 (your department, e.g. DV相談窓口)")
]
MyNumberOption = Annotated[
    str | None, typer.Option("--my-number", help="個人番号 (the number handed in at the desk)")
]
AddresseeOption = Annotated[
    str | None, typer.Option("--addressee", help="団体内統合宛名番号 (15 桁)")
]
Addressee = Annotated[str, typer.Option("--addressee", help="団体内統合宛名番号 (15 桁)")]
ProtectionId = Annotated[uuid.UUID, typer.Argument(help="保護対象者の ID (protection id)")]
SupporterBody = Annotated[
    str | None,
    typer.Option("--supporter-body", help="支援者からの申出: 支援者の機関・団体名 (2(1)注)"),
]
SupporterReason = Annotated[
    str | None,
    typer.Option("--supporter-reason", help="支援者からの申出: 本人が申し出られない理由"),
]
Regions = Annotated[
    list[str] | None,
    typer.Option("--region", help="保護地域: 避難先の都道府県・市区町村コード (繰り返し可)"),
]
FledOn = Annotated[str | None, typer.Option("--fled-on", help="避難した日 YYYY-MM-DD")]
PerpetratorMyNumber = Annotated[
    str | None, typer.Option("--perpetrator-my-number", help="加害者の個人番号 (分かる場合)")
]

# The CLI option behind a field a service names, so that a refusal points at what to retype.
_OPTIONS = {
    "supporter_body": "--supporter-body",
    "supporter_reason": "--supporter-reason",
    "fled_on": "--fled-on",
    "保護地域": "--region",
    "perpetrator": "--perpetrator-my-number",
    "department": "--department",
    "部署": "--department",
    "機関コード": "--institution",
    "団体内統合宛名番号": "--addressee",
    "addressee_number": "--addressee",
    "個人番号": "--my-number",
    "person": "--my-number / --addressee",
    "given_on": "--given-on",
    "channel": "--channel",
    "category": "--category",
    "notice_id": "--notice-id",
    "note": "--note",
    "文字コード": "--encoding",
}
# ---- shared helpers -------------------------------------------------------------------------


def _refused(error: DomainError) -> typer.Exit:
    if isinstance(error, ledger.LedgerRejected):
        return _reject(error)
    option = _OPTIONS.get(error.field)
    field = f"{error.field} ({option})" if option else error.field
    return fail(escape(f"{field}: {error.message}"))


def _run(work: Callable[[Session], T]) -> T:
    """``work`` in one transaction. A refusal exits 2 naming the field; one that keeps its
    changes (an audited attempt) is committed first, everything else is rolled back."""
    kept: DomainError | None = None
    with unit_of_work() as session:
        try:
            return work(session)
        except DomainError as error:
            if not error.keep_changes:
                raise _refused(error) from error
            kept = error
    raise _refused(kept)


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise fail(f"{option} {escape(text)}: YYYY-MM-DD で指定してください") from error


def _my_number(text: str | None, option: str = "--my-number") -> MyNumber | None:
    """The number parsed before any database work; a fault is told without echoing the value."""
    if text is None:
        return None
    try:
        return MyNumber.parse(text)
    except InvalidIdentifier as error:
        raise fail(f"個人番号 ({option}): {error.fault_ja} ({error.fault_en})") from error


def _one_person(my_number: str | None, addressee: str | None) -> MyNumber | None:
    if (my_number is None) == (addressee is None):
        raise fail(
            "--my-number か --addressee のどちらか一方を指定してください"
            " (give exactly one of --my-number and --addressee)"
        )
    return _my_number(my_number)


def _person_id(
    session: Session, place: Institution, number: MyNumber | None, addressee: str | None
) -> uuid.UUID:
    if number is not None:
        return registry.find_by_my_number(session, number).id
    assert addressee is not None  # noqa: S101  _one_person said exactly one
    return intermediate.person_of(session, institution=place, addressee_number=addressee)


def _desk(session: Session, institution: str, department: str) -> tuple[Institution, int]:
    """The institution and the id of the operator's department in it."""
    place = get_institution(session, institution)
    return place, get_department(session, institution_code=place.code, name=department).id


def _viewer(session: Session, institution: str, department: str) -> Viewer:
    place, department_id = _desk(session, institution, department)
    return Viewer(place.id, place.code, department_id, cli_actor())


def _requester(body: str | None, reason: str | None) -> Requester:
    """A supporter's request when either supporter option is given, else the person's own."""
    who = "person" if body is None and reason is None else "supporter"
    try:
        return Requester.checked(who, body, reason)
    except DomainError as error:
        raise _refused(error) from error


def _network_key() -> bytes:
    return settings().derive_key(NETWORK_KEY_PURPOSE)


def _local(at: datetime) -> str:
    return at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


def _yes(value: bool, text: str = "はい") -> str:
    return text if value else ""


def _region_text(region: ProtectedRegion) -> str:
    return "、".join(
        f"{name} ({code})" for code, name in zip(region.codes, region.names, strict=True)
    )


# ---- protections ----------------------------------------------------------------------------


def _facts(
    base: CaseFacts,
    session: Session,
    perpetrator: MyNumber | None,
    **given: bool | None,
) -> CaseFacts:
    changes: dict[str, object] = {name: value for name, value in given.items() if value is not None}
    if perpetrator is not None:
        try:
            changes["perpetrator_id"] = registry.find_by_my_number(session, perpetrator).id
        except RegistryError as error:  # named as the perpetrator's, not the person's, number
            raise InvalidProtection("perpetrator", error.message) from error
    return dataclasses.replace(base, **changes)


@protection_app.command("register")
def register(
    institution: Institution_,
    department: Department,
    region: Regions = None,
    my_number: MyNumberOption = None,
    addressee: AddresseeOption = None,
    own_procedures: Annotated[
        bool, typer.Option(help="ケース①: 避難先で本人が手続をする (既定: する)")
    ] = True,
    card_left_behind: Annotated[bool, typer.Option(help="ケース②: カードを置いたまま避難")] = False,
    perpetrator_proxy: Annotated[bool, typer.Option(help="ケース②: 加害者が代理人")] = False,
    perpetrator_legal: Annotated[bool, typer.Option(help="ケース②: 加害者が法定代理人")] = False,
    perpetrator_my_number: PerpetratorMyNumber = None,
    supporter_body: SupporterBody = None,
    supporter_reason: SupporterReason = None,
    fled_on: FledOn = None,
) -> None:
    """保護対象者を登録します (register a person to protect, with the facts and the region)."""
    number = _one_person(my_number, addressee)
    perpetrator = _my_number(perpetrator_my_number, "--perpetrator-my-number")
    requester = _requester(supporter_body, supporter_reason)
    fled = _date(fled_on, "--fled-on")
    key = _network_key()

    def work(session: Session) -> Protection:
        place, department_id = _desk(session, institution, department)
        facts = _facts(
            CaseFacts(False, False, False, False),
            session,
            perpetrator,
            own_procedures=own_procedures,
            card_left_behind=card_left_behind,
            perpetrator_is_proxy=perpetrator_proxy,
            perpetrator_is_legal_representative=perpetrator_legal,
        )
        return service.register_protection(
            session,
            institution=place,
            department_id=department_id,
            person_id=_person_id(session, place, number, addressee),
            facts=facts,
            region_codes=region or [],
            requester=requester,
            fled_on=fled,
            network_key=key,
            actor=cli_actor(),
        )

    protection = _run(work)
    console.print(f"[green]✓[/green] 保護対象者 {protection.id} を登録しました (registered)")
    console.print(f"  団体内統合宛名番号: {protection.addressee_number}")


@protection_app.command("update")
def update(
    protection_id: ProtectionId,
    institution: Institution_,
    department: Department,
    region: Regions = None,
    own_procedures: Annotated[bool | None, typer.Option(help="ケース①")] = None,
    card_left_behind: Annotated[bool | None, typer.Option(help="カードを置いたまま避難")] = None,
    perpetrator_proxy: Annotated[bool | None, typer.Option(help="加害者が代理人")] = None,
    perpetrator_legal: Annotated[bool | None, typer.Option(help="加害者が法定代理人")] = None,
    perpetrator_my_number: PerpetratorMyNumber = None,
    fled_on: FledOn = None,
) -> None:
    """事案の内容・保護地域・避難日を訂正します。登録した窓口だけができます (correct a case)."""
    perpetrator = _my_number(perpetrator_my_number, "--perpetrator-my-number")
    fled = _date(fled_on, "--fled-on")
    given = {
        "own_procedures": own_procedures,
        "card_left_behind": card_left_behind,
        "perpetrator_is_proxy": perpetrator_proxy,
        "perpetrator_is_legal_representative": perpetrator_legal,
    }
    changes_facts = perpetrator is not None or any(v is not None for v in given.values())
    if not (changes_facts or region or fled):
        raise fail("変更する項目を指定してください (nothing to change)")

    def work(session: Session) -> Protection:
        viewer = _viewer(session, institution, department)
        facts = None
        if changes_facts:
            current = service.desk_protection(session, protection_id=protection_id, viewer=viewer)
            facts = _facts(service.case_facts(current), session, perpetrator, **given)
        return service.update_protection(
            session,
            protection_id=protection_id,
            viewer=viewer,
            facts=facts,
            region_codes=region,
            fled_on=fled,
        )

    protection = _run(work)
    console.print(f"[green]✓[/green] 保護対象者 {protection.id} を更新しました (updated)")


@protection_app.command("list")
def list_(institution: Institution_, department: Department) -> None:
    """自部署が登録した保護対象者の一覧です (the protections your department registered)."""

    def work(session: Session) -> list[tuple[Protection, str, ProtectionStatus]]:
        viewer = _viewer(session, institution, department)
        return [
            (found, session.get_one(Person, found.person_id).name, current_status(session, found))
            for found in service.list_desk_protections(session, viewer=viewer)
        ]

    grid = Table("ID", "宛名番号", "氏名", "除外中", "利用停止手続")
    for protection, name, status in _run(work):
        grid.add_row(
            str(protection.id),
            protection.addressee_number,
            escape(name),
            _yes(status.excluded),
            "完了" if status.usage_stop.complete else "未完了",
        )
    console.print(grid)


@dataclass(frozen=True, slots=True)
class _Shown:
    protection: Protection
    view: View
    name: str = ""
    perpetrator: str | None = None
    status: ProtectionStatus | None = None


@protection_app.command("show")
def show(protection_id: ProtectionId, institution: Institution_, department: Department) -> None:
    """保護対象者を表示します。登録した窓口以外には留意すべきことだけを示します (show one)."""

    def work(session: Session) -> _Shown:
        viewer = _viewer(session, institution, department)
        found, view = service.access_protection(session, protection_id=protection_id, viewer=viewer)
        if view is not View.FULL:
            return _Shown(found, view)
        perpetrator = None
        if found.perpetrator_id is not None:
            perpetrator = session.get_one(Person, found.perpetrator_id).name
        name = session.get_one(Person, found.person_id).name
        return _Shown(found, view, name, perpetrator, current_status(session, found))

    shown = _run(work)
    if shown.status is None:
        console.print("留意すべき対象者です (a person to be watched)")
        return
    _print_case(shown, shown.status.facts)
    _print_status(shown.status)


def _print_case(shown: _Shown, facts: CaseFacts) -> None:
    protection = shown.protection
    console.print(f"[bold]保護対象者[/bold] {protection.id}")
    console.print(
        f"  団体内統合宛名番号: {protection.addressee_number}  氏名: {escape(shown.name)}"
    )
    console.print(f"  保護地域: {_region_text(service.protected_region(protection))}")
    console.print(f"  避難した日: {protection.fled_on or '不明'}")
    rows = (
        ("本人の手続 (ケース①)", facts.own_procedures),
        ("カードを置いたまま避難", facts.card_left_behind),
        ("加害者が代理人", facts.perpetrator_is_proxy),
        ("加害者が法定代理人", facts.perpetrator_is_legal_representative),
    )
    console.print(
        "  事案: " + "、".join(f"{label} {'あり' if on else 'なし'}" for label, on in rows)
    )
    console.print(f"  加害者: {escape(shown.perpetrator) if shown.perpetrator else '特定なし'}")
    if protection.requested_by == "supporter":
        console.print(
            f"  申出者: 支援者 {escape(protection.supporter_body or '')}"
            f" (理由: {escape(protection.supporter_reason or '')})"
        )
    else:
        console.print("  申出者: 本人")
    console.print(f"  登録: {_local(protection.registered_at)} {escape(protection.registered_by)}")


def _print_status(status: ProtectionStatus) -> None:
    stop = status.usage_stop
    console.print(f"[bold]利用停止手続[/bold]: {'完了' if stop.complete else '未完了'}")
    for path in stop.open_paths:
        console.print(f"  開いている経路: {escape(path)}")
    console.print(f"[bold]宛先除外[/bold]: {'除外中' if status.excluded else '解除'}")
    console.print("[bold]案内[/bold]")
    for step in status.steps:
        where = "" if step.required else " (必要に応じて)"
        console.print(f"  {'✓' if step.done else '□'} {escape(step.title)}{where}")
        console.print(f"      {escape(step.reason)}")


# ---- the exposure check ---------------------------------------------------------------------


@protection_app.command("exposure")
def exposure(
    protection_id: ProtectionId,
    institution: Institution_,
    department: Department,
    fail_if_exposed: Annotated[
        bool, typer.Option(help="露出があれば終了コード 1 にします (for scripts)")
    ] = False,
) -> None:
    """加害者から見える情報のうち保護地域が分かるものを表示します (the exposure check)."""
    key = _network_key()

    def work(session: Session) -> ExposureReport:
        viewer = _viewer(session, institution, department)
        found = service.desk_protection(session, protection_id=protection_id, viewer=viewer)
        return check_exposure(session, found, network_key=key, actor=viewer.actor)

    report = _run(work)
    console.print(f"開いている経路 (open paths): {len(report.paths)} 件")
    if report.held_back:
        console.print(
            f"隠している項目 {len(report.held_back)} 件: 保護のため、開いている経路には"
            "表示していません。経路を閉じれば、本人には再び表示されます。"
        )
        console.print(_exposure_table(report.held_back))
    if not report.exposed:
        console.print("[green]✓[/green] 露出なし (no exposure)")
        return
    if report.details_withheld:
        console.print(
            "この窓口は保護地域の中の市区町村・都道府県ではないため、項目ごとの内容は表示しません。"
            "経路が開いている間は、加害者から見える情報があるものとして扱ってください。"
        )
    console.print(f"[red]✗[/red] 保護地域が分かる情報 {len(report.items)} 件 (exposed items)")
    console.print(_exposure_table(report.items))
    if fail_if_exposed:
        raise typer.Exit(EXIT_EXPOSED)


def _exposure_table(items: tuple[ExposedItem, ...]) -> Table:
    grid = Table()
    for header in ("経路", "表示", "機関", "項目", "理由", "対策"):
        grid.add_column(header, overflow="fold")  # cut, a measure would be lost
    for item in items:
        path = item.path.kind.label
        if item.path.grant_id is not None:
            path += f" (代理人設定 {item.path.grant_id})"
        grid.add_row(
            path,
            item.view.label,
            escape("\n".join(dict.fromkeys(i.name for i in item.institutions))),
            escape(item.title),
            escape("\n".join(f"・{reason}" for reason in item.reasons)),
            escape("\n".join(f"・{measure}" for measure in item.measures)),
        )
    return grid


# ---- requests, exclusions, watch, sweep, messages -------------------------------------------


@protection_app.command("request-nondisclosure")
def request_nondisclosure(
    institution: Institution_,
    my_number: MyNumberOption = None,
    addressee: AddresseeOption = None,
    supporter_body: SupporterBody = None,
    supporter_reason: SupporterReason = None,
) -> None:
    """不開示措置の申出を受け、不開示フラグを設定します。過去の記録・副本も不開示になります."""
    number = _one_person(my_number, addressee)
    requester = _requester(supporter_body, supporter_reason)
    key = _network_key()

    def work(session: Session) -> requests.RequestReport:
        place = get_institution(session, institution)
        return requests.request_nondisclosure(
            session,
            institution=place,
            person_id=_person_id(session, place, number, addressee),
            requester=requester,
            network_key=key,
            actor=cli_actor(),
        )

    report = _run(work)
    flag = report.flag
    if not flag.newly_set:
        errors.print("不開示フラグは設定済みです (the flag was already set)")
    console.print(
        f"[green]✓[/green] 申出 {report.request_id}: 団体内統合宛名番号 {flag.addressee_number}"
        f" に不開示フラグを設定しました (flag set)"
    )
    console.print(
        f"  遡って不開示にしたもの {report.earlier_items_flagged} 件"
        f" (記録 {flag.records_flagged} 件・副本 {flag.items_flagged} 件)"
    )


@protection_app.command("exclusions")
def exclusions(
    institution: Institution_,
    as_csv: Annotated[
        bool, typer.Option("--csv", help=f"「{ADDRESSEE_COLUMN}」の CSV を標準出力に書きます")
    ] = False,
) -> None:
    """お知らせの宛先から除外する対象者の一覧です (the exclusion list, 別添2(3))."""
    entries = _run(
        lambda session: exclusion.exclusion_list(
            session, institution=get_institution(session, institution)
        )
    )
    if as_csv:
        lines = [ADDRESSEE_COLUMN, *(entry.addressee_number for entry in entries)]
        typer.echo("".join(f"{line}\r\n" for line in lines), nl=False)  # CRLF, as Excel saves
        return
    grid = Table("団体内統合宛名番号", "把握元")
    for entry in entries:
        grid.add_row(entry.addressee_number, "・".join(source.label for source in entry.sources))
    console.print(grid)
    console.print(f"{len(entries)} 件")


@protection_app.command("watch")
def watch(institution: Institution_, addressee: Addressee) -> None:
    """留意すべき対象者かどうかを表示します (whether the addressee is to be watched)."""
    watched = _run(
        lambda session: exclusion.to_be_watched(
            session, institution=get_institution(session, institution), addressee_number=addressee
        )
    )
    if watched:
        console.print(f"{addressee}: 留意すべき対象者です (to be watched)")
    else:
        console.print(f"{addressee}: 留意すべき対象者ではありません (not to be watched)")


@protection_app.command("sweep")
def sweep(
    institution: Annotated[
        str | None, typer.Option("--institution", help="この機関だけ (省略すると全機関)")
    ] = None,
) -> None:
    """全ての保護対象者を判定し、利用停止手続の状態の変化を窓口に知らせます。機関ごとに短いトランザクションで行います。"""
    if institution is None:
        with engine_from_settings() as engine:
            changed = sweep_all(engine)
    else:
        changed = _run(
            lambda session: exclusion.sweep(
                session, institution=get_institution(session, institution)
            )
        )
    console.print(f"[green]✓[/green] 状態が変わった保護対象者 {changed} 件")


@protection_app.command("messages")
def desk_messages(
    institution: Institution_,
    department: Department,
    unread: Annotated[bool, typer.Option("--unread", help="未読だけ表示します")] = False,
) -> None:
    """自部署へのお知らせ（除外の解除・再開、転出・転入、他機関からの情報照会、注意）を表示し、既読にします。"""
    now = utc_now()
    found = _run(
        lambda session: messages.desk_messages(
            session,
            viewer=_viewer(session, institution, department),
            unread_only=unread,
            now=now,
        )
    )
    grid = Table("日時", "種別", "内容", "新着")
    for message in found:
        grid.add_row(
            _local(message.created_at),
            DeskMessageKind(message.kind).label,
            escape(message.body),
            "新着" if message.read_at == now else "",
        )
    console.print(grid)
    console.print(f"{len(found)} 件")


# ---- consent ------------------------------------------------------------------------------


@consent_app.command("add")
def consent_add(
    institution: Institution_,
    addressee: Addressee,
    given_on: Annotated[str, typer.Option("--given-on", help="同意した日 YYYY-MM-DD")],
    channel: Annotated[
        str, typer.Option("--channel", help="同意の方法: window (窓口) / phone / writing")
    ],
    notice_id: Annotated[
        uuid.UUID | None, typer.Option("--notice-id", help="このお知らせに同意 (notice id)")
    ] = None,
    category: Annotated[
        str | None,
        typer.Option(
            "--category",
            help="この種別のお知らせ全てに同意: " + ", ".join(c.value for c in InboxCategory),
        ),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="備考")] = None,
) -> None:
    """本人の同意を記録します。除外中でもそのお知らせは届きます (record a consent, 別添2(3)①)."""
    given = _date(given_on, "--given-on")
    assert given is not None  # noqa: S101  --given-on is required

    def work(session: Session) -> Consent:
        return consents.record_consent(
            session,
            institution=get_institution(session, institution),
            addressee_number=addressee,
            given_on=given,
            channel=channel,
            actor=cli_actor(),
            notice_id=notice_id,
            category=category,
            note=note,
        )

    recorded = _run(work)
    console.print(f"[green]✓[/green] 同意 {recorded.id} を記録しました (consent recorded)")


@consent_app.command("list")
def consent_list(institution: Institution_, addressee: Addressee) -> None:
    """この宛名番号の同意を表示します (撤回したものも) (consents of one addressee)."""
    found = _run(
        lambda session: consents.consents_of(
            session, institution=get_institution(session, institution), addressee_number=addressee
        )
    )
    grid = Table("ID", "対象", "同意日", "方法", "記録", "撤回", "備考")
    for item in found:
        scope = (
            f"種別 {InboxCategory(item.category).label}"
            if item.category
            else f"お知らせ {item.notice_id}"
        )
        grid.add_row(
            str(item.id),
            scope,
            str(item.given_on),
            ConsentChannel(item.channel).label,
            _local(item.recorded_at),
            _local(item.withdrawn_at) if item.withdrawn_at else "",
            escape(item.note or ""),
        )
    console.print(grid)


@consent_app.command("withdraw")
def consent_withdraw(
    consent_id: Annotated[int, typer.Argument(help="同意の ID")], institution: Institution_
) -> None:
    """同意の撤回を記録します (withdraw a consent)."""
    _run(
        lambda session: consents.withdraw_consent(
            session,
            institution=get_institution(session, institution),
            consent_id=consent_id,
            actor=cli_actor(),
        )
    )
    console.print(f"[green]✓[/green] 同意 {consent_id} を撤回しました (consent withdrawn)")


# ---- the paper ledger -----------------------------------------------------------------------


@ledger_app.command("import")
def ledger_import(
    file: Annotated[Path, typer.Argument(help="団体内統合宛名番号の CSV (紙台帳)")],
    institution: Institution_,
    encoding: Annotated[
        str | None,
        typer.Option(help="文字コード: utf-8 / utf-8-sig / cp932 (省略すると判定します)"),
    ] = None,
) -> None:
    """紙台帳を取り込みます。誤りが 1 行でもあれば何も取り込みません (all or nothing)."""
    try:
        data = file.read_bytes()
    except OSError as error:
        raise fail(f"{escape(str(file))}: 読めません (cannot read: {error})") from error

    def work(session: Session) -> ledger.LedgerReport:
        return ledger.import_ledger(
            session,
            institution=get_institution(session, institution),
            data=data,
            filename=file.name,
            actor=cli_actor(),
            encoding=encoding,
        )

    report = _run(work)
    console.print(
        f"[green]✓[/green] 取込 {report.import_id}: {report.rows} 行 ({report.encoding.label}),"
        f" 追加 {report.added} 件, 登録済み {report.already_listed} 件"
    )


def _reject(error: ledger.LedgerRejected) -> typer.Exit:
    for fault in error.faults:
        errors.print(f"  {fault.row_number} 行目 {escape(repr(fault.shown_value))}: {fault.reason}")
    return fail(
        f"{ledger.LEDGER_FIELD}: {len(error.faults)} 行に誤りがあるため、何も取り込みませんでした"
        f" (nothing imported; {len(error.faults)} bad rows)"
    )


@ledger_app.command("list")
def ledger_list(institution: Institution_) -> None:
    """紙台帳に載っている宛名番号です (live entries of the paper ledger)."""
    entries = _run(
        lambda session: ledger.ledger_entries(
            session, institution=get_institution(session, institution)
        )
    )
    grid = Table("団体内統合宛名番号", "取込", "行")
    for entry in entries:
        grid.add_row(entry.addressee_number, str(entry.import_id), str(entry.row_number))
    console.print(grid)
    console.print(f"{len(entries)} 件")


@ledger_app.command("withdraw")
def ledger_withdraw(institution: Institution_, addressee: Addressee) -> None:
    """紙台帳から宛名番号を消します (strike an addressee off the paper ledger)."""
    _run(
        lambda session: ledger.withdraw_ledger_entry(
            session,
            institution=get_institution(session, institution),
            addressee_number=addressee,
            actor=cli_actor(),
        )
    )
    console.print(f"[green]✓[/green] {addressee} を紙台帳から消しました (withdrawn)")


__all__ = ["protection_app"]
