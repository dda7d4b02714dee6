"""The perpetrator at the portal, after the desk has registered her and before any measure is
taken: protective masking (fukaiji.protection.masking) must already keep the region from him.

花子 fled from 千代田区 to a shelter in 大阪市; 太郎 is the perpetrator. Before the desk registered
her, her life at the shelter left items in her folder that give 大阪 away: a query by 大阪市, a
副本 of 大阪市, a 副本 of 千代田区 whose content holds the shelter's address, and お知らせ delivered
by 大阪市 and by 千代田区 naming the shelter area in every script and spelling. Nobody has flagged
anything. 太郎 comes in by each path the seed names — the card she left behind (with her folder,
and opening a new one), as her 代理人, as her 法定代理人 — and reads every view through the API
and the screens: nothing of 大阪 is shown. Her own safe session shows everything, and the desk's
exposure check lists what is held back, apart from what is shown.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from tests.attack.test_model import OSAKA_SPELLINGS
from tests.portal.conftest import PortalWorld, Resident, build_portal_world
from tests.web.conftest import TEST_SETTINGS, StaffLogin, login
from tests.web.test_portal_api import PORTAL, card_login, csrf, portal_app, signed_body

from fukaiji import intermediate, portal
from fukaiji.network.codes import NETWORK_KEY_PURPOSE
from fukaiji.portal import proxies
from fukaiji.protection.region import parse_region
from fukaiji.staff.roles import StaffRole

API = "/api/v1"
REGION = parse_region(["271004"])
RESIDENT_RECORD = "TM01000000000001"


@pytest.fixture
def app(engine: Engine):
    return portal_app(engine)


@pytest.fixture
def victim_client(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def perpetrator_client(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def desk_client(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def world(engine: Engine) -> Iterator[PortalWorld]:
    with Session(engine, expire_on_commit=False) as session:
        built = build_portal_world(session)
        built.network_key = TEST_SETTINGS.derive_key(NETWORK_KEY_PURPOSE)
        session.commit()  # an open read would hold SQLite's lock against the app
        yield built


@pytest.fixture
def desk(make_staff, desk_client: TestClient) -> dict[str, str]:
    staff: StaffLogin = make_staff(
        "osaka_desk",
        StaffRole.CONSULTATION_DESK,
        institution_code="271004",
        department="DV相談窓口",
    )
    return csrf(login(desk_client, staff))


@dataclass
class Planted:
    """What her life at the shelter left in the folder, by what the portal shows of it."""

    revealing: list[str]  # titles and names the perpetrator must never read
    harmless_notices: list[str]


def plant(world: PortalWorld, victim: Resident, *, with_notices: bool) -> Planted:
    at_chiyoda = world.enrol(victim, world.chiyoda)
    at_yokohama = world.enrol(victim, world.yokohama)
    at_osaka = world.enrol(victim, world.osaka)
    world.query(world.yokohama, at_yokohama, world.chiyoda)  # gives nothing away
    world.query(world.osaka, at_osaka, world.chiyoda)  # names 大阪市
    world.register(world.osaka, at_osaka, 所得割額=1200)  # 大阪市's 副本, harmless content
    intermediate.register_self_info(  # 千代田区 knows where she went: its 副本 says so
        world.session,
        institution=world.chiyoda,
        addressee_number=at_chiyoda,
        item_code=RESIDENT_RECORD,
        content={"転出先": "大阪市北区梅田一丁目1番1号"},
        publish_from=date(2026, 4, 1),
        actor="test:provider",
    )
    harmless: list[str] = []
    revealing = ["大阪市北区梅田一丁目1番1号"]
    if with_notices:
        for index, spelling in enumerate(OSAKA_SPELLINGS):
            _deliver(world, victim, world.chiyoda.id, f"窓口のご案内{index}", f"{spelling}の窓口")
            revealing.append(spelling)
        _deliver(world, victim, world.osaka.id, "児童手当のお知らせ", "申請を受け付けています。")
        _deliver(world, victim, world.chiyoda.id, "住民税のお知らせ", "納期限のご案内です。")
        harmless.append("住民税のお知らせ")
        revealing.append("児童手当のお知らせ")
    world.session.commit()
    return Planted(revealing, harmless)


def _deliver(world: PortalWorld, victim: Resident, institution_id: int, title: str, body: str):
    delivered = portal.deliver_to_inbox(
        world.session,
        person_id=victim.id,
        institution_id=institution_id,
        title=title,
        body=body,
        category="general",
        actor="test:sender",
    )
    assert delivered


def register(
    desk_client: TestClient,
    desk: dict[str, str],
    victim: Resident,
    *,
    card_left_behind: bool = False,
    proxy: bool = False,
    legal: bool = False,
    perpetrator: Resident | None = None,
) -> str:
    facts = {
        "own_procedures": True,
        "card_left_behind": card_left_behind,
        "perpetrator_is_proxy": proxy,
        "perpetrator_is_legal_representative": legal,
    }
    if perpetrator is not None:
        facts["perpetrator_person_id"] = str(perpetrator.id)
    response = desk_client.post(
        f"{API}/protections",
        json={
            "person_id": str(victim.id),
            "facts": facts,
            "region_codes": ["271004"],
            "requested_by": "person",
        },
        headers=desk,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def everything_read(client: TestClient) -> str:
    """Every view of the folder the session is in, through the API and the screens."""
    texts = []
    for path in ("/folder", "/records", "/self-info", "/inbox"):
        response = client.get(f"{PORTAL}{path}")
        assert response.status_code == 200, (path, response.text)
        texts.append(response.text)
    for path in ("/portal/records", "/portal/self-info", "/portal/inbox"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        texts.append(response.text)
    return "\n".join(texts)


def assert_nothing_of_the_region(text: str, planted: Planted) -> None:
    visible = unicodedata.normalize("NFKC", text)
    for written in planted.revealing:
        assert written not in text and unicodedata.normalize("NFKC", written) not in visible
    assert "大阪" not in visible and "271004" not in visible
    assert REGION.places_named_in(text) == (), REGION.places_named_in(text)


def folder_counts(client: TestClient) -> tuple[int, int, int]:
    folder = client.get(f"{PORTAL}/folder").json()
    return len(folder["records"]), len(folder["self_info"]), len(folder["inbox"])


def held_back_titles(desk_client: TestClient, desk: dict[str, str], protection_id: str) -> dict:
    report = desk_client.get(f"{API}/protections/{protection_id}/exposure", headers=desk)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["items"] == [], "an open path still shows the region"
    return {(item["path_kind"], item["view"], item["title"]) for item in body["held_back"]}


# ---- the card she left behind -------------------------------------------------------------------


def test_the_card_left_behind_reads_nothing_of_the_region_from_the_moment_of_registration(
    world: PortalWorld,
    victim_client: TestClient,
    perpetrator_client: TestClient,
    desk_client: TestClient,
    desk: dict[str, str],
) -> None:
    victim = world.resident()
    world.login(victim.card_token)  # the folder she opened at home
    planted = plant(world, victim, with_notices=True)
    protection_id = register(desk_client, desk, victim, card_left_behind=True)

    card_login(perpetrator_client, world, victim)  # 太郎, with her card and her PIN
    assert_nothing_of_the_region(everything_read(perpetrator_client), planted)
    # Only the harmless: a 横浜市 → 千代田区 record, 千代田区's tax notice; nothing else.
    assert folder_counts(perpetrator_client) == (1, 0, 1)
    held = held_back_titles(desk_client, desk, protection_id)
    assert {view for _, view, _ in held} == {"records", "self_info", "inbox"}
    assert {path for path, _, _ in held} == {"card"}
    assert len(held) == 1 + 2 + len(OSAKA_SPELLINGS) + 1  # records, 副本, お知らせ

    # She suspends the card and gets a new one: the path closes, and her own card sees it all.
    world.suspend(victim)
    world.reissue(victim)
    card_login(victim_client, world, victim)
    everything = everything_read(victim_client)
    for written in planted.revealing:
        assert written in everything or written.replace("\u200b", "") in everything, written
    assert folder_counts(victim_client) == (2, 2, len(OSAKA_SPELLINGS) + 2)


def test_a_card_left_behind_that_opens_a_new_folder_reads_nothing_either(
    world: PortalWorld,
    perpetrator_client: TestClient,
    desk_client: TestClient,
    desk: dict[str, str],
) -> None:
    victim = world.resident()  # never logged in: 太郎's first login opens her folder
    planted = plant(world, victim, with_notices=False)
    protection_id = register(desk_client, desk, victim, card_left_behind=True)
    held = held_back_titles(desk_client, desk, protection_id)
    assert len(held) == 3  # 大阪市's record and 副本, and 千代田区's 副本 naming the shelter

    card_login(perpetrator_client, world, victim)
    assert_nothing_of_the_region(everything_read(perpetrator_client), planted)
    assert folder_counts(perpetrator_client) == (1, 0, 0)


# A few spellings of the twelve, one per way of writing: the first test above sends all twelve as
# お知らせ, and the state machine puts each into 副本 at random moments.
COPY_SPELLINGS = (
    "大\u200b阪\u200d市北区",
    "ｵｵｻｶｼ ｷﾀｸ",
    "Osaka-shi Kita-ku Umeda 1-1",
    "〒530-0001",
)


@pytest.mark.parametrize("spelling", COPY_SPELLINGS)
def test_a_copy_naming_the_shelter_in_any_spelling_is_held_back(
    spelling: str,
    world: PortalWorld,
    perpetrator_client: TestClient,
    desk_client: TestClient,
    desk: dict[str, str],
) -> None:
    victim = world.resident()
    world.login(victim.card_token)
    world.enrol(victim, world.osaka)  # the desk's own person
    at_yokohama = world.enrol(victim, world.yokohama)
    world.register(world.yokohama, at_yokohama, 送付先=f"{spelling} 避難先")
    world.session.commit()
    protection_id = register(desk_client, desk, victim, card_left_behind=True)

    card_login(perpetrator_client, world, victim)
    shown = perpetrator_client.get(f"{PORTAL}/self-info").json()
    assert shown == []
    held = held_back_titles(desk_client, desk, protection_id)
    assert {view for _, view, _ in held} == {"self_info"}


# ---- 代理人 and 法定代理人 ----------------------------------------------------------------


def _enter_as_proxy(client: TestClient, world: PortalWorld, perpetrator: Resident) -> None:
    session = card_login(client, world, perpetrator)
    [folder] = session["proxy_for"]
    switched = client.post(
        f"{PORTAL}/folder/switch",
        json={"account_id": folder["account_id"]},
        headers=csrf(session["csrf_token"]),
    )
    assert switched.status_code == 200, switched.text


@pytest.mark.parametrize("kind", ["appointed", "legal"])
def test_her_proxy_reads_nothing_of_the_region_while_she_reads_everything(
    kind: str,
    world: PortalWorld,
    victim_client: TestClient,
    perpetrator_client: TestClient,
    desk_client: TestClient,
    desk: dict[str, str],
) -> None:
    victim, perpetrator = world.resident(), world.resident("太郎")
    world.login(victim.card_token)
    if kind == "appointed":
        world.appoint(victim, perpetrator)
    else:
        proxies.record_legal_representative(
            world.session,
            person_id=victim.id,
            representative_id=perpetrator.id,
            representation="parental_authority",
            institution=world.chiyoda,
            actor="test:window",
        )
        world.session.commit()
    planted = plant(world, victim, with_notices=True)
    protection_id = register(
        desk_client,
        desk,
        victim,
        proxy=kind == "appointed",
        legal=kind == "legal",
        perpetrator=perpetrator,
    )

    _enter_as_proxy(perpetrator_client, world, perpetrator)
    assert_nothing_of_the_region(everything_read(perpetrator_client), planted)
    assert folder_counts(perpetrator_client) == (1, 0, 1)

    # The card is with her: her own session is safe and shows everything, at the same moment.
    card_login(victim_client, world, victim)
    assert folder_counts(victim_client) == (2, 2, len(OSAKA_SPELLINGS) + 2)
    held = held_back_titles(desk_client, desk, protection_id)
    assert {path for path, _, _ in held} == {"proxy"}


# ---- what the ids and totals say ----------------------------------------------------------------


def test_ids_on_the_portal_are_opaque_so_a_gap_tells_nothing(
    world: PortalWorld,
    victim_client: TestClient,
    perpetrator_client: TestClient,
    desk_client: TestClient,
    desk: dict[str, str],
) -> None:
    victim = world.resident()
    world.login(victim.card_token)
    plant(world, victim, with_notices=True)
    register(desk_client, desk, victim, card_left_behind=True)

    card_login(perpetrator_client, world, victim)
    seen = perpetrator_client.get(f"{PORTAL}/folder").json()
    world.suspend(victim)
    world.reissue(victim)
    card_login(victim_client, world, victim)
    everything = victim_client.get(f"{PORTAL}/folder").json()
    for view, key in (("records", "record_id"), ("self_info", "item_id"), ("inbox", "message_id")):
        ids = [item[key] for item in everything[view]]
        assert all(re.fullmatch("[0-9a-f]{20}", value) for value in ids), ids
        # The same item has the same id on every path: what he saw is a subset of hers.
        assert {item[key] for item in seen[view]} <= set(ids)
    html = perpetrator_client.get("/portal/inbox").text
    assert not re.search(r'id="message-[0-9]+"', html)


def test_folders_and_grants_are_named_by_opaque_ids_and_a_forged_one_names_nothing(
    world: PortalWorld, perpetrator_client: TestClient
) -> None:
    victim, perpetrator = world.resident(), world.resident("太郎")
    grant = world.appoint(victim, perpetrator)
    me = card_login(perpetrator_client, world, perpetrator)
    [folder] = me["proxy_for"]
    for value in (me["account_id"], me["acting_account_id"], folder["account_id"]):
        assert re.fullmatch("[0-9a-f]{32}", value) and value != str(grant.account_id)
    assert re.fullmatch("[0-9a-f]{32}", folder["grant_id"])
    headers = csrf(me["csrf_token"])
    # The row's own number, another kind's token, a flipped bit: each is a folder he may not
    # enter, refused exactly as one that does not exist.
    flipped = folder["account_id"][:-1] + ("0" if folder["account_id"][-1] != "0" else "1")
    refusals = {
        perpetrator_client.post(
            f"{PORTAL}/folder/switch", json={"account_id": forged}, headers=headers
        ).status_code
        for forged in (str(grant.account_id), folder["grant_id"], flipped, "0" * 32)
    }
    assert len(refusals) == 1 and refusals.pop() in (403, 404)
    entered = perpetrator_client.post(
        f"{PORTAL}/folder/switch", json={"account_id": folder["account_id"]}, headers=headers
    )
    assert entered.status_code == 200 and entered.json()["grant_id"] == folder["grant_id"]


def test_deleting_her_folder_with_her_card_counts_only_what_he_was_shown(
    world: PortalWorld,
    perpetrator_client: TestClient,
    desk_client: TestClient,
    desk: dict[str, str],
) -> None:
    """太郎 holds her card and PIN, so he can delete her folder (the seed's measures close that
    path); the report of the deletion must not count the お知らせ held back from him."""
    victim = world.resident()
    world.login(victim.card_token)
    plant(world, victim, with_notices=True)
    register(desk_client, desk, victim, card_left_behind=True)

    him = card_login(perpetrator_client, world, victim)
    assert len(perpetrator_client.get(f"{PORTAL}/inbox").json()) == 1
    headers = csrf(him["csrf_token"])
    challenge = perpetrator_client.post(f"{PORTAL}/account/deletion-challenge", headers=headers)
    deleted = perpetrator_client.post(
        f"{PORTAL}/account/delete",
        json=signed_body(world, challenge.json(), victim.card_token),
        headers=headers,
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["messages_deleted"] == 1


# ---- paging ---------------------------------------------------------------------------------


def _every_page(client: TestClient, path: str) -> list[list[dict]]:
    """Every page of a view through the API, one item a page, following rel="next"."""
    pages, url = [], f"{PORTAL}{path}?limit=1"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        links = response.headers.get("link", "")
        found = re.search(r'<([^>]+)>; rel="next"', links)
        url = found.group(1) if found else ""
    return pages


def test_paging_one_item_at_a_time_he_meets_nothing_of_the_region_and_no_gap(
    world: PortalWorld,
    perpetrator_client: TestClient,
    victim_client: TestClient,
    desk_client: TestClient,
    desk: dict[str, str],
) -> None:
    """Every page is full and a next page is offered only when something he may see follows:
    neither the pages nor the cursors tell him that anything was held back."""
    victim = world.resident()
    world.login(victim.card_token)
    planted = plant(world, victim, with_notices=True)
    register(desk_client, desk, victim, card_left_behind=True)

    card_login(perpetrator_client, world, victim)
    seen = {}
    for path in ("/records", "/self-info", "/inbox"):
        pages = _every_page(perpetrator_client, path)
        assert all(len(page) == 1 for page in pages) or pages == [[]], (path, pages)
        assert_nothing_of_the_region(json.dumps(pages, ensure_ascii=False), planted)
        seen[path] = [item for page in pages for item in page]
    assert [m["title"] for m in seen["/inbox"]] == planted.harmless_notices
    first = perpetrator_client.get(f"{PORTAL}/folder?limit=1").json()
    assert first["next"]["inbox"] is None and len(first["inbox"]) == 1
    # The screens page the same way: 「次へ」 leads on, and no page names the region.
    html, url = [], "/portal/inbox?limit=1"
    while url:
        page = perpetrator_client.get(url)
        assert page.status_code == 200
        html.append(page.text)
        found = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert_nothing_of_the_region("\n".join(html), planted)

    world.suspend(victim)
    world.reissue(victim)
    card_login(victim_client, world, victim)
    hers = _every_page(victim_client, "/inbox")
    assert len(hers) == len(planted.revealing) - 1 + len(planted.harmless_notices)


def test_a_bad_page_query_is_refused_naming_the_field(
    world: PortalWorld, perpetrator_client: TestClient
) -> None:
    victim = world.resident()
    card_login(perpetrator_client, world, victim)
    for query, field in (("limit=500", "limit"), ("cursor=" + "A" * 60, "cursor")):
        refused = perpetrator_client.get(f"{PORTAL}/records?{query}")
        assert refused.status_code == 422, refused.text
        assert [error["field"] for error in refused.json()["errors"]] == [field]
        assert perpetrator_client.get(f"/portal/records?{query}").status_code == 422


def test_narrowing_to_the_region_answers_as_an_institution_with_nothing_and_reads_nothing(
    world: PortalWorld,
    engine: Engine,
    perpetrator_client: TestClient,
    desk_client: TestClient,
    desk: dict[str, str],
) -> None:
    """He narrows the views to one institution after another. Every item of 大阪市 is held back
    from him; were they read and skipped, the answer for 大阪市 would take longer the more she
    has there, and its time alone would name the region. So the answer for 大阪市 is the one for
    an institution with nothing, and it reads none of the views' rows."""
    victim = world.resident()
    world.login(victim.card_token)
    planted = plant(world, victim, with_notices=True)
    at_osaka = world.enrol(victim, world.osaka)
    for _ in range(40):  # a long history at the shelter: old code read it in growing batches
        world.query(world.osaka, at_osaka, world.chiyoda)
    world.session.commit()
    register(desk_client, desk, victim, card_left_behind=True)
    card_login(perpetrator_client, world, victim)

    def narrowed_to(code: str) -> tuple[list, int]:
        reads = []

        def count(_conn, _cursor, statement: str, *_args) -> None:
            if re.search(r"FROM (linkage_records|self_info_items|inbox_messages)\b", statement):
                reads.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            bodies = []
            for path in ("/folder", "/records", "/self-info", "/inbox"):
                response = perpetrator_client.get(f"{PORTAL}{path}?institution={code}&limit=1")
                assert response.status_code == 200, response.text
                bodies.append(response.json())
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return bodies, len(reads)

    shelter, shelter_reads = narrowed_to(world.osaka.code)
    nothing, nothing_reads = narrowed_to("011002")  # 札幌市: she never had anything there
    assert shelter == nothing
    assert shelter_reads == 0 < nothing_reads
    assert_nothing_of_the_region(json.dumps(shelter, ensure_ascii=False), planted)
