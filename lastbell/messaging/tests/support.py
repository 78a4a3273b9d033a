"""Real servers on loopback for the outbox tests, and the two steps every test takes."""

import email
import email.policy
import json
import socket
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.db import transaction

from lastbell.messaging.models import Channel
from lastbell.messaging.services import queue_message

SMS_SID, SMS_TOKEN, SMS_FROM = "AC0123456789", "gateway-secret", "+15550100100"


def free_port() -> int:
    """A port nothing listens on (the kernel just handed it out and we let it go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps every message it accepts, refuses addresses at nowhere.test."""

    def __init__(self):
        self.received = []
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@nowhere.test"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(parsed)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(port):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


class Gateway:
    """What the fake gateway was sent, and what it answers next: (status, JSON body)."""

    def __init__(self):
        self.requests = []
        self.reply = (201, {"sid": "SM0001", "status": "queued"})


class GatewayHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        gateway = self.server.gateway
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        gateway.requests.append(
            {"path": self.path, "headers": dict(self.headers), "form": parse_qs(body)}
        )
        status, payload = gateway.reply
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def queue(channel=Channel.EMAIL, to="maria@example.org", **fields):
    """A message queued the way callers do it: inside their transaction."""
    fields = {"kind": "plan_confirmation", "subject": "Ana's plan for today", **fields}
    with transaction.atomic():
        return queue_message(
            channel=channel, to=to, body=fields.pop("body", "Ana takes bus 12."), **fields
        )


def run_worker():
    """The real django-tasks-db worker: runs every task that is ready now, then stops."""
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
