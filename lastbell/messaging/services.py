"""The outbox: messages are queued in the caller's transaction, sent after commit, retried.

Public API for code that writes to families:
- `queue_message(...)`: one message to one address.
- `queue_for_guardian(...)`: a message from templates, in the guardian's language, to each
  contact they have (email and/or mobile).
- `deliver_due()`: what the `deliver_messages` task and command run.
- `message_retry(...)`: the staff "Retry now" button.
"""

import datetime as dt
import logging
from collections import Counter
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Min
from django.template import TemplateDoesNotExist
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.utils import timezone

from lastbell.audit.models import Via
from lastbell.audit.services import NotInTransaction, audit_record
from lastbell.i18n import guardian_language, language_of
from lastbell.messaging.backends import DeliveryError, EmailSender, sms_backend
from lastbell.messaging.models import DETAIL_MARK, Channel, Kind, Message, Status
from lastbell.messaging.tasks import deliver_messages

logger = logging.getLogger(__name__)

# A sender holds a message this long; if its worker dies, the message is due again after it.
SENDING_LEASE = dt.timedelta(minutes=5)
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_WAIT = dt.timedelta(hours=1)


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd … failed attempt, at most an hour."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


def queue_message(
    *,
    channel: str,
    to: str,
    body: str,
    kind: str = Kind.OTHER,
    subject: str = "",
    html_body: str = "",
    language: str = "en",
    school=None,
    student=None,
    guardian=None,
    created_by=None,
) -> Message:
    """Store a message to send once the caller's transaction commits; a rollback sends nothing."""
    if not connection.in_atomic_block:
        raise NotInTransaction("Queue a message inside the transaction of the change it is about.")
    if channel not in Channel.values or kind not in Kind.values:
        raise ValueError(f"Unknown channel {channel!r} or kind {kind!r}.")
    message = Message.objects.create(
        channel=channel,
        to=to.strip(),
        subject=subject,
        body=body,
        html_body=html_body,
        language=language,
        kind=kind,
        school=school,
        student=student,
        guardian=guardian,
        created_by=created_by if created_by is not None and created_by.pk else None,
    )
    _wake_on_commit()
    return message


def _wake_on_commit():
    """One delivery task per transaction, however many messages it queues (an invitation run
    queues hundreds). A rolled-back savepoint drops its callbacks, so the check stays right."""
    registered = transaction.get_connection().run_on_commit
    if not any(callback is _wake for _, callback, _ in registered):
        transaction.on_commit(_wake)


def sms_number(mobile: str) -> str:
    """A mobile as SMS gateways want it (E.164): US numbers as rosters write them, such as
    "(559) 555-0170", become "+15595550170"; a number with its country code keeps it; anything
    else is left as written, and the gateway's refusal shows on the message."""
    digits = "".join(ch for ch in mobile if ch.isdigit())
    if mobile.strip().startswith("+") and 8 <= len(digits) <= 15:
        return "+" + digits
    if len(digits) == 10:
        return "+1" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+" + digits
    return mobile.strip()


def _render_optional(name: str, context) -> str:
    try:
        return render_to_string(name, context).strip()
    except TemplateDoesNotExist:
        return ""


def queue_for_guardian(
    *,
    guardian,
    kind: str,
    template: str,
    context: dict | None = None,
    school=None,
    student=None,
    created_by=None,
) -> list[Message]:
    """Queue `template` to every contact the guardian has, written in their language.

    Renders messaging/mail/<template>.subject.txt and <template>.txt, and when they exist
    <template>.html (the email's HTML part) and <template>.sms.txt (the text message; the
    plain body otherwise). A guardian with no email and no mobile gets nothing: [].
    """
    context = {"guardian": guardian, "school": school, "student": student, **(context or {})}
    with guardian_language(guardian):
        subject = render_to_string(f"messaging/mail/{template}.subject.txt", context)
        subject = " ".join(subject.split())  # one line, whatever the template's whitespace
        body = render_to_string(f"messaging/mail/{template}.txt", context).strip()
        html_body = _render_optional(f"messaging/mail/{template}.html", context)
        sms_body = _render_optional(f"messaging/mail/{template}.sms.txt", context) or body
    common = {
        "kind": kind,
        "language": language_of(guardian),
        "school": school,
        "student": student,
        "guardian": guardian,
        "created_by": created_by,
    }
    messages = []
    if guardian.email:
        messages.append(
            queue_message(
                channel=Channel.EMAIL,
                to=guardian.email,
                subject=subject,
                body=body,
                html_body=html_body,
                **common,
            )
        )
    if guardian.mobile:
        messages.append(
            queue_message(
                channel=Channel.SMS, to=sms_number(guardian.mobile), body=sms_body, **common
            )
        )
    return messages


def _wake(at: dt.datetime | None = None):
    """Run the delivery task now, or at `at` where the task backend can defer.

    Without deferral (the immediate backend) later retries wait for the next message or for
    `lastbell deliver_messages`.
    """
    task = deliver_messages
    if at is not None and at > timezone.now():
        if not task.get_backend().supports_defer:
            return
        task = task.using(run_after=at)
    task.enqueue()


