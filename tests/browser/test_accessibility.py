"""Accessibility: axe-core on every page a person of each role can reach, in Chromium.

The pages are found by following links from each home page (as a person would, by clicking),
so a screen added later is checked without anyone remembering to list it. A form's refused
state is checked too, because that is where errors must be announced next to their field.
"""

from __future__ import annotations

from collections import deque
from urllib.parse import urlsplit

import pytest
from tests.browser.conftest import screenshot, serious_violations
from tests.browser.journey import log_in_resident, log_in_staff

from fukaiji.demo.world import DemoWorld

MAX_PAGES_PER_PERSON = 60
NEVER_FOLLOW = ("/staff/logout", "/portal/logout", "/static/", "/api/")


def _reachable_pages(page, start: str, area: str) -> list[str]:
    """Breadth-first over same-site links under ``area``, from ``start``."""
    seen, queue, pages = {start}, deque([start]), []
    while queue and len(pages) < MAX_PAGES_PER_PERSON:
        path = queue.popleft()
        response = page.goto(path)
        assert response is not None and response.status < 500, (path, response and response.status)
        pages.append(path)
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            parts = urlsplit(href)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if (
                parts.netloc == urlsplit(page.url).netloc
                and target.startswith(area)
                and not target.startswith(NEVER_FOLLOW)
                and target not in seen
            ):
                seen.add(target)
                queue.append(target)
    return pages


def _check_every_page(page, pages: list[str]) -> dict[str, list[str]]:
    found = {}
    for path in pages:
        page.goto(path)
        if violations := serious_violations(page):
            found[path] = violations
    return found


def test_public_pages_have_no_serious_violation(new_page, tmp_path) -> None:
    page = new_page("/")
    assert serious_violations(page) == []
    for path in ("/staff/login", "/portal/login"):
        page.goto(path)
        assert serious_violations(page) == [], path
        screenshot(page, path.strip("/").replace("/", "-"), tmp_path)


@pytest.mark.parametrize(
    "username",
    [
        "demo-osaka-desk",
        "demo-osaka-tax",
        "demo-osaka-window",
        "demo-osaka-notice",
        "demo-osaka-admin",
    ],
)
def test_every_staff_page_of_each_role_has_no_serious_violation(
    new_page, demo_world: DemoWorld, username: str, tmp_path
) -> None:
    page = new_page("/staff/login")
    log_in_staff(page, demo_world.staff_member(username))
    pages = _reachable_pages(page, "/staff", "/staff")
    assert len(pages) >= 2, pages
    assert _check_every_page(page, pages) == {}
    page.goto("/staff")
    screenshot(page, f"staff-home-{username.removeprefix('demo-')}", tmp_path)


def test_every_portal_page_has_no_serious_violation(new_page, demo_world: DemoWorld) -> None:
    page = new_page("/portal/login")
    log_in_resident(page, demo_world.resident(demo_world.story.perpetrator.name))
    pages = _reachable_pages(page, "/portal", "/portal")
    assert len(pages) >= 5, pages
    assert _check_every_page(page, pages) == {}


def test_a_refused_form_announces_the_error_next_to_the_field(new_page) -> None:
    page = new_page("/staff/login")
    page.get_by_label("ユーザー名").fill("nobody")
    page.get_by_label("パスワード").fill("wrong")
    page.get_by_label("確認コード（6 桁）").fill("123456")
    page.get_by_role("button", name="ログイン").click()
    assert page.get_by_role("alert").is_visible()
    assert serious_violations(page) == []


def test_keyboard_alone_reaches_the_login_button_with_a_visible_focus(new_page) -> None:
    page = new_page("/staff/login")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "本文へ移動"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "BUTTON":
            break
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert page.evaluate("document.activeElement.textContent.trim()") == "ログイン"
    assert outline == "solid"


def test_forms_that_change_data_work_without_javascript(new_page, demo_world: DemoWorld) -> None:
    """A notice written, and an empty one refused, with scripts switched off in the browser."""
    page = new_page("/staff/login", javascript=False)
    log_in_staff(page, demo_world.staff_member("demo-osaka-notice"))
    page.goto("/staff/notices/new")
    page.locator("input[name=title]").fill("スクリプトなしで作成したお知らせ")
    page.locator("textarea[name=body]").fill("本文です。")
    page.get_by_role("button", name="作成").first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "スクリプトなしで作成したお知らせ"
    page.goto("/staff/notices/new")
    page.get_by_role("button", name="作成").first.click()  # empty: refused next to the field
    page.wait_for_load_state()
    assert page.locator(".field-error").count() >= 1
