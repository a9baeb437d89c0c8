"""Issue 14: self-service password reset by e-mail, against a real local SMTP server
(aiosmtpd) that captures what hoplink sends. The answer is the same whether or not the
address has an account; only an existing account gets a message; its link works once."""

from __future__ import annotations

import asyncio
import email
import re
import socket
from collections.abc import AsyncIterator, Iterator
from email.message import Message
from pathlib import Path

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from dashboard_harness import PASSWORD, Dash, running_dashboard

from hoplink.accounts.passwords import verify_password
from hoplink.workspaces.models import Role

NEW_PASSWORD = "mailed new passphrase"


class Inbox:
    """aiosmtpd handler: every message accepted, parsed and kept."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(raw)))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd checks readiness by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest_asyncio.fixture
async def mailing(
    db_url: str, tmp_path: Path, inbox: tuple[Inbox, int]
) -> AsyncIterator[tuple[Dash, Inbox]]:
    handler, port = inbox
    async with running_dashboard(
        db_url,
        tmp_path / "data",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_from="hoplink <no-reply@hop.test>",
        public_url="https://links.hop.test",
        rate_limit_reset_request="3/1h",
    ) as dash:
        yield dash, handler


async def _wait_for(inbox: Inbox, count: int) -> None:
    for _ in range(500):
        if len(inbox.messages) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(inbox.messages)} messages arrived, expected {count}")


def _body(message: Message) -> str:
    part = message.get_payload(decode=True)
    assert isinstance(part, bytes)
    return part.decode(message.get_content_charset() or "utf-8")


async def test_a_reset_by_email_reveals_nothing_and_its_link_works_once(
    mailing: tuple[Dash, Inbox],
) -> None:
    dash, inbox = mailing
    ws = await dash.workspace()
    await dash.user("kim@example.com", ws, Role.MEMBER)
    b = dash.browser(client=("10.2.0.1", 1))
    form = await b.get("/app/forgot")
    assert form.status_code == 200 and 'name="email"' in form.text
    known = await b.post("/app/forgot", {"email": "Kim@Example.com"})
    unknown = await b.post("/app/forgot", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200

    def same(text: str) -> str:
        text = re.sub(r'name="csrf_token" value="[^"]+"', "", text)
        return text.replace("kim@example.com", "X").replace("nobody@example.com", "X")

    assert same(known.text) == same(unknown.text)
    await _wait_for(inbox, 1)
    await asyncio.sleep(0.3)  # nothing else arrives: the unknown address got no message
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["kim@example.com"]
    assert message["To"] == "kim@example.com" and "no-reply@hop.test" in message["From"]
    assert message["Subject"] == "Reset your hoplink password"
    match = re.search(r"https://links\.hop\.test(/app/reset/[A-Za-z0-9_-]{43})", _body(message))
    assert match, _body(message)
    path = match.group(1)
    page = await b.get(path)
    assert page.status_code == 200
    done = await b.post(path, {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 303
    async with dash.db.transaction(write=False) as tx:
        found = await tx.users.by_email("kim@example.com")
    assert found is not None and verify_password(found[1], NEW_PASSWORD)
    assert (await b.get(path)).status_code == 404


async def test_the_message_is_in_the_readers_language(mailing: tuple[Dash, Inbox]) -> None:
    dash, inbox = mailing
    await dash.user("lin@example.com", await dash.workspace(), Role.MEMBER)
    b = dash.browser(client=("10.2.0.2", 1))
    await b.get("/app/forgot", headers={"Accept-Language": "zh-CN"})
    r = await b.post(
        "/app/forgot", {"email": "lin@example.com"}, headers={"Accept-Language": "zh-CN"}
    )
    assert r.status_code == 200 and "如果" in r.text
    await _wait_for(inbox, 1)
    message = inbox.messages[0][1]
    assert "重置" in str(email.header.make_header(email.header.decode_header(message["Subject"])))
    assert "/app/reset/" in _body(message) and "有效期" in _body(message)


async def test_requests_are_limited_per_address_and_per_account(
    mailing: tuple[Dash, Inbox],
) -> None:
    dash, inbox = mailing
    await dash.user("max@example.com", await dash.workspace(), Role.MEMBER)
    statuses = []
    for i in range(5):  # five addresses, one account: the account's limit holds
        b = dash.browser(client=(f"10.3.0.{i + 1}", 1))
        statuses.append((await b.post("/app/forgot", {"email": "max@example.com"})).status_code)
    assert statuses == [200, 200, 200, 429, 429]
    one = dash.browser(client=("10.4.0.1", 1))
    for i in range(3):
        assert (await one.post("/app/forgot", {"email": f"x{i}@example.com"})).status_code == 200
    refused = await one.post("/app/forgot", {"email": "y@example.com"})
    assert refused.status_code == 429 and "retry-after" in refused.headers
    await _wait_for(inbox, 3)
    await asyncio.sleep(0.3)
    assert len(inbox.messages) == 3


async def test_without_smtp_there_is_no_form_and_nothing_is_sent(dash: Dash) -> None:
    await dash.user("ned@example.com", await dash.workspace(), Role.MEMBER)
    b = dash.browser()
    page = await b.get("/app/forgot")
    assert page.status_code == 200 and 'name="email"' not in page.text
    assert "Ask the platform operator" in page.text
    r = await b.post("/app/forgot", {"email": "ned@example.com"})
    assert r.status_code == 200
    async with dash.db.transaction(write=False) as tx:
        assert await tx.password_resets.get("x") is None
        found = await tx.users.by_email("ned@example.com")
    assert found is not None and verify_password(found[1], PASSWORD)
