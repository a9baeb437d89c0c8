"""Settings → Integrations in Chromium: add a Meta integration, see the credential masked,
press "Send a test event" and read the exact payload and the platform's answer (a local
receiver in a process of its own answers as Meta does); in Chinese too; no CSP report."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from browser_server import SLUG, Server, running_server
from browser_session import open_session
from playwright.sync_api import Browser, expect

TOKEN = "EAAbrowserToken1234567890wxyz"
# Answers every request as Meta's Conversions API does, echoing how many events it got.
RECEIVER = """
import json, sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    n = len(json.loads(body)["data"])
    answer = json.dumps({"events_received": n, "messages": [], "fbtrace_id": "Atrace"})
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": answer.encode()})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])  # noqa: S603
    saved = dict(os.environ)
    os.environ.update(
        {
            "HOPLINK_META_BASE_URL": f"http://127.0.0.1:{port}",
            "HOPLINK_OUTBOUND_ALLOW_PRIVATE": "127.0.0.1",
        }
    )
    root = tmp_path_factory.mktemp("integrations")
    try:
        time.sleep(1.0)
        with running_server(root / "data", root / "server.log") as running:
            yield running
    finally:
        os.environ.clear()
        os.environ.update(saved)
        receiver.terminate()
        receiver.wait()


def test_add_and_send_a_test_event(browser: Browser, server: Server) -> None:
    session = open_session(browser, server)
    page = session.page
    try:
        session.sign_in()
        session.go(f"/app/w/{SLUG}/settings")
        page.get_by_role("link", name="Manage integrations").click()
        page.wait_for_url(f"**/app/w/{SLUG}/settings/integrations")
        expect(page.get_by_text("No integrations yet.")).to_be_visible()
        page.locator("#f-kind").select_option("meta")
        page.get_by_label("Name").fill("Shop pixel")
        page.get_by_label("Account id").fill("1234567890")
        page.locator("#f-credential").fill(TOKEN)
        page.locator("input[name=events][value=click]").check()
        page.get_by_label("Test event code (Meta, TikTok; optional)").fill("TEST9")
        page.get_by_role("button", name="Add integration").click()
        page.wait_for_load_state("load")
        expect(page.locator("p.flash")).to_contain_text("The integration was added.")
        expect(page.get_by_text("••••wxyz")).to_be_visible()
        assert TOKEN not in page.content()
        page.get_by_role("button", name="Send a test event").click()
        page.wait_for_load_state("load")
        payload = page.locator("#test-payload")
        expect(payload).to_contain_text('"event_name": "PageView"')
        expect(payload).to_contain_text('"test_event_code": "TEST9"')
        expect(payload).to_contain_text('"access_token": "••••"')
        expect(page.locator("#test-answer")).to_contain_text("HTTP 200")
        expect(page.locator("#test-answer")).to_contain_text('"events_received": 1')
        assert TOKEN not in page.content()
        session.screenshot("integrations-test-event-en")
        page.locator("#lang-select").select_option("zh_CN")
        # The choice reloads the page: wait for it before going on, or the reload lands last.
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        session.go(f"/app/w/{SLUG}/settings/integrations")
        expect(page.get_by_role("button", name="发送测试事件")).to_be_visible()
        expect(page.get_by_text("过去一小时失败")).to_be_visible()
        session.screenshot("integrations-zh_CN")
        assert session.csp_violations() == []
        assert session.watch.errors == []
    finally:
        session.context.close()
