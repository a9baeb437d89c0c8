"""Playwright on Debian's Chromium against a live hoplink; screenshots as test artifacts.

There is no skip: without /usr/bin/chromium (``apt-get install -y chromium``) every test
here fails with that instruction.

Playwright's sync API keeps an event loop running in the test thread while it is open,
which the asyncio-based tests and fixtures elsewhere cannot share: it is opened per module
and closed before the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_server import Server, running_server
from browser_session import Session, open_session
from playwright.sync_api import Browser, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("browser")
    with running_server(root / "data", root / "server.log") as running:
        yield running


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    assert CHROMIUM.exists(), (
        "Chromium is missing: run `apt-get install -y chromium` (the browser tests never skip)"
    )
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def session(browser: Browser, server: Server) -> Iterator[Session]:
    s = open_session(browser, server)
    yield s
    assert s.watch.dialogs == [], s.watch.dialogs
    assert s.watch.errors == [], s.watch.errors
    s.context.close()
