"""Fixtures: the default mailer and the SMS settings point at real servers on loopback."""

import threading
from http.server import ThreadingHTTPServer

import pytest

from lastbell.messaging.tests.support import (
    SMS_FROM,
    SMS_SID,
    SMS_TOKEN,
    Gateway,
    GatewayHandler,
    free_port,
)


@pytest.fixture
def smtp_port(settings):
    """The default mailer points at this port; `smtp_server(port)` starts a server there."""
    port = free_port()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    return port


@pytest.fixture
def sms_gateway(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), GatewayHandler)
    server.gateway = Gateway()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.LASTBELL_SMS_BACKEND = "lastbell.messaging.backends.HttpSmsBackend"
    settings.LASTBELL_SMS_URL = (
        f"http://127.0.0.1:{server.server_port}/2010-04-01/Accounts/{SMS_SID}/Messages.json"
    )
    settings.LASTBELL_SMS_ACCOUNT_SID = SMS_SID
    settings.LASTBELL_SMS_AUTH_TOKEN = SMS_TOKEN
    settings.LASTBELL_SMS_FROM = SMS_FROM
    settings.LASTBELL_SMS_TIMEOUT = 5
    yield server.gateway
    server.shutdown()
    server.server_close()
    thread.join()
