"""Text messages go to a Twilio-style HTTP gateway, here a real one on loopback."""

import base64
import datetime as dt

import pytest

from lastbell.messaging.models import Channel, Message, Status
from lastbell.messaging.services import deliver_due
from lastbell.messaging.tests.support import SMS_FROM, SMS_SID, SMS_TOKEN, free_port, queue

NOON = dt.datetime(2026, 11, 18, 20, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOON, tick=False)


def _text(**fields):
    return queue(channel=Channel.SMS, to="+15550123456", body="Ana: bus 12 today.", **fields)


def test_it_posts_the_form_with_basic_auth_and_keeps_the_sid(db, sms_gateway):
    sms_gateway.reply = (201, {"sid": "SM42", "status": "queued"})
    message = _text()

    assert deliver_due() == {"sent": 1}

    [request] = sms_gateway.requests
    assert request["path"] == f"/2010-04-01/Accounts/{SMS_SID}/Messages.json"
    assert request["form"] == {
        "To": ["+15550123456"],
        "From": [SMS_FROM],
        "Body": ["Ana: bus 12 today."],
    }
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    scheme, credentials = request["headers"]["Authorization"].split()
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == f"{SMS_SID}:{SMS_TOKEN}"
    message.refresh_from_db()
    assert (message.status, message.provider_id, message.sent_at) == (Status.SENT, "SM42", NOON)


def test_it_retries_after_a_server_error(db, sms_gateway):
    sms_gateway.reply = (500, {"message": "Internal error"})
    message = _text()

    assert deliver_due() == {"retrying": 1}

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 1)
    assert message.next_attempt_at == NOON + dt.timedelta(minutes=1)
    assert message.error_reason.startswith("The text message gateway had a problem.")
    assert "HTTP 500" in message.error_detail


def test_it_gives_up_at_once_when_the_gateway_refuses_the_message(db, sms_gateway):
    sms_gateway.reply = (
        400,
        {"code": 21211, "message": "The 'To' number +15550123456 is not a valid phone number."},
    )
    message = _text()

    assert deliver_due() == {"failed": 1}

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.FAILED, 1)
    assert message.error_reason == (
        "The text message gateway refused this message: "
        "The 'To' number +15550123456 is not a valid phone number."
    )
    sms_gateway.reply = (201, {"sid": "SM43"})
    Message.objects.filter(pk=message.pk).update(next_attempt_at=NOON)
    assert deliver_due() == {}  # a failed message stays failed until staff retry it
    assert len(sms_gateway.requests) == 1


def test_it_retries_when_the_gateway_is_rate_limiting(db, sms_gateway):
    sms_gateway.reply = (429, {"message": "Too Many Requests"})
    _text()

    assert deliver_due() == {"retrying": 1}


def test_it_retries_when_nothing_answers(db, sms_gateway, settings):
    settings.LASTBELL_SMS_URL = f"http://127.0.0.1:{free_port()}/Messages.json"
    message = _text()

    assert deliver_due() == {"retrying": 1}

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 1)
    assert message.error_reason.startswith("Could not reach the text message gateway.")
    assert "Connection refused" in message.error_detail


def test_it_prints_texts_without_a_gateway(db, settings, capsys):
    settings.LASTBELL_SMS_BACKEND = "lastbell.messaging.backends.ConsoleSmsBackend"
    message = _text()

    assert deliver_due() == {"sent": 1}

    assert "SMS to +15550123456 (en):\nAna: bus 12 today." in capsys.readouterr().out
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_it_keeps_the_message_when_the_settings_are_wrong(db, settings):
    settings.LASTBELL_SMS_BACKEND = "lastbell.messaging.backends.HttpSmsBackend"
    settings.LASTBELL_SMS_URL = "ftp://gateway.example.org/"
    message = _text()

    assert deliver_due() == {"retrying": 1}

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 1)
    assert message.error_reason.startswith("Last Bell could not send this message")
    assert "LASTBELL_SMS_URL must be an http(s) address." in message.error_detail


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("(559) 555-0170", "+15595550170"),
        ("559.555.0170", "+15595550170"),
        ("1-559-555-0170", "+15595550170"),
        ("+52 55 1234 5678", "+525512345678"),
        ("call the office", "call the office"),
    ],
)
def test_mobiles_are_sent_in_the_form_gateways_need(written, sent):
    from lastbell.messaging.services import sms_number

    assert sms_number(written) == sent


@pytest.mark.parametrize("code", [401, 403])
def test_it_keeps_every_text_when_the_gateway_refuses_our_account(db, sms_gateway, code):
    sms_gateway.reply = (code, {"message": "Authenticate"})
    message = _text()

    assert deliver_due() == {"retrying": 1}

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 1)
    assert "LASTBELL_SMS_" in message.error_reason
