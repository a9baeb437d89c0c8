"""Outgoing e-mail over SMTP (the standard library's smtplib and email), for self-service
password resets.

One message per connection, sent in a worker thread so the event loop never waits on the
network; ``HOPLINK_SMTP_*`` choose the server, TLS (STARTTLS or implicit, certificates
verified against the system's CAs) and the credentials. A failure is logged (never the
recipient's address) and reported to the caller, who does not tell the requester: the
answer to a reset request must not depend on whether an account exists.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from hoplink.config import Settings

log = logging.getLogger("hoplink.mail")


def message(settings: Settings, *, to: str, subject: str, text: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="hoplink")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    return msg


def _send(settings: Settings, msg: EmailMessage) -> None:
    context = ssl.create_default_context()
    timeout = settings.smtp_timeout
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(msg)


async def send(settings: Settings, msg: EmailMessage) -> bool:
    """Send ``msg``; False (logged) when SMTP is not configured or the server failed."""
    if not settings.mail_enabled:
        return False
    try:
        await asyncio.to_thread(_send, settings, msg)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("could not send an e-mail (%s): %r", msg["Subject"], exc)
        return False
    return True
