"""How a message leaves: email through Django's default mailer, texts through a gateway.

Every failure is a DeliveryError with a sentence for the school office, the technical detail
for IT, and whether trying again could help.
"""

import base64
import contextlib
import json
import smtplib
import sys
import urllib.error
import urllib.request
from urllib.parse import urlencode

from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives, make_msgid
from django.utils.module_loading import import_string

from lastbell.messaging.models import DETAIL_MARK


class DeliveryError(Exception):
    def __init__(self, reason: str, detail: str = "", *, permanent: bool = False):
        super().__init__(reason)
        self.reason, self.detail, self.permanent = reason, detail, permanent

    def __str__(self):
        return f"{self.reason}{DETAIL_MARK}{self.detail}" if self.detail else self.reason


def _smtp_detail(exc) -> str:
    return f"{type(exc).__name__}: {exc}"


class EmailSender:
    """Email through the default mailer (settings.MAILERS), one connection for a whole run."""

    def __init__(self):
        self.mailer = mail.mailers.default

    def send(self, message) -> str:
        message_id = make_msgid(idstring=f"lastbell.{message.pk}")
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            to=[message.to],
            headers={"Message-ID": message_id, "Content-Language": message.language},
        )
        if message.html_body:
            email.attach_alternative(message.html_body, "text/html")
        try:
            self.mailer.open()  # kept open until close(): one connection for the whole run
            sent = self.mailer.send_messages([email])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            self.close()
            raise DeliveryError(
                f"The mail server refused the address {message.to}. Check the family's "
                "email address.",
                _smtp_detail(exc),
                permanent=min(codes) >= 500,
            ) from exc
        except smtplib.SMTPDataError as exc:
            self.close()
            raise DeliveryError(
                "The mail server rejected the message.",
                _smtp_detail(exc),
                permanent=exc.smtp_code >= 500,
            ) from exc
        except ValueError as exc:  # an address Django cannot even write into a header
            raise DeliveryError(
                f"“{message.to}” is not an email address. Correct the family's contact.",
                _smtp_detail(exc),
                permanent=True,
            ) from exc
        except OSError as exc:  # refused, timed out, dropped, TLS or login (SMTPException)
            self.close()
            host = getattr(self.mailer, "host", "")
            where = f" at {host}:{self.mailer.port}" if host else ""
            raise DeliveryError(
                f"Could not reach the mail server{where}. If this goes on, ask your district "
                "IT to check the mail server.",
                _smtp_detail(exc),
            ) from exc
        if not sent:
            raise DeliveryError("The mail server did not take the message.")
        return message_id

    def close(self):
        # Closing a dead connection can fail too; the next send opens a new one either way.
        with contextlib.suppress(OSError):
            self.mailer.close()


class ConsoleSmsBackend:
    """Development: texts are printed instead of sent (the default without LASTBELL_SMS_URL)."""

    def send(self, message) -> str:
        sys.stdout.write(f"SMS to {message.to} ({message.language}):\n{message.body}\n\n")
        sys.stdout.flush()
        return f"console-{message.pk}"


class HttpSmsBackend:
    """A Twilio-style gateway: form-encoded To/From/Body with basic auth, JSON `sid` back."""

    # Too many requests and request timeout are worth another try, unlike other 4xx.
    RETRYABLE_4XX = {408, 429}

    def __init__(self):
        self.url = settings.LASTBELL_SMS_URL
        if not self.url.startswith(("https://", "http://")):
            raise ImproperlyConfigured("LASTBELL_SMS_URL must be an http(s) address.")
        credentials = f"{settings.LASTBELL_SMS_ACCOUNT_SID}:{settings.LASTBELL_SMS_AUTH_TOKEN}"
        self.authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
        self.sender = settings.LASTBELL_SMS_FROM
        self.timeout = settings.LASTBELL_SMS_TIMEOUT

    def send(self, message) -> str:
        request = urllib.request.Request(  # noqa: S310 — the scheme is checked above
            self.url,
            data=urlencode({"To": message.to, "From": self.sender, "Body": message.body}).encode(),
            headers={"Authorization": self.authorization, "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = _json(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                said = _gateway_says(exc.read())
            detail = f"HTTP {exc.code} from {self.url}: {said}"
            if exc.code in (401, 403):
                # Our credentials, not the message: every text would fail the same way, so
                # keep them all until IT fixes the settings.
                raise DeliveryError(
                    "The text message gateway refused Last Bell's account. Ask your IT "
                    "department to check the LASTBELL_SMS_* settings.",
                    detail,
                ) from exc
            if 400 <= exc.code < 500 and exc.code not in self.RETRYABLE_4XX:
                raise DeliveryError(
                    f"The text message gateway refused this message: {said}",
                    detail,
                    permanent=True,
                ) from exc
            raise DeliveryError("The text message gateway had a problem.", detail) from exc
        except OSError as exc:  # URLError, refused, timed out
            raise DeliveryError(
                "Could not reach the text message gateway. If this goes on, ask your "
                "district IT to check the SMS settings.",
                f"{type(exc).__name__}: {exc} ({self.url})",
            ) from exc
        return str(payload.get("sid", ""))


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _gateway_says(raw: bytes) -> str:
    payload = _json(raw)
    said = payload.get("message") or payload.get("error") or raw.decode(errors="replace")
    return str(said).strip()[:500] or "no explanation given"


def sms_backend():
    return import_string(settings.LASTBELL_SMS_BACKEND)()
