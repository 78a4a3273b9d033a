"""A message to a guardian goes to each contact they have, in their language."""

from django.db import transaction

from lastbell import testing
from lastbell.messaging.models import Channel, Kind
from lastbell.messaging.services import queue_for_guardian

CONTEXT = {
    "subject": "How does Ana get home today?",
    "text": "Ana has no plan for today. Tell us by 1 pm — O'Brien & Sons' van can't wait.",
    "link": "https://lastbell.example.org/p/abc123",
}


def _queue(guardian, school, student):
    with transaction.atomic():
        return queue_for_guardian(
            guardian=guardian, kind=Kind.MISSING_PLAN, template="notice", context=CONTEXT,
            school=school, student=student,
        )  # fmt: skip


def test_it_writes_to_email_and_mobile_in_the_guardians_language(db, school, student, staff):
    guardian = testing.make_guardian(student, first="Lucía", mobile="+15550123456", language="es")

    email, text = _queue(guardian, school, student)

    assert (email.channel, email.to) == (Channel.EMAIL, guardian.email)
    assert email.subject == "How does Ana get home today?"
    assert email.body.startswith("Hola Lucía:\n\n")
    # Plain text is not HTML-escaped; the HTML part is.
    assert "O'Brien & Sons' van can't wait." in email.body
    assert "O&#x27;Brien &amp; Sons" in email.html_body
    assert '<a href="https://lastbell.example.org/p/abc123">' in email.html_body
    assert email.body.endswith("— Lincoln Elementary, (555) 010-0100")
    assert (text.channel, text.to) == (Channel.SMS, "+15550123456")
    assert text.body == f"Lincoln Elementary: {CONTEXT['text']} {CONTEXT['link']}"
    for message in (email, text):
        assert (message.language, message.kind) == ("es", Kind.MISSING_PLAN)
        assert (message.guardian, message.student, message.school) == (guardian, student, school)


def test_it_writes_in_english_by_default(db, school, student, guardian):
    [email] = _queue(guardian, school, student)

    assert email.body.startswith("Hello Maria,\n\n")
    assert email.language == "en"


def test_it_queues_nothing_for_a_guardian_without_contacts(db, school, student):
    guardian = testing.make_guardian(student, with_user=False)

    assert _queue(guardian, school, student) == []
