"""お知らせ送信担当 screens. The 福祉課 of 大阪市 writes a notice, uploads its destination file,
screens it and sends it; 花子, registered by the DV相談窓口 while 太郎 is still her proxy, is
removed (by count, never by name) and her folder gets nothing. The attacks: another role, another
institution's notice, another department's, a forged form, a file with bad rows in strict mode."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.portal.conftest import PortalWorld
from tests.screens.conftest import log_in_on_screen
from tests.web.conftest import AsStaff, StaffLogin
from tests.web.conftest import as_staff as as_staff
from tests.web.conftest import client as client
from tests.web.test_notices_api import (
    HEADER,
    MY_NUMBER,
    TITLE,
    csv_text,
    inbox_titles,
    neighbour,
    protected_victim,
)
from tests.web.test_notices_api import desk as desk
from tests.web.test_notices_api import outsider as outsider
from tests.web.test_notices_api import sender as sender
from tests.web.test_notices_api import tax_sender as tax_sender
from tests.web.test_notices_api import world as world
from tests.web.test_protection_api import audit_entries

from fukaiji.notices import jobs
from fukaiji.staff.roles import StaffRole

NOTICES = "/staff/notices"
NOTICE_PATH = re.compile(r"^/staff/notices/([0-9a-f-]{36})\?done=created$")


def _write(screens: TestClient, token: str, **changes: str) -> str:
    """A notice written through the form; returns its id."""
    body = {"title": TITLE, "body": "申請を受け付けています。\r\n二行目", "category": "benefit"}
    created = screens.post(NOTICES, data=body | changes | {"csrf_token": token})
    assert created.status_code == 303, created.text
    return NOTICE_PATH.match(created.headers["location"]).group(1)


def _upload(screens: TestClient, token: str, notice_id: str, data: bytes, **fields: str):
    return screens.post(
        f"{NOTICES}/{notice_id}/destination",
        data={"csrf_token": token, "encoding": "auto"} | fields,
        files={"file": ("宛先.csv", data, "text/csv")},
    )


def test_a_notice_is_written_uploaded_screened_and_sent_with_its_progress_polled(
    screens: TestClient,
    as_staff: AsStaff,
    desk: StaffLogin,
    sender: StaffLogin,
    world: PortalWorld,
    engine: Engine,
) -> None:
    victim, victim_number = protected_victim(screens, as_staff, desk, world)
    jiro, jiro_number = neighbour(world)
    token = log_in_on_screen(screens, sender)
    assert "お知らせはまだありません" in screens.get(NOTICES).text
    form = screens.get(f"{NOTICES}/new").text
    assert "福祉課" in form and 'id="field-category"' in form

    notice_id = _write(screens, token)
    uploaded = _upload(screens, token, notice_id, csv_text(jiro_number, victim_number).encode())
    assert uploaded.headers["location"] == f"{NOTICES}/{notice_id}?done=uploaded"
    page = screens.get(uploaded.headers["location"]).text
    assert "宛先ファイルを添付しました" in page and "宛先.csv" in page
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page

    screened = screens.post(f"{NOTICES}/{notice_id}/screening", data={"csrf_token": token})
    assert screened.headers["location"] == f"{NOTICES}/{notice_id}?done=screened"
    page = screens.get(screened.headers["location"]).text
    assert re.search(r"除外した宛先</dt><dd[^>]*>1 件", page)
    assert re.search(r"送信する宛先</dt><dd[^>]*>1 件", page)
    assert "要確認 (留意すべき対象者)" in page
    assert "除外した行（行番号）</dt><dd>3</dd>" in page  # the API shows the writer the row
    for secret in (victim_number, "山田 花子", "DV相談窓口", "271004"):
        assert secret not in page, secret

    sent = screens.post(f"{NOTICES}/{notice_id}/send", data={"csrf_token": token})
    assert sent.headers["location"] == f"{NOTICES}/{notice_id}/delivery"
    job_page = screens.get(sent.headers["location"]).text
    assert "送信待ち" in job_page and "送信済み 0 / 1 件" in job_page
    assert f'hx-get="{NOTICES}/{notice_id}/delivery/progress"' in job_page
    assert 'hx-trigger="every 2s"' in job_page
    assert f'href="{NOTICES}/{notice_id}/delivery"' in job_page  # a reload works without JS
    fragment = screens.get(
        f"{NOTICES}/{notice_id}/delivery/progress", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'hx-trigger="every 2s"' in fragment.text

    assert jobs.work(engine, once=True) == 1
    fragment = screens.get(f"{NOTICES}/{notice_id}/delivery/progress").text
    assert "送信完了" in fragment and "送信済み 1 / 1 件" in fragment
    assert "hx-trigger" not in fragment  # done: the polling stops
    assert re.search(r"利用者フォルダに届けた</th><td[^>]*>1 件", fragment)
    assert re.search(r"宛先ファイルの確認で除外した</th><td[^>]*>1 件", fragment)
    assert inbox_titles(engine, jiro) == [TITLE]
    assert inbox_titles(engine, victim) == []
    listed = screens.get(NOTICES).text
    assert TITLE in listed and "送信完了" in listed
    page = screens.get(f"{NOTICES}/{notice_id}").text
    assert f'action="{NOTICES}/{notice_id}/send"' not in page  # sent once, never again


def test_bad_rows_are_listed_next_to_the_file_field_and_strict_mode_attaches_nothing(
    screens: TestClient, sender: StaffLogin, world: PortalWorld
) -> None:
    first, second = (neighbour(world, name)[1] for name in ("一郎", "二郎"))
    token = log_in_on_screen(screens, sender)
    notice_id = _write(screens, token)
    lines = [
        f"{HEADER},氏名",
        f"{first},大阪 一郎",  # row 2
        "12345,大阪 三郎",  # row 3: not 15 digits
        f"{MY_NUMBER},大阪 四郎",  # row 4: a 12-digit number, never echoed
        f"{first},大阪 一郎",  # row 5: a duplicate of row 2
        f"{second},大阪 二郎",  # row 6
    ]
    data = ("\n".join(lines) + "\n").encode("cp932")

    strict = _upload(screens, token, notice_id, data, strict="on")
    assert strict.status_code == 422
    error = re.search(r'<div class="field-error" id="error-file">(.*?)</div>', strict.text, re.S)
    assert error, "the faults stand next to the file field"
    rows = re.findall(r"<li>(\d+) 行目", error.group(1))
    assert rows == ["3", "4", "5"]
    assert "15 桁ではありません" in error.group(1) and "2 行目と重複" in error.group(1)
    assert MY_NUMBER not in strict.text and "(12 桁の番号: 表示しません)" in strict.text
    assert 'aria-describedby="hint-file error-file"' in strict.text
    assert 'name="strict" type="checkbox" value="on" checked' in strict.text
    assert "宛先ファイルはまだ添付されていません" in strict.text  # nothing attached

    lenient = _upload(screens, token, notice_id, data)
    assert lenient.status_code == 303
    page = screens.get(f"{NOTICES}/{notice_id}").text
    assert re.search(r"宛先として読めた行</dt><dd[^>]*>2 件", page)
    faults = re.findall(r'<tr><th scope="row" class="numeric">(\d+)</th>', page)
    assert faults == ["3", "4", "5"]
    assert MY_NUMBER not in page


def test_refused_input_is_shown_next_to_its_field_and_changes_nothing(
    screens: TestClient, sender: StaffLogin, world: PortalWorld
) -> None:
    _, number = neighbour(world)
    token = log_in_on_screen(screens, sender)
    empty = screens.post(
        NOTICES, data={"title": " ", "body": "本文", "category": "tax", "csrf_token": token}
    )
    assert empty.status_code == 422
    assert 'id="error-title"' in empty.text and 'value=" "' in empty.text
    gossip = screens.post(
        NOTICES, data={"title": "件名", "body": "本文", "category": "gossip", "csrf_token": token}
    )
    assert gossip.status_code == 422 and 'id="error-category"' in gossip.text
    assert "お知らせはまだありません" in screens.get(NOTICES).text

    notice_id = _write(screens, token)
    unsent = screens.post(f"{NOTICES}/{notice_id}/send", data={"csrf_token": token})
    assert unsent.status_code == 422
    assert 'id="error-file"' in unsent.text and "宛先ファイルが添付されていません" in unsent.text
    no_file = screens.post(
        f"{NOTICES}/{notice_id}/destination", data={"csrf_token": token, "encoding": "auto"}
    )
    assert no_file.status_code == 422 and "宛先ファイルを選んでください" in no_file.text
    wrong_encoding = _upload(
        screens, token, notice_id, csv_text(number).replace("大阪", "髙橋").encode("cp932"),
        encoding="utf-8",
    )  # fmt: skip
    assert wrong_encoding.status_code == 422
    assert 'id="error-encoding"' in wrong_encoding.text
    no_column = _upload(screens, token, notice_id, "氏名\n大阪 太郎\n".encode())
    assert no_column.status_code == 422 and 'id="error-file"' in no_column.text
    for size in (16 * 1024 * 1024 + 1, 17 * 1024 * 1024):  # the file, and the whole form
        too_large = _upload(screens, token, notice_id, b"0" * size)
        assert too_large.status_code == 413 and "16 MiB" in too_large.text
    page = screens.get(f"{NOTICES}/{notice_id}").text
    assert "宛先ファイルはまだ添付されていません" in page


def test_another_role_is_refused_every_notice_screen(
    screens: TestClient, sender: StaffLogin, make_staff, engine: Engine
) -> None:
    token = log_in_on_screen(screens, sender)
    notice_id = _write(screens, token)
    window = make_staff("osaka_window", StaffRole.CARD_WINDOW, institution_code="271004")
    with TestClient(screens.app, follow_redirects=False) as other:
        other_token = log_in_on_screen(other, window)
        for path in (NOTICES, f"{NOTICES}/{notice_id}", f"{NOTICES}/{notice_id}/delivery"):
            assert other.get(path).status_code == 403, path
        refused = other.post(f"{NOTICES}/{notice_id}/send", data={"csrf_token": other_token})
        assert refused.status_code == 403 and "お知らせ送信担当" in refused.text
    assert "未送信" in screens.get(NOTICES).text
    reasons = [json.loads(e.details)["reason"] for e in audit_entries(engine, "access.refused")]
    assert reasons == ["role_missing"] * 4


def test_another_institution_finds_nothing_and_another_department_only_reads(
    screens: TestClient,
    sender: StaffLogin,
    tax_sender: StaffLogin,
    outsider: StaffLogin,
    world: PortalWorld,
    engine: Engine,
) -> None:
    _, number = neighbour(world)
    token = log_in_on_screen(screens, sender)
    notice_id = _write(screens, token)
    assert _upload(screens, token, notice_id, csv_text(number).encode()).status_code == 303

    with TestClient(screens.app, follow_redirects=False) as chiyoda:
        chiyoda_token = log_in_on_screen(chiyoda, outsider)
        assert TITLE not in chiyoda.get(NOTICES).text
        assert chiyoda.get(f"{NOTICES}/{notice_id}").status_code == 404
        assert chiyoda.get(f"{NOTICES}/{notice_id}/delivery/progress").status_code == 404
        for action in ("screening", "send"):
            refused = chiyoda.post(
                f"{NOTICES}/{notice_id}/{action}", data={"csrf_token": chiyoda_token}
            )
            assert refused.status_code == 404, action
        foreign = _upload(chiyoda, chiyoda_token, notice_id, csv_text(number).encode())
        assert foreign.status_code == 404

    with TestClient(screens.app, follow_redirects=False) as tax:
        tax_token = log_in_on_screen(tax, tax_sender)
        page = tax.get(f"{NOTICES}/{notice_id}")
        assert page.status_code == 200 and "福祉課の職員だけが行えます" in page.text
        assert 'type="file"' not in page.text
        for action in ("screening", "send"):
            refused = tax.post(f"{NOTICES}/{notice_id}/{action}", data={"csrf_token": tax_token})
            assert refused.status_code == 403, action
        assert _upload(tax, tax_token, notice_id, csv_text(number).encode()).status_code == 403

    page = screens.get(f"{NOTICES}/{notice_id}").text
    assert "まだ確認していません" in page and "未送信" in page
    reasons = [json.loads(e.details)["reason"] for e in audit_entries(engine, "access.refused")]
    assert reasons == ["not_sending_department"] * 3


@pytest.mark.parametrize("forged", [{"csrf_token": "forged"}, {}], ids=["forged", "missing"])
def test_a_forged_form_is_refused_and_nothing_is_sent(
    screens: TestClient, sender: StaffLogin, world: PortalWorld, forged: dict[str, str]
) -> None:
    _, number = neighbour(world)
    token = log_in_on_screen(screens, sender)
    notice_id = _write(screens, token)
    assert _upload(screens, token, notice_id, csv_text(number).encode()).status_code == 303
    refused = screens.post(f"{NOTICES}/{notice_id}/send", data=forged)
    assert refused.status_code == 403 and "<h1>" in refused.text
    upload = screens.post(
        f"{NOTICES}/{notice_id}/destination",
        data=forged,
        files={"file": ("別.csv", csv_text().encode(), "text/csv")},
    )
    assert upload.status_code == 403
    page = screens.get(f"{NOTICES}/{notice_id}").text
    assert "未送信" in page and "宛先.csv" in page
