"""The dashboard as one ASGI app: routes, error pages and the security layers.

``HoplinkApp`` sends ``/`` and ``/app/…`` here. The stack is built in ``bind`` (it needs
the runtime's secret key and trusted proxies); before that every request gets a 503.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from hoplink.dashboard import (
    account,
    admin,
    analytics,
    auth,
    bulk,
    campaigns,
    conversions,
    destination_domains,
    health,
    imports,
    integrations,
    links,
    linktools,
    public_stats,
    qrcodes,
    recovery,
    report,
    settings,
    short_domains,
    webhooks,
)
from hoplink.dashboard.bulkjobs import BulkJobs
from hoplink.dashboard.context import PREFIX, Services, SignInRequired, TwoFactorRequired
from hoplink.dashboard.csrf import MAX_BODY, CSRFMiddleware
from hoplink.dashboard.headers import HttpsDetector, SecurityHeadersMiddleware
from hoplink.dashboard.limits import limit_message
from hoplink.dashboard.pages import describe_error, flash, gettext, locale_of, render
from hoplink.dashboard.sessions import SessionMiddleware
from hoplink.dashboard.throttle import LoginThrottle, SharedLoginThrottle
from hoplink.errors import (
    HoplinkError,
    InvalidInput,
    LinkBanned,
    RateLimited,
    ServiceUnavailable,
    WorkspaceNotVerified,
    WorkspaceSuspended,
)
from hoplink.inputguard import InputGuard
from hoplink.redirect.edge import ClickCapture
from hoplink.runtime import Runtime
from hoplink.storage import outage

STATIC = Path(__file__).parent / "static"
W = f"{PREFIX}/w/{{ws}}"


async def _to_links(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/w/{request.path_params['ws']}/links", status_code=303)


async def _to_app(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/", status_code=303)


def routes() -> list[BaseRoute]:
    get, post = ["GET", "HEAD"], ["POST"]
    return [
        Route("/", auth.home, methods=get),
        Route(PREFIX, _to_app, methods=get),
        Route(f"{PREFIX}/", auth.home, methods=get),
        Route(f"{PREFIX}/signin", auth.sign_in_page, methods=get),
        Route(f"{PREFIX}/signin", auth.sign_in, methods=post),
        Route(f"{PREFIX}/signout", auth.sign_out, methods=post),
        Route(f"{PREFIX}/lang", auth.set_language, methods=post),
        # Issue 14: accounts — the second sign-in step, reset and invitation links, the
        # account page (password, sessions, two-factor).
        Route(f"{PREFIX}/signin/2fa", recovery.second_factor_page, methods=get),
        Route(f"{PREFIX}/signin/2fa", recovery.second_factor, methods=post),
        Route(f"{PREFIX}/forgot", recovery.forgot_page, methods=get),
        Route(f"{PREFIX}/forgot", recovery.forgot, methods=post),
        Route(f"{PREFIX}/reset/{{token}}", recovery.reset_page, methods=get),
        Route(f"{PREFIX}/reset/{{token}}", recovery.reset, methods=post),
        Route(f"{PREFIX}/invite/{{token}}", recovery.invite_page, methods=get),
        Route(f"{PREFIX}/invite/{{token}}", recovery.accept_invite, methods=post),
        Route(account.ACCOUNT, account.account_page, methods=get),
        Route(f"{account.ACCOUNT}/password", account.change_password, methods=post),
        Route(f"{account.ACCOUNT}/sessions/signout", account.sign_out_others, methods=post),
        Route(f"{account.ACCOUNT}/sessions/{{session}}/end", account.end_one_session, methods=post),
        Route(account.TWO_FACTOR, account.two_factor_page, methods=get),
        Route(account.TWO_FACTOR, account.confirm_two_factor, methods=post),
        Route(f"{account.TWO_FACTOR}/disable", account.disable_two_factor, methods=post),
        Route(f"{account.TWO_FACTOR}/codes", account.renew_codes, methods=post),
        Mount(f"{PREFIX}/static", app=StaticFiles(directory=STATIC), name="static"),
        Route(W, _to_links, methods=get),
        Route(f"{W}/links", links.list_links, methods=get),
        Route(f"{W}/links", links.create_link, methods=post),
        Route(f"{W}/links.csv", links.export_links, methods=get),
        Route(f"{W}/links/new", links.new_link, methods=get),
        Route(f"{W}/links/preview", links.preview, methods=post),
        Route(f"{W}/links/{{id}}", links.link_detail, methods=get),
        Route(f"{W}/links/{{id}}/public-stats", public_stats.enable, methods=post),
        Route(f"{W}/links/{{id}}/public-stats/revoke", public_stats.revoke, methods=post),
        Route("/stats/{token}", public_stats.page, methods=get),
        Route(f"{W}/links/{{id}}/edit", links.edit_form, methods=get),
        Route(f"{W}/links/{{id}}/edit", links.update, methods=post),
        Route(f"{W}/links/{{id}}/rules", linktools.save_rule, methods=post),
        Route(f"{W}/links/{{id}}/rules/{{routing_rule}}/move", linktools.move_rule, methods=post),
        Route(
            f"{W}/links/{{id}}/rules/{{routing_rule}}/delete", linktools.delete_rule, methods=post
        ),
        # Stop before start, and all before the link's delete: the security batteries post to
        # them in this order.
        Route(f"{W}/links/{{id}}/ab/stop", linktools.stop_test, methods=post),
        Route(f"{W}/links/{{id}}/ab", linktools.start_test, methods=post),
        Route(f"{W}/links/{{id}}/schedule", linktools.save_schedule, methods=post),
        Route(f"{W}/links/{{id}}/archive", links.archive, methods=post),
        Route(f"{W}/links/{{id}}/disable", links.disable_form, methods=get),
        Route(f"{W}/links/{{id}}/disable", links.disable, methods=post),
        Route(f"{W}/links/{{id}}/delete", links.delete_form, methods=get),
        Route(f"{W}/links/{{id}}/delete", links.delete, methods=post),
        Route(f"{W}/links/{{id}}/health/check", health.check_link, methods=post),
        Route(f"{W}/health", health.health_page, methods=get),
        Route(f"{W}/health/check", health.check_all, methods=post),
        Route(f"{W}/health/acknowledge", health.acknowledge, methods=post),
        Route(f"{W}/links/{{id}}/qr.svg", partial(links.qr, kind="svg"), methods=get),
        Route(f"{W}/links/{{id}}/qr.png", partial(links.qr, kind="png"), methods=get),
        Route(f"{W}/bulk", bulk.bulk_form, methods=get),
        Route(f"{W}/bulk", bulk.bulk_start, methods=post),
        Route(f"{W}/bulk/template.csv", bulk.bulk_template, methods=get),
        Route(f"{W}/bulk/{{job}}", bulk.bulk_job, methods=get),
        Route(f"{W}/bulk/{{job}}/progress", bulk.bulk_progress, methods=get),
        Route(f"{W}/bulk/{{job}}/results.csv", bulk.bulk_results, methods=get),
        Route(f"{W}/import", imports.import_form, methods=get),
        Route(f"{W}/import", imports.import_run, methods=post),
        Route(f"{W}/analytics", analytics.analytics_page, methods=get),
        Route(f"{W}/analytics.csv", analytics.analytics_csv, methods=get),
        Route(f"{W}/analytics/orders.csv", analytics.orders_csv, methods=get),
        Route(f"{W}/orders", conversions.orders_page, methods=get),
        Route(f"{W}/orders/{{order}}", conversions.order_page, methods=get),
        Route(f"{W}/conversions", conversions.settings_page, methods=get),
        Route(f"{W}/conversions/settings", conversions.save_settings, methods=post),
        Route(f"{W}/conversions/rules", conversions.add_rule, methods=post),
        Route(f"{W}/conversions/rules/{{rule}}/delete", conversions.delete_rule, methods=post),
        Route(f"{W}/conversions/keys", conversions.create_key, methods=post),
        Route(f"{W}/conversions/keys/{{ikey}}/revoke", conversions.revoke_key, methods=post),
        Route(f"{W}/conversions/spend", conversions.import_spend_file, methods=post),
        Route(f"{W}/conversions/mapping", conversions.save_export_mapping, methods=post),
        Route(f"{W}/conversions/import", conversions.import_orders_file, methods=post),
        Route(f"{W}/campaigns", campaigns.campaigns_page, methods=get),
        Route(f"{W}/campaigns", campaigns.add_campaign, methods=post),
        Route(f"{W}/settings", settings.settings_page, methods=get),
        Route(f"{W}/settings/workspace", settings.save_workspace, methods=post),
        Route(f"{W}/settings/members", settings.add_member_view, methods=post),
        Route(f"{W}/settings/members/{{user}}/role", settings.change_role, methods=post),
        Route(f"{W}/settings/members/{{user}}/remove", settings.remove_member, methods=post),
        Route(
            f"{W}/settings/invitations/{{invitation}}/revoke",
            settings.revoke_invitation,
            methods=post,
        ),
        Route(f"{W}/settings/security", settings.save_security, methods=post),
        Route(f"{W}/settings/keys", settings.create_key, methods=post),
        Route(f"{W}/settings/keys/{{key}}/revoke", settings.revoke_form, methods=get),
        Route(f"{W}/settings/keys/{{key}}/revoke", settings.revoke_key, methods=post),
        Route(f"{W}/settings/qr-logo", qrcodes.upload_logo, methods=post),
        Route(f"{W}/settings/qr-logo.png", qrcodes.logo_png, methods=get),
        Route(f"{W}/settings/qr-logo/delete", qrcodes.remove_logo, methods=post),
        Route(f"{W}/settings/webhooks", webhooks.webhooks_page, methods=get),
        Route(f"{W}/settings/webhooks", webhooks.add, methods=post),
        Route(f"{W}/settings/webhooks/replay", webhooks.replay, methods=post),
        Route(f"{W}/settings/webhooks/{{hook}}/delete", webhooks.delete, methods=post),
        Route(f"{W}/settings/integrations", integrations.integrations_page, methods=get),
        Route(f"{W}/settings/integrations", integrations.add, methods=post),
        Route(f"{W}/settings/integrations/{{fwd}}/test", integrations.test, methods=post),
        Route(f"{W}/settings/integrations/{{fwd}}/replay", integrations.replay, methods=post),
        Route(f"{W}/settings/integrations/{{fwd}}/delete", integrations.delete_form, methods=get),
        Route(f"{W}/settings/integrations/{{fwd}}/delete", integrations.delete, methods=post),
        Route(f"{W}/settings/domains", destination_domains.list_page, methods=get),
        Route(f"{W}/settings/domains", destination_domains.add, methods=post),
        Route(f"{W}/settings/domains/{{domain}}", destination_domains.domain_page, methods=get),
        Route(f"{W}/settings/domains/{{domain}}/verify", destination_domains.verify, methods=post),
        Route(
            f"{W}/settings/domains/{{domain}}/delete", destination_domains.delete_form, methods=get
        ),
        Route(f"{W}/settings/domains/{{domain}}/delete", destination_domains.delete, methods=post),
        # Issue 16: custom short domains.
        Route(f"{W}/settings/short-domains", short_domains.list_page, methods=get),
        Route(f"{W}/settings/short-domains", short_domains.add, methods=post),
        Route(f"{W}/settings/short-domains/{{sdomain}}", short_domains.domain_page, methods=get),
        Route(f"{W}/settings/short-domains/{{sdomain}}", short_domains.save, methods=post),
        Route(f"{W}/settings/short-domains/{{sdomain}}/verify", short_domains.verify, methods=post),
        Route(
            f"{W}/settings/short-domains/{{sdomain}}/remove", short_domains.remove_form, methods=get
        ),
        Route(f"{W}/settings/short-domains/{{sdomain}}/remove", short_domains.remove, methods=post),
        # Issue 6: the public report form (routed here by HoplinkApp) and the admin pages.
        Route(report.PUBLIC_PATH, report.to_form, methods=get),
        Route(report.PATH, report.report_form, methods=get),
        Route(report.PATH, report.submit, methods=post),
        Route(admin.ADMIN, admin.home, methods=get),
        Route(f"{admin.ADMIN}/workspaces", admin.workspaces_page, methods=get),
        Route(f"{admin.ADMIN}/workspaces/{{id}}/verify", admin.verify_workspace, methods=post),
        Route(f"{admin.ADMIN}/workspaces/{{id}}/suspend", admin.suspend_workspace, methods=post),
        Route(
            f"{admin.ADMIN}/workspaces/{{id}}/reinstate", admin.reinstate_workspace, methods=post
        ),
        Route(f"{admin.ADMIN}/users", admin.users_page, methods=get),
        Route(f"{admin.ADMIN}/users/signout", admin.sign_out_everywhere, methods=post),
        Route(f"{admin.ADMIN}/reports", admin.reports_page, methods=get),
        Route(f"{admin.ADMIN}/reports/{{id}}/resolve", admin.resolve_report, methods=post),
        Route(f"{admin.ADMIN}/reports/{{id}}/dismiss", admin.dismiss_report, methods=post),
        Route(f"{admin.ADMIN}/bans", admin.bans_page, methods=get),
        Route(f"{admin.ADMIN}/rates", conversions.rates_page, methods=get),
        Route(f"{admin.ADMIN}/rates", conversions.import_rates_file, methods=post),
        Route(f"{admin.ADMIN}/bans", admin.ban, methods=post),
        Route(f"{admin.ADMIN}/bans/{{id}}/unban", admin.unban, methods=post),
        Route(f"{admin.ADMIN}/audit", admin.audit_page, methods=get),
    ]


def _error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status=status, message=message, status_code=status)


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = f"{PREFIX}/"
    from urllib.parse import quote

    return RedirectResponse(f"{auth.SIGN_IN}?next={quote(target, safe='/')}", status_code=303)


async def _two_factor_required(request: Request, exc: Exception) -> Response:
    flash(
        request,
        gettext(
            request,
            "A workspace you belong to requires two-factor sign-in. Turn it on to continue.",
        ),
        "error",
    )
    return RedirectResponse(account.TWO_FACTOR, status_code=303)


async def _hoplink_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HoplinkError)
    if isinstance(exc, InvalidInput):
        message = "; ".join(describe_error(request, e) for e in exc.errors)
    elif exc.status == 404:
        message = gettext(request, "This page does not exist, or you have no access to it.")
    elif isinstance(exc, WorkspaceSuspended):
        message = gettext(
            request,
            "This workspace is suspended: its links do not redirect and nothing can be changed."
            " Contact the platform operator.",
        )
    elif isinstance(exc, WorkspaceNotVerified):
        message = gettext(
            request,
            "This workspace is not verified yet: only verified sellers can create links."
            " Ask the platform operator to verify it.",
        )
    elif isinstance(exc, LinkBanned):
        message = gettext(
            request,
            "This link was banned by the platform operator and cannot be changed or deleted.",
        )
    elif exc.status == 403:
        message = gettext(request, "Your role in this workspace does not allow this.")
    elif isinstance(exc, RateLimited):
        message = limit_message(request, exc)
    elif isinstance(exc, ServiceUnavailable):
        message = gettext(
            request,
            "hoplink cannot reach its database at the moment. Nothing you saved is lost;"
            " please try again in a few seconds.",
        )
    elif locale_of(request) == "en":
        message = exc.message
    else:  # the service's message is English: say what kind of refusal it was instead
        message = _generic(request, exc.status)
    response = _error_page(request, exc.status, message)
    if isinstance(exc, RateLimited | ServiceUnavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _database_error(request: Request, exc: Exception) -> Response:
    unavailable = outage.unavailable(exc)
    if unavailable is None:
        raise exc  # a bug, not an outage: Starlette's 500
    return await _hoplink_error(request, unavailable)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = gettext(request, "This page does not exist, or you have no access to it.")
    elif locale_of(request) == "en":
        message = str(exc.detail)
    else:
        message = _generic(request, exc.status_code)
    return _error_page(request, exc.status_code, message)


def _refused_input(scope: Scope, exc: HoplinkError) -> Response:
    request = Request(scope)
    if isinstance(exc, InvalidInput):
        message = "; ".join(f"{e.field}: {describe_error(request, e)}" for e in exc.errors)
    else:
        message = gettext(request, "This request is too large.")
    return _error_page(request, exc.status, message)


def _generic(request: Request, status: int) -> str:
    if status == 409:
        return gettext(request, "This conflicts with the current state. Reload and try again.")
    if status == 405:
        return gettext(request, "This address does not accept that kind of request.")
    if status < 500:
        return gettext(request, "This request could not be handled. Check it and try again.")
    return gettext(request, "Something went wrong on our side. Please try again in a moment.")


def _forbidden(scope: Scope) -> Response:
    request = Request(scope)
    message = gettext(
        request,
        "This form has expired or was sent from another site. Go back, reload the page and "
        "try again.",
    )
    return _error_page(request, 403, message)


class Dashboard:
    def __init__(self) -> None:
        self.router = Starlette(
            routes=routes(),
            exception_handlers={
                SignInRequired: _sign_in_required,
                TwoFactorRequired: _two_factor_required,
                HoplinkError: _hoplink_error,
                HTTPException: _http_error,
                **dict.fromkeys(outage.ADAPTER_TYPES, _database_error),
            },
        )
        self.jobs = BulkJobs()
        self.throttle: SharedLoginThrottle | None = None
        self.app: ASGIApp | None = None

    def bind(self, runtime: Runtime) -> None:
        https = HttpsDetector(runtime.trusted_proxies)
        capture = ClickCapture(
            salts=runtime.salts,
            geo=runtime.geo,
            trusted=runtime.trusted_proxies,
            client_ip_header=runtime.settings.client_ip_header,
        )

        def client_ip(scope: Scope) -> str | None:
            client = scope.get("client")
            peer = client[0] if client else None
            return capture.client_ip(peer, Headers(scope=scope).raw)[0]

        s = runtime.settings
        self.throttle = SharedLoginThrottle(
            local=LoginThrottle(
                account_free=s.login_account_failures,
                ip_free=s.login_address_failures,
                base=s.login_lockout_base,
                cap=s.login_lockout_max,
            ),
            secret=s.resolve_secret_key(),
            redis=runtime.redis,
            prefix=s.redis_key_prefix,
        )
        self.router.state.services = Services(
            runtime=runtime,
            throttle=self.throttle,
            jobs=self.jobs,
            client_ip=client_ip,
            is_https=https,
        )
        csrf_checked = CSRFMiddleware(self.router, forbidden=_forbidden)
        inner = InputGuard(
            csrf_checked,
            paths=lambda: [r.path for r in self.router.routes if isinstance(r, Route)],
            max_body=MAX_BODY,
            refuse=_refused_input,
        )
        sessions = SessionMiddleware(
            inner, secret=runtime.settings.resolve_secret_key(), is_https=https
        )
        self.app = SecurityHeadersMiddleware(sessions, is_https=https)

    async def close(self) -> None:
        await self.jobs.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            await PlainTextResponse("Starting, try again", status_code=503)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_dashboard() -> Dashboard:
    return Dashboard()
