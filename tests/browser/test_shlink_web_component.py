"""Shlink's own React UI (@shlinkio/shlink-web-component 0.18, from npm, bundled by esbuild
in the test run) in Chromium, on another origin, managing hoplink through /rest/v3: the
short URL list shows hoplink's links, a short URL is created from its form, and the
visits view of one renders hoplink's visits."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from browser_server import HOST, SLUG, Server, run_async
from browser_session import SCREENSHOTS
from playwright.sync_api import Browser, expect

import npm_packages

HERE = Path(__file__).resolve().parent / "shlink_web"
# The combination the issue found to work: frontend-kit 1.6 needs react-router 8.
PACKAGES = [
    "@shlinkio/shlink-web-component@0.18",
    "@shlinkio/shlink-frontend-kit@1.4",
    "@shlinkio/shlink-js-sdk@3.2.1",
    "react@19",
    "react-dom@19",
    "react-router@7",
    "react-redux@9",
    "@reduxjs/toolkit@2",
    "@fortawesome/fontawesome-svg-core@7",
    "@fortawesome/free-solid-svg-icons@7",
    "@fortawesome/free-regular-svg-icons@7",
    "@fortawesome/free-brands-svg-icons@7",
    "@fortawesome/react-fontawesome@3",
    "esbuild@0.25",
]


def _bundle() -> Path:
    root = npm_packages.install(PACKAGES)
    (root / "entry.jsx").write_text((HERE / "entry.jsx").read_text())
    out = root / "site"
    out.mkdir(exist_ok=True)
    (out / "index.html").write_text((HERE / "index.html").read_text())
    result = subprocess.run(  # noqa: S603 - the esbuild npm installed, our arguments
        [
            str(root / "node_modules" / ".bin" / "esbuild"),
            "entry.jsx",
            "--bundle",
            "--format=esm",
            "--jsx=automatic",
            "--loader:.js=jsx",
            f"--outfile={out / 'app.js'}",
            "--define:process.env.NODE_ENV='production'",
            "--log-level=warning",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out


class _SpaHandler(SimpleHTTPRequestHandler):
    """Static files; any other path is the single page (the UI routes in the browser)."""

    def send_head(self):  # type: ignore[no-untyped-def]
        if not (Path(self.directory) / self.path.split("?")[0].lstrip("/")).is_file():
            self.path = "/index.html"
        return super().send_head()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def ui_origin() -> Iterator[str]:
    site = _bundle()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_SpaHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


async def _key_and_links(server: Server) -> str:
    from hoplink.accounts.apikeys import create_api_key
    from hoplink.accounts.models import Scope
    from hoplink.links.service import LinkRules, LinkSpec, create_links
    from hoplink.storage.database import Database

    db = Database.from_url(f"sqlite+aiosqlite:///{server.data_dir / 'hoplink.db'}")
    try:
        async with db.transaction() as tx:
            ws = await tx.workspaces.find(SLUG)
            domain = await tx.short_domains.by_hostname(HOST)
            assert ws is not None and domain is not None
            specs = [
                LinkSpec(url="https://shop.example.com/item/web-1", title="Web one", code="webone",
                         tags=["ui"]),
                LinkSpec(url="https://shop.example.com/item/web-2", title="双十一 Web two",
                         code="webtwo"),
            ]  # fmt: skip
            await create_links(
                tx, workspace=ws, domain=domain, specs=specs, actor=None, rules=LinkRules()
            )
            _, raw = await create_api_key(
                tx,
                workspace=ws,
                name="shlink-web",
                scopes=frozenset(Scope),
                created_by=None,
                operator=True,
            )
        return raw
    finally:
        await db.dispose()


def test_shlink_web_component_lists_creates_and_shows_visits(
    browser: Browser, server: Server, ui_origin: str
) -> None:
    key = run_async(lambda: _key_and_links(server))
    for _ in range(2):
        assert server.short("webone").status_code == 302
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    query = f"?server={server.url}&key={key}"
    try:
        page.goto(f"{ui_origin}/list-short-urls/1{query}")
        expect(page.get_by_text("Web one").first).to_be_visible(timeout=30_000)
        expect(page.get_by_text("双十一 Web two").first).to_be_visible()
        expect(page.get_by_text(f"{HOST}/webone").first).to_be_visible()

        page.goto(f"{ui_origin}/create-short-url{query}")
        page.get_by_placeholder("URL to be shortened").fill("https://shop.example.com/item/from-ui")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Great!").first).to_be_visible(timeout=30_000)
        made = httpx.get(
            f"{server.url}/rest/v3/short-urls",
            params={"searchTerm": "from-ui"},
            headers={"X-Api-Key": key},
        ).json()["shortUrls"]["data"]
        assert [m["longUrl"] for m in made] == ["https://shop.example.com/item/from-ui"]

        for _ in range(300):  # the worker writes the two visits within a second or so
            visits = httpx.get(
                f"{server.url}/rest/v3/short-urls/webone/visits", headers={"X-Api-Key": key}
            ).json()["visits"]
            if visits["pagination"]["totalItems"] == 2:
                break
            time.sleep(0.1)
        page.goto(f"{ui_origin}/short-code/webone/visits{query}")
        expect(page.get_by_text("Visits: 2").first).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Export (2)").first).to_be_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "shlink-web-visits.png"), full_page=True)
        assert errors == [], errors
    finally:
        context.close()
