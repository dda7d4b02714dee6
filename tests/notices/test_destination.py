"""Destination files and screening: every bad row is reported at its row, strict mode changes
nothing, screening removes the 留意すべき対象者 and tells only the sending department which rows,
never why beyond 要確認."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fukaiji.audit.models import AuditEntry
from fukaiji.notices import jobs, service
from fukaiji.notices.errors import DestinationRejected, NoticeLocked
from fukaiji.notices.models import DestinationFile, DestinationRow


def _notice(office):
    return service.create_notice(
        office.session, sender=office.sender, title="件名", body="本文", category="general"
    )


def test_every_bad_row_is_reported_at_its_row(office) -> None:
    _, good = office.resident("一郎", with_folder=False)
    notice = _notice(office)
    data = (
        f"氏名,団体内統合宛名番号\n山田,{good}\n鈴木,12345\n佐藤,12345678901234X\n"
        f"田中,{good}\n高橋,{'9' * 15}\n"
    ).encode("cp932")
    report = service.attach_destination(
        office.session, notice=notice, sender=office.sender, data=data, filename="a.csv"
    )
    assert (report.rows, report.faults, report.encoding.value) == (1, 4, "cp932")
    faults = service.destination_faults(office.session, notice=notice)
    assert [(f.row_number, f.reason.split(" (")[0]) for f in faults] == [
        (3, "15 桁ではありません（5 桁）"),
        (4, "数字以外を含みます"),
        (5, "2 行目と重複しています"),
        (6, "この機関が付番した宛名番号ではありません"),
    ]


def test_strict_mode_refuses_the_whole_file_and_changes_nothing(office) -> None:
    _, good = office.resident("一郎", with_folder=False)
    notice = _notice(office)
    service.attach_destination(
        office.session, notice=notice, sender=office.sender,
        data=f"団体内統合宛名番号\n{good}\n".encode(), filename="first.csv",
    )  # fmt: skip
    with pytest.raises(DestinationRejected) as refused:
        service.attach_destination(
            office.session, notice=notice, sender=office.sender,
            data=f"団体内統合宛名番号\n{good}\nabc\n".encode(), filename="second.csv", strict=True,
        )  # fmt: skip
    assert [fault.row_number for fault in refused.value.faults] == [3]
    assert service.destination_of(office.session, notice).filename == "first.csv"
    assert office.session.scalar(select(func.count()).select_from(DestinationFile)) == 1


def test_screening_removes_the_watched_and_names_no_reason(office) -> None:
    world = office.desk.world
    victim, victim_number = office.resident("花子")
    _, other = office.resident("次郎")
    world.appoint(victim, world.resident("太郎"))
    office.desk.register(victim, proxy=True)  # perpetrator not identified: every grant a risk
    notice = office.notice(other, victim_number)
    report = service.screen(office.session, notice=notice, sender=office.sender)
    assert (report.rows, report.kept, report.removed, report.removed_rows) == (2, 1, 1, (3,))
    assert report.reason == "要確認 (留意すべき対象者)"

    tax = office.desk.tax  # another department of the same institution
    elsewhere = service.screening_report(office.session, notice=notice, viewer=tax)
    assert (elsewhere.removed, elsewhere.removed_rows) == (1, None)
    screened = office.session.scalar(
        select(func.count()).where(AuditEntry.action == "notices.screened")
    )
    assert screened == 1


def test_once_sending_starts_the_file_cannot_change(office) -> None:
    _, number = office.resident("一郎")
    notice = office.notice(number)
    jobs.start_sending(office.session, notice=notice, sender=office.sender)
    with pytest.raises(NoticeLocked):
        service.attach_destination(
            office.session, notice=notice, sender=office.sender,
            data=f"団体内統合宛名番号\n{number}\n".encode(), filename="late.csv",
        )  # fmt: skip
    with pytest.raises(NoticeLocked):
        jobs.start_sending(office.session, notice=notice, sender=office.sender)


def test_attach_stores_every_row_and_fault_in_chunks_with_their_row_numbers(
    office, monkeypatch
) -> None:
    """Rows go in by bulk inserts a chunk at a time (three rows here, to cross chunks); blank
    lines are skipped, a broken CP932 byte is a fault of its row only, unknown numbers are
    found by one join."""
    monkeypatch.setattr(service, "INSERT_CHUNK", 3)
    numbers = [office.resident(f"住民{i}", with_folder=False)[1] for i in range(7)]
    notice = _notice(office)
    lines = [f"{number},大阪　太郎\r\n".encode("cp932") for number in numbers]
    lines.insert(3, b"\r\n")  # a blank line inside the data
    lines.insert(5, "123456789012345,山田".encode("cp932") + b"\x82\r\n")  # broken name
    lines.append(f"{'9' * 15},不明\r\n".encode("cp932"))
    data = "団体内統合宛名番号,氏名\r\n".encode("cp932") + b"".join(lines)

    report = service.attach_destination(
        office.session, notice=notice, sender=office.sender, data=data, filename="a.csv"
    )

    assert (report.rows, report.faults, report.encoding.value) == (7, 2, "cp932")
    file = service.destination_of(office.session, notice)
    stored = office.session.execute(
        select(DestinationRow.row_number, DestinationRow.addressee_number, DestinationRow.removed)
        .where(DestinationRow.file_id == file.id)
        .order_by(DestinationRow.row_number)
    ).all()
    assert stored == [
        (row, n, False) for row, n in zip([2, 3, 4, 6, 8, 9, 10], numbers, strict=True)
    ]
    faults = service.destination_faults(office.session, notice=notice)
    assert [(f.row_number, f.value) for f in faults] == [(7, "123456789012345"), (11, "9" * 15)]
    assert "CP932" in faults[0].reason
