"""Browser tests: the real server in a subprocess, driven by Debian's Chromium through Playwright.

Chromium is not downloaded by Playwright (the machine reaches no browser CDN): the tests use
``/usr/bin/chromium`` from ``apt-get install chromium fonts-noto-cjk`` and skip, saying so, where
it is missing. The server runs on a fresh SQLite database holding the demonstration world, the
same one ``fukaiji serve --demo`` loads, so the tests click through what a newcomer would see.

Screenshots go to a temporary folder; with ``FUKAIJI_SCREENSHOTS=docs/screenshots`` they
replace the committed ones that the README shows.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fukaiji.config import Settings
from fukaiji.db import create_db_engine, transaction, upgrade
from fukaiji.demo.world import DemoWorld, load_demo_world
from fukaiji.network.institutions import load_local_governments

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRET = "browser-test-secret-" + "b" * 40
SERIOUS = {"serious", "critical"}

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

if not CHROMIUM.exists():
    pytest.skip(
        f"Chromium not found at {CHROMIUM}: install it with "
        "`apt-get install chromium fonts-noto-cjk` to run the browser tests",
        allow_module_level=True,
    )


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    settings: Settings
    world: DemoWorld


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited with {server.returncode}")
        try:
            httpx.get(f"{url}/healthz", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def prepare_database(database_url: str, settings: Settings) -> DemoWorld:
    """Migrations, the local government list, and the demonstration world, as `serve --demo`."""
    engine = create_db_engine(database_url)
    try:
        upgrade(engine)
        with transaction(engine) as session:
            load_local_governments(session, actor="test")
            return load_demo_world(session, settings=settings)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{folder / 'fukaiji.sqlite3'}"
    settings = Settings(database_url=database_url, secret_key=SECRET)
    world = prepare_database(database_url, settings)
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FUKAIJI_")},
        "FUKAIJI_DATABASE_URL": database_url,
        "FUKAIJI_SECRET_KEY": SECRET,
        "FUKAIJI_SEND_PAUSE_SECONDS": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "fukaiji", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "server.log", "w"),  # noqa: SIM115  closed with the process
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server)
        yield LiveServer(url, database_url, settings, world)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def demo_world(live_server: LiveServer) -> DemoWorld:
    return live_server.world


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser, live_server: LiveServer):
    """A page in a fresh browser context (its own cookies), opened on the server."""
    contexts = []

    def _open(path: str = "/", *, javascript: bool = True):
        context = browser.new_context(
            base_url=live_server.url,
            locale="ja-JP",
            viewport={"width": 1280, "height": 900},
            java_script_enabled=javascript,
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(path)
        return page

    yield _open
    for context in contexts:
        context.close()


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]


def screenshot(page, name: str, tmp_path: Path) -> Path:
    """Save a full-page screenshot (into the committed folder when asked to refresh them), after
    checking the page with axe: the pages worth a picture are those reached only by a POST
    (a card just reissued, a send's report), which following links cannot reach."""
    assert serious_violations(page) == [], name
    folder = Path(os.environ.get("FUKAIJI_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target