def _claim(now: dt.datetime, *, first: bool) -> Message | None:
    """Take the oldest due message for this worker; others skip it (SKIP LOCKED on
    PostgreSQL; SQLite's IMMEDIATE transactions serialise writers, and it ignores the lock)."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(no_key=True, skip_locked=True)
            .filter(status=Status.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .first()
        )
        if message is None:
            return None
        message.status = Status.SENDING
        message.attempts += 1
        message.next_attempt_at = now + SENDING_LEASE
        message.save(update_fields=["status", "attempts", "next_attempt_at"])
        if first:
            # If this worker dies mid-send, a later run puts the message back in the queue.
            transaction.on_commit(partial(_wake, at=message.next_attempt_at))
    return message


def _record_sent(message: Message, provider_id: str, now: dt.datetime):
    Message.objects.filter(pk=message.pk).exclude(status=Status.SENT).update(
        status=Status.SENT, sent_at=now, provider_id=provider_id[:200]
    )


def _record_failure(message: Message, error: DeliveryError, now: dt.datetime) -> str:
    gave_up = error.permanent or message.attempts >= settings.LASTBELL_MESSAGE_MAX_ATTEMPTS
    delay = retry_delay(message.attempts)
    if error.permanent:
        said = error.reason
    elif gave_up:
        said = (
            f"Not delivered after {message.attempts} attempts. {error.reason} "
            "Use “Retry now” once the problem is fixed."
        )
    else:
        minutes = int(delay.total_seconds() // 60)
        said = f"{error.reason} Last Bell will try again in {minutes} minute{pluralize(minutes)}."
    last_error = f"{said}{DETAIL_MARK}{error.detail}" if error.detail else said
    next_attempt_at = now if gave_up else now + delay
    with transaction.atomic():
        # Only if still ours: a worker whose lease ran out must not undo a newer attempt.
        Message.objects.filter(
            pk=message.pk, status=Status.SENDING, attempts=message.attempts
        ).update(
            status=Status.FAILED if gave_up else Status.QUEUED,
            next_attempt_at=next_attempt_at,
            last_error=last_error,
        )
        if not gave_up:
            # Retries happen even if no new message ever arrives.
            transaction.on_commit(partial(_wake, at=next_attempt_at))
    return "failed" if gave_up else "retrying"


def _unexpected(exc: Exception) -> DeliveryError:
    logger.exception("Unexpected error while sending a message")
    return DeliveryError(
        "Last Bell could not send this message because of a problem on its side. "
        "Ask your district IT to look at the server's log.",
        f"{type(exc).__name__}: {exc}",
    )


def deliver_due(*, now: dt.datetime | None = None, limit: int = 100) -> Counter:
    """Send up to `limit` due messages, one at a time; safe to run in many workers at once.

    Returns how many were sent, will be retried, or failed for good.
    """
    clock = (lambda: now) if now is not None else timezone.now
    # Messages whose sender died mid-send: their lease is over, so they are due again.
    Message.objects.filter(status=Status.SENDING, next_attempt_at__lte=clock()).update(
        status=Status.QUEUED
    )
    outcome, email, sms = Counter(), None, None
    try:
        for n in range(limit):
            message = _claim(clock(), first=n == 0)
            if message is None:
                break
            try:
                if message.channel == Channel.EMAIL:
                    sender = email = email or EmailSender()
                else:
                    sender = sms = sms or sms_backend()
                provider_id = sender.send(message)
            except Exception as exc:  # a bug or bad settings must not leave it stuck either
                error = exc if isinstance(exc, DeliveryError) else _unexpected(exc)
                # Ids only: the address and the reason (which may quote it) stay in the
                # outbox, where staff read them; logs carry no personal data.
                logger.warning(
                    "Message %s (%s) not sent: %s%s", message.pk, message.channel,
                    type(error.__cause__ or error).__name__,
                    " (for good)" if error.permanent else "",
                )  # fmt: skip
                outcome[_record_failure(message, error, clock())] += 1
            else:
                _record_sent(message, provider_id, clock())
                outcome["sent"] += 1
        else:
            _wake()  # more may be due: a fresh run takes them
        # A message another worker is sending now: look again when its lease ends.
        lease_end = Message.objects.filter(status=Status.SENDING).aggregate(
            at=Min("next_attempt_at")
        )["at"]
        if lease_end is not None:
            _wake(at=lease_end)
    finally:
        if email is not None:
            email.close()
    return outcome


def message_retry(*, message: Message, actor, via=Via.WEB) -> Message:
    """Staff's "Retry now": a waiting or undelivered message is due at once."""
    with transaction.atomic():
        message = Message.objects.select_for_update(no_key=True).get(pk=message.pk)
        if message.status == Status.SENT:
            raise ValidationError("This message was already sent; there is nothing to retry.")
        if message.status == Status.SENDING:
            raise ValidationError("This message is being sent right now. Reload in a minute.")
        before = {"status": message.get_status_display(), "attempts": message.attempts}
        message.status = Status.QUEUED
        message.next_attempt_at = timezone.now()
        message.save(update_fields=["status", "next_attempt_at"])
        audit_record(
            action="message.retried",
            actor=actor,
            target=message,
            school=message.school,
            student=message.student,
            before=before,
            after={"status": message.get_status_display(), "attempts": message.attempts},
            via=via,
            label=f"{message} ({message.get_kind_display()})",
        )
        _wake_on_commit()
    return message
