"""The seed's ケース② walked end to end in Chromium, by clicking, on the demonstration world.

花子 fled 千代田区 for 大阪市; her old card and its PIN are with 太郎, who is also her portal proxy.
The desk registers the case and sees both paths open, 大阪 held back from them; the card window
suspends and reissues her card; she logs in with the new card and deletes her folder; the desk
then sees no exposure; and the notice department's next send reaches her new folder while 美咲,
whose left-behind card still works, is blocked at the gate.
"""

from __future__ import annotations

import re

from tests.browser.conftest import screenshot, serious_violations
from tests.browser.journey import log_in_resident, log_in_staff

from fukaiji.demo.world import DemoWorld


def test_case_2_from_registration_to_a_notice_that_reaches_her_new_folder(
    new_page, demo_world: DemoWorld, tmp_path
) -> None:
    story = demo_world.story
    desk = new_page("/staff/login")
    log_in_staff(desk, demo_world.staff_member("demo-osaka-desk"))
    protection_url = _register_case(desk, story)
    screenshot(desk, "desk-exposure", tmp_path)
    _expect_both_paths_open_and_masked(desk)

    window = new_page("/staff/login")
    log_in_staff(window, demo_world.staff_member("demo-osaka-window"))
    new_token = _suspend_and_reissue(window, story.victim, tmp_path)

    victim = new_page("/portal/login")
    log_in_resident(victim, story.victim, card_token=new_token)
    _delete_folder(victim, story.victim, new_token, tmp_path)

    desk.goto(protection_url)
    assert desk.locator("#exposure .verdict").inner_text() == "加害者から見える情報はありません"
    assert "完了" in desk.locator("#usage-stop-title + p").inner_text()
    screenshot(desk, "desk-exposure-closed", tmp_path)
    assert serious_violations(desk) == []

    victim = new_page("/portal/login")
    log_in_resident(victim, story.victim, card_token=new_token)  # a new, empty folder
    notice = new_page("/staff/login")
    log_in_staff(notice, demo_world.staff_member("demo-osaka-notice"))
    title = _send_the_draft(notice, story, tmp_path)

    victim.goto("/portal/inbox")
    assert title in victim.locator("main").inner_text()
    screenshot(victim, "portal-inbox", tmp_path)
    blocked = new_page("/portal/login")
    log_in_resident(blocked, story.registered)
    blocked.goto("/portal/inbox")
    assert title not in blocked.locator("main").inner_text()


def _register_case(page, story) -> str:
    page.goto("/staff/protections/new")
    facts = story.facts
    page.locator("input[name=my_number]").fill(story.victim.my_number)
    for name, on in (
        ("own_procedures", facts.own_procedures),
        ("card_left_behind", facts.card_left_behind),
        ("perpetrator_is_proxy", facts.perpetrator_is_proxy),
        ("perpetrator_is_legal", facts.perpetrator_is_legal_representative),
    ):
        page.locator(f"input[name={name}]").set_checked(on)
    page.locator("input[name=perpetrator_my_number]").fill(story.perpetrator.my_number)
    page.locator("input[name=region_codes]").fill(" ".join(story.region_codes))
    page.locator("input[name=fled_on]").fill(story.fled_on.isoformat())
    page.get_by_role("button", name="登録する").click()
    page.wait_for_load_state()
    registered = re.search(r"/staff/protections/[0-9a-f-]{36}", page.url)
    assert registered, page.locator("main").inner_text()
    return registered.group(0)


def _expect_both_paths_open_and_masked(page) -> None:
    verdict = page.locator("#exposure .verdict").inner_text()
    assert verdict == "保護地域が分かる項目は隠していますが、加害者に開いている経路が残っています"
    paths = page.locator("#exposure h3").all_inner_texts()
    assert any("カード" in path for path in paths), paths
    assert any("代理人" in path for path in paths), paths
    assert "未完了" in page.locator("#usage-stop-title + p").inner_text()


def _suspend_and_reissue(page, victim, tmp_path) -> str:
    """The card window finds her by 個人番号, suspends the left-behind card, reissues."""
    page.goto("/staff/cards")
    page.locator("input[name=my_number]").fill(victim.my_number)
    page.get_by_role("button", name="住民を検索").click()
    page.wait_for_url(re.compile(r"/staff/cards/[0-9a-f-]{36}"))
    page.locator("select[name=channel]").select_option("phone")
    page.get_by_role("button", name="カードを一時停止").click()
    page.wait_for_load_state()
    page.locator("input[name=auth_pin]").fill(victim.auth_pin)
    page.locator("input[name=sign_pin]").fill(victim.sign_pin)
    page.get_by_role("button", name="カードを再交付").click()
    page.get_by_role("heading", name="カードを再交付しました").wait_for()
    screenshot(page, "cards-reissued", tmp_path)
    return page.locator("#card-token").inner_text().strip()


def _delete_folder(page, victim, card_token: str, tmp_path) -> None:
    page.goto("/portal/delete")
    screenshot(page, "portal-delete", tmp_path)
    page.locator("input[name=card_token]").fill(card_token)
    page.locator("input[name=pin]").fill(victim.auth_pin)
    page.locator("input[name=confirm]").check()
    page.get_by_role("button", name="利用者フォルダを削除する").click()
    page.get_by_role("heading", name="利用者フォルダを削除しました").wait_for()


def _send_the_draft(page, story, tmp_path) -> str:
    """Send the draft notice unscreened: the gate must still stop 美咲."""
    page.goto("/staff/notices")
    page.locator(f"a[href='/staff/notices/{story.draft_notice_id}']").click()
    page.wait_for_url(f"**/staff/notices/{story.draft_notice_id}")
    title = page.locator("h1").inner_text().strip()
    page.get_by_role("button", name="送信を開始する").click()
    page.wait_for_url(re.compile(r"/delivery$"))
    # htmx polls the progress fragment; the finished one says 完了 and stops polling.
    page.locator("#delivery-progress .status-done").wait_for(timeout=60_000)
    report = page.locator("#delivery-progress table").inner_text()
    assert re.search(r"送信時の確認で止めた（留意すべき対象者）\s*1 件", report), report
    screenshot(page, "notices-delivery", tmp_path)
    return title
