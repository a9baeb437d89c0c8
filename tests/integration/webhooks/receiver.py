"""A webhook receiver on a loopback port: verifies every request with the
`standardwebhooks` package's own verifier (not hoplink's code) and dedupes by webhook-id.

``fail_first`` answers 500 to that many requests before accepting; ``secrets`` lists the
secrets it accepts (it verifies with each; one must match)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Receiver:
    port: int = 0
    secrets: list[str] = field(default_factory=list)
    fail_first: int = 0
    delay: float = 0.0  # seconds before answering (a slow receiver)
    requests: int = 0
    rejected: int = 0  # requests whose signature did not verify
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # by webhook-id
    duplicates: int = 0
    signatures: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def verified(self, body: bytes, headers: dict[str, str], secret: str) -> bool:
        try:
            Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            return False
        return True

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the sender died mid-request (kill -9): nothing arrived
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        self.signatures.append(headers.get("webhook-signature", ""))
        status = 200
        if self.requests <= self.fail_first:
            status = 500
        elif not any(self.verified(body, headers, s) for s in self.secrets):
            self.rejected += 1
            status = 401
        else:
            msg_id = headers["webhook-id"]
            if msg_id in self.events:
                self.duplicates += 1
            self.events[msg_id] = orjson.loads(body)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"receiver says hi"})

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events.values() if e["type"] == event_type]


@contextlib.asynccontextmanager
async def running_receiver(receiver: Receiver) -> AsyncIterator[Receiver]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver.port = sock.getsockname()[1]
    config = uvicorn.Config(receiver, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.02)
        yield receiver
    finally:
        server.should_exit = True
        await task
        sock.close()
