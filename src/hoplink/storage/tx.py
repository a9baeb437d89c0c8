"""A transaction handed to services: the repositories, all on one connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.events import Event
from hoplink.storage.accounts import ApiKeyRepo, UserRepo
from hoplink.storage.audit import AuditRepo
from hoplink.storage.bulkjobs import BulkJobRepo, purge_expired_bulk_jobs
from hoplink.storage.campaigns import CampaignRepo
from hoplink.storage.changes import RedirectChangeRepo
from hoplink.storage.clicks import WorkspaceClicks
from hoplink.storage.conversions import ConversionRepo
from hoplink.storage.destination_domains import DestinationDomainRepo
from hoplink.storage.domain_checks import DomainCheckQueue
from hoplink.storage.forwarding import ForwardQueue, ForwardRepo
from hoplink.storage.imports import ImportRepo
from hoplink.storage.linkhealth import HealthQueue, HealthRepo
from hoplink.storage.links import LinkRepo
from hoplink.storage.moderation import ModerationRepo
from hoplink.storage.order_exports import OrderExportRepo
from hoplink.storage.privacy import PrivacyRepo
from hoplink.storage.public_stats import PublicStatsRepo
from hoplink.storage.qrlogos import QrLogoRepo
from hoplink.storage.recovery import (
    InvitationRepo,
    PasswordResetRepo,
    TotpRepo,
    WorkspaceSecurityRepo,
)
from hoplink.storage.sessions import SessionRepo
from hoplink.storage.short_domains import ShortDomainRepo
from hoplink.storage.tags import TagRepo
from hoplink.storage.webhooks import WebhookQueue, WebhookRepo
from hoplink.storage.workspaces import WorkspaceRepo


class UniqueViolation(Exception):
    """An insert hit a unique constraint (the row was not written)."""


class Tx:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        # What the services changed, handed on by Database.transaction (hoplink.events).
        self.events: list[Event] = []
        self.workspaces = WorkspaceRepo(conn)
        self.users = UserRepo(conn)
        self.api_keys = ApiKeyRepo(conn)
        self.short_domains = ShortDomainRepo(conn)
        self.audit = AuditRepo(conn)
        self.moderation = ModerationRepo(conn)
        self.privacy = PrivacyRepo(conn)
        self.webhook_queue = WebhookQueue(conn)
        self.forward_queue = ForwardQueue(conn)
        self.sessions = SessionRepo(conn)
        self.password_resets = PasswordResetRepo(conn)
        self.invitations = InvitationRepo(conn)
        self.totp = TotpRepo(conn)
        self.workspace_security = WorkspaceSecurityRepo(conn)
        self.redirect_changes = RedirectChangeRepo(conn)
        self.health_queue = HealthQueue(conn)
        self.public_stats = PublicStatsRepo(conn)
        self.domain_checks = DomainCheckQueue(conn)

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def links(self, workspace_id: str) -> LinkRepo:
        """Links of one workspace; no method of the repo can reach another's."""
        return LinkRepo(self.conn, workspace_id)

    def imports(self, workspace_id: str) -> ImportRepo:
        return ImportRepo(self.conn, workspace_id)

    def tags(self, workspace_id: str) -> TagRepo:
        return TagRepo(self.conn, workspace_id)

    def clicks(self, workspace_id: str) -> WorkspaceClicks:
        """Raw clicks of one workspace (within the retention), by click id."""
        return WorkspaceClicks(self.conn, workspace_id)

    def campaigns(self, workspace_id: str) -> CampaignRepo:
        return CampaignRepo(self.conn, workspace_id)

    def conversions(self, workspace_id: str) -> ConversionRepo:
        """Orders, conversion events and attribution settings of one workspace."""
        return ConversionRepo(self.conn, workspace_id)

    def order_exports(self, workspace_id: str) -> OrderExportRepo:
        """The workspace's saved column mapping of marketplace order exports."""
        return OrderExportRepo(self.conn, workspace_id)

    def destination_domains(self, workspace_id: str) -> DestinationDomainRepo:
        """Destination domains one workspace claims (and has verified)."""
        return DestinationDomainRepo(self.conn, workspace_id)

    def webhooks(self, workspace_id: str) -> WebhookRepo:
        """One workspace's webhook endpoints and outbox messages."""
        return WebhookRepo(self.conn, workspace_id)

    def forwarding(self, workspace_id: str) -> ForwardRepo:
        """One workspace's ad platform destinations and its forwarding journal."""
        return ForwardRepo(self.conn, workspace_id)

    def qr_logo(self, workspace_id: str) -> QrLogoRepo:
        """The logo one workspace puts in its QR codes."""
        return QrLogoRepo(self.conn, workspace_id)

    def bulk_jobs(self, workspace_id: str) -> BulkJobRepo:
        """One workspace's bulk uploads and their results."""
        return BulkJobRepo(self.conn, workspace_id)

    async def purge_expired_bulk_jobs(self, now: datetime) -> int:
        return await purge_expired_bulk_jobs(self.conn, now)

    def health(self, workspace_id: str) -> HealthRepo:
        """One workspace's destination health: states, history, notifications."""
        return HealthRepo(self.conn, workspace_id)

    def record(self, *events: Event) -> None:
        """Note changes for the listeners: delivered after commit, dropped on rollback."""
        self.events.extend(events)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Run a block that may fail on a unique constraint without losing the transaction.
        Events recorded inside a block that rolls back are dropped with it."""
        nested = await self.conn.begin_nested()
        recorded = len(self.events)
        try:
            yield
        except IntegrityError as exc:
            await nested.rollback()
            del self.events[recorded:]
            raise UniqueViolation(str(exc.orig)) from exc
        except BaseException:
            await nested.rollback()
            del self.events[recorded:]
            raise
        else:
            await nested.commit()
