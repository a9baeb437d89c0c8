"""Request ids and structured logs: ids echoed and bound to every line of their request,
JSON lines that parse, and no client address in any of them."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from obs_support import CLIENT_IP, running

import factories
from hoplink.observability import logs
from processes import free_port, hoplink, wait_http


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """hoplink's logging as a serving process sets it up (JSON, debug), into a buffer."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("hoplink").level)
    buffer = io.StringIO()
    logs.configure_logging(fmt="json", level="debug", stream=buffer)
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.getLogger("hoplink").setLevel(saved[2])
        structlog.reset_defaults()


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


async def test_request_ids_are_echoed_and_logged_without_the_client_address(
    db_url: str, tmp_path: Path, json_log: io.StringIO
) -> None:
    async with running(db_url, tmp_path / "data", log_requests=True) as app:
        link = await app.link()
        given = "edge-7f3a9c0e-4b1d"
        api = await app.http.get("/api/v1/links", headers={"X-Request-ID": given})
        assert api.status_code == 401
        assert api.headers["x-request-id"] == given
        page = await app.http.get("/app/signin")
        assert page.status_code == 200
        generated = page.headers["x-request-id"]
        assert generated and generated != given
        # Not a safe token (an address, a space, too long): replaced by a fresh id.
        for unsafe in (CLIENT_IP, "a b", "x" * 200, "id\\nforged=1"):
            r = await app.http.get("/healthz", headers={"X-Request-ID": unsafe})
            assert r.headers["x-request-id"] not in (unsafe, generated, given)
        # A reset or invitation link, a public stats page: the path is a bearer secret.
        secrets = {
            "/app/reset/": "resetTOKENresetTOKENresetTOKEN0123456789ab",
            "/app/invite/": "inviteTOKENinviteTOKENinviteTOKEN012345678",
            "/stats/": "statsTOKENstatsTOKENstatsTOKEN0123456789abc",
        }
        for prefix, token in secrets.items():
            assert (await app.http.get(prefix + token)).status_code == 404
        # The redirect path answers without one (nothing is logged per redirect).
        redirect = await app.http.get(f"/{link.code}")
        assert redirect.status_code == 302 and "x-request-id" not in redirect.headers
        # A library that names its peer (as uvicorn does at debug level) is scrubbed too.
        logging.getLogger("uvicorn.error").warning("connection from %s:50123 lost", CLIENT_IP)
        logging.getLogger("hoplink.test").info("ipv6 peer [2001:db8::77]:443 and ::1")

    text = json_log.getvalue()
    assert CLIENT_IP not in text and "2001:db8::77" not in text
    assert not any(token in text for token in secrets.values())
    lines = _lines(json_log)  # every line is one JSON object
    requests = [line for line in lines if line.get("logger") == "hoplink.request"]
    by_id = {line["request_id"]: line for line in requests}
    assert by_id[given]["path"] == "/api/v1/links" and by_id[given]["status"] == 401
    assert by_id[generated]["path"] == "/app/signin" and by_id[generated]["status"] == 200
    assert all(line["level"] == "info" and "timestamp" in line for line in requests)
    logged = {str(line["path"]) for line in requests}
    assert {"/app/reset/[secret]", "/app/invite/[secret]", "/stats/[secret]"} <= logged
    assert not any(line.get("path") in ("/healthz", f"/{link.code}") for line in requests)
    scrubbed = [line for line in lines if "connection from" in str(line.get("event"))]
    assert scrubbed and scrubbed[0]["event"] == "connection from [ip]:50123 lost"


def test_hoplink_serve_writes_json_lines_without_client_addresses(tmp_path: Path) -> None:
    """The real server: uvicorn's own lines, hoplink's and the request lines, all JSON,
    none naming 127.0.0.1 although every request came from there."""
    port = free_port()
    err = tmp_path / "stderr.log"
    env = {
        **os.environ,
        "HOPLINK_DATA_DIR": str(tmp_path / "data"),
        "HOPLINK_PORT": str(port),
        "HOPLINK_DEFAULT_DOMAIN": factories.DEFAULT_HOST,
        "HOPLINK_LOG_FORMAT": "json",
        "HOPLINK_LOG_LEVEL": "debug",
        "HOPLINK_LOG_REQUESTS": "true",
    }
    env.pop("HOPLINK_DATABASE_URL", None)
    base = f"http://127.0.0.1:{port}"
    with hoplink(["serve"], env, tmp_path / "stdout.log", stderr=err) as server:
        wait_http(base, proc=server, path="/healthz")
        r = httpx.get(f"{base}/api/v1/links", headers={"X-Request-ID": "probe-123"})
        assert r.status_code == 401 and r.headers["x-request-id"] == "probe-123"
        assert (
            httpx.get(f"{base}/NoSuchCode1", headers={"Host": factories.DEFAULT_HOST}).status_code
            == 404
        )
        assert httpx.get(f"{base}/readyz").status_code == 200
        server.signal(signal.SIGTERM)
        server.wait(30)
    text = err.read_text()
    assert "127.0.0.1" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert any(str(line.get("logger", "")).startswith("uvicorn") for line in lines)
    probe = [line for line in lines if line.get("request_id") == "probe-123"]
    assert probe and probe[0]["path"] == "/api/v1/links" and probe[0]["status"] == 401
