"""``hoplink webhook list|failed|replay``, and a link made by the CLI queues its webhook."""

from __future__ import annotations

from cli_harness import Cli

from hoplink.ids import utcnow
from hoplink.storage.tx import Tx
from hoplink.webhooks import service
from hoplink.webhooks.models import Attempt
from hoplink.webhooks.secrets import SecretBox


def test_cli_link_queues_webhook_and_failed_messages_replay(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme")
    cli.ok("workspace", "verify", "acme", "--reason", "ok")

    async def add_endpoint(tx: Tx) -> str:
        ws = await tx.workspaces.find("acme")
        assert ws is not None
        _endpoint, _ = await service.create_endpoint(
            tx,
            workspace_id=ws.id,
            url="https://hooks.example.com/in",
            events=("link.created",),
            box=SecretBox("k" * 40),
        )
        return ws.id

    ws_id = cli.query(add_endpoint)
    assert "link.created  https://hooks.example.com/in" in cli.ok("webhook", "list", "acme").stdout
    cli.ok("link", "create", "https://shop.example.com/item/1", "-w", "acme")

    async def fail_all(tx: Tx) -> list[str]:
        messages = await tx.webhooks(ws_id).messages()
        for m in messages:
            attempt = Attempt("wha_" + m.id[4:], m.id, utcnow(), 503, 5, None, "down")
            await tx.webhook_queue.finish(
                m.id, attempt=attempt, status="failed", next_attempt_at=None
            )
        return [m.event_type for m in messages]

    assert cli.query(fail_all) == ["link.created"]
    assert "link.created  1 attempts" in cli.ok("webhook", "failed", "acme").stdout
    assert "1 message(s) queued again" in cli.ok("webhook", "replay", "acme").stdout

    async def pending(tx: Tx) -> int:
        return await tx.webhook_queue.count("pending")

    assert cli.query(pending) == 1
    assert "0 message(s)" in cli.ok("webhook", "replay", "acme").stdout
