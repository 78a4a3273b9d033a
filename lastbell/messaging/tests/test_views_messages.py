"""The school's Messages page, a message, and "Retry now", for every kind of user."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.audit.models import AuditEvent
from lastbell.messaging.models import Channel, Kind, Message, Status
from lastbell.messaging.tests.support import queue

NOON = dt.datetime(2026, 11, 18, 20, 0, tzinfo=dt.UTC)
REFUSED = (
    "Not delivered after 8 attempts. Could not reach the mail server at mail.example.org:25."
    "\nTechnical detail: ConnectionRefusedError: [Errno 111] Connection refused"
)


@pytest.fixture
def outbox(time_machine, school, other_school, student, guardian):
    """At Lincoln: a sent confirmation and an undelivered reminder; one at Washington."""
    time_machine.move_to(NOON, tick=False)
    sent = queue(school=school, student=student, guardian=guardian, to=guardian.email)
    Message.objects.filter(pk=sent.pk).update(status=Status.SENT, attempts=1, sent_at=NOON)
    failed = queue(
        school=school, student=student, channel=Channel.SMS, to="+15550123456",
        kind=Kind.MISSING_PLAN, subject="", body="No plan yet for Ana.",
    )  # fmt: skip
    Message.objects.filter(pk=failed.pk).update(
        status=Status.FAILED, attempts=8, last_error=REFUSED, created_at=NOON - dt.timedelta(days=3)
    )
    elsewhere = queue(school=other_school, to="zed@example.org")
    return sent, failed, elsewhere


def _list(client, school, **params):
    return client.get(reverse("messaging:list", args=[school.id]), params)


def test_it_lists_the_schools_messages(client, school, staff, outbox, guardian):
    client.force_login(staff)

    r = _list(client, school)

    assertContains(r, "Maria Lopez")
    assertContains(r, guardian.email)
    assertContains(r, "+15550123456")
    assertContains(r, "Plan confirmation")
    assertContains(r, "No plan yet")
    assertContains(r, "Not delivered")
    assertContains(r, "Not delivered after 8 attempts. Could not reach the mail server")
    assertNotContains(r, "ConnectionRefusedError")  # the technical part is on the message
    assertContains(r, "1 message could not be delivered.")
    assertNotContains(r, "zed@example.org")


@pytest.mark.parametrize(("params", "found"), [
    ({"status": "failed"}, ["failed"]),
    ({"status": "sent"}, ["sent"]),
    ({"kind": "missing_plan"}, ["failed"]),
    ({"to": "lopez"}, ["sent"]),
    ({"to": "555012"}, ["failed"]),
    ({"date_from": "2026-11-18"}, ["sent"]),
    ({"date_to": "2026-11-15"}, ["failed"]),
    ({"date_from": "2026-11-15", "date_to": "2026-11-18"}, ["sent", "failed"]),
    ({"status": "queued"}, []),
])  # fmt: skip
def test_it_filters(client, school, staff, outbox, params, found):
    client.force_login(staff)
    sent, failed, _ = outbox

    r = _list(client, school, **params)

    named = {"sent": sent.id, "failed": failed.id}
    assert [m.id for m in r.context["page_obj"]] == [named[name] for name in found]


def test_it_explains_bad_filters(client, school, staff, outbox):
    client.force_login(staff)

    r = _list(client, school, status="lost", kind="spam", date_from="18/11/2026", page="x")

    assert r.status_code == 200
    assertContains(r, "Choose a status from the list.")
    assertContains(r, "Choose what the message is about from the list.")
    assertContains(r, "Enter a date such as 2026-11-30.")
    assertContains(r, "No message matches.")


def test_it_sends_only_the_results_to_htmx(client, school, staff, outbox):
    client.force_login(staff)

    r = client.get(
        reverse("messaging:list", args=[school.id]),
        {"status": "failed"},
        headers={"HX-Request": "true"},
    )

    assertContains(r, 'id="results"')
    assertNotContains(r, '<nav class="tabs"')


def test_it_pages_with_a_constant_number_of_queries(client, school, staff, student, guardian):
    client.force_login(staff)
    url = reverse("messaging:list", args=[school.id])
    queue(school=school, student=student, guardian=guardian)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for n in range(60):
        queue(school=school, student=student, guardian=guardian, to=f"parent{n}@example.org")

    with CaptureQueriesContext(connection) as many:
        r = client.get(url)

    assert len(r.context["page_obj"].object_list) == 50
    assert len(many) == len(few)


def test_it_shows_a_message(client, school, staff, outbox):
    client.force_login(staff)
    _, failed, _ = outbox

    r = client.get(reverse("messaging:detail", args=[school.id, failed.id]))

    assertContains(r, "No plan yet for Ana.")
    assertContains(r, "Not delivered after 8 attempts.")
    assertContains(r, "ConnectionRefusedError")
    assertContains(r, "Retry now")


def test_it_offers_no_retry_for_a_sent_message(client, school, staff, outbox):
    client.force_login(staff)

    r = client.get(reverse("messaging:detail", args=[school.id, outbox[0].id]))

    assertContains(r, "Sent")
    assertNotContains(r, "Retry now")


def test_it_retries_an_undelivered_message_now_and_records_it(
    client, school, staff, outbox, time_machine
):
    client.force_login(staff)
    _, failed, _ = outbox
    time_machine.move_to(NOON + dt.timedelta(hours=1), tick=False)
    url = reverse("messaging:detail", args=[school.id, failed.id])

    r = client.post(reverse("messaging:retry", args=[school.id, failed.id]))

    assertRedirects(r, url, fetch_redirect_response=False)
    failed.refresh_from_db()
    assert (failed.status, failed.next_attempt_at) == (Status.QUEUED, NOON + dt.timedelta(hours=1))
    [event] = AuditEvent.objects.filter(action="message.retried")
    assert (event.actor, event.school, event.target_id) == (staff, school, str(failed.id))
    assert event.before == {"status": "Not delivered", "attempts": 8}
    assert event.after == {"status": "Waiting to send", "attempts": 8}
    assertContains(client.get(url), "Sending the text message to +15550123456 again now.")


def test_it_does_not_retry_a_sent_message(client, school, staff, outbox):
    client.force_login(staff)
    sent = outbox[0]

    r = client.post(reverse("messaging:retry", args=[school.id, sent.id]), follow=True)

    assertContains(r, "This message was already sent; there is nothing to retry.")
    sent.refresh_from_db()
    assert sent.status == Status.SENT
    assert not AuditEvent.objects.filter(action="message.retried").exists()


def test_it_retries_only_on_post(client, school, staff, outbox):
    client.force_login(staff)

    r = client.get(reverse("messaging:retry", args=[school.id, outbox[1].id]))

    assert r.status_code == 405


def test_a_district_admin_sees_the_messages(client, school, district_admin, outbox):
    client.force_login(district_admin)

    assertContains(_list(client, school), "+15550123456")


def test_a_school_admin_can_retry(client, school, outbox):
    client.force_login(testing.make_staff(school, Role.SCHOOL_ADMIN))

    client.post(reverse("messaging:retry", args=[school.id, outbox[1].id]))

    assert AuditEvent.objects.filter(action="message.retried").count() == 1


def test_staff_of_another_school_get_404(client, school, other_staff, outbox):
    client.force_login(other_staff)
    _, failed, _ = outbox

    assert _list(client, school).status_code == 404
    assert client.get(reverse("messaging:detail", args=[school.id, failed.id])).status_code == 404
    assert client.post(reverse("messaging:retry", args=[school.id, failed.id])).status_code == 404
    failed.refresh_from_db()
    assert failed.status == Status.FAILED


def test_a_message_of_another_school_is_404_under_this_one(client, school, staff, outbox):
    client.force_login(staff)
    elsewhere = outbox[2]

    assert (
        client.get(reverse("messaging:detail", args=[school.id, elsewhere.id])).status_code == 404
    )
    assert (
        client.post(reverse("messaging:retry", args=[school.id, elsewhere.id])).status_code == 404
    )


def test_teachers_are_refused(client, school, teacher, outbox):
    client.force_login(teacher)
    _, failed, _ = outbox

    r = _list(client, school)

    assertContains(
        r, "Messages to families are for the office and dismissal staff.", status_code=403
    )
    assert client.get(reverse("messaging:detail", args=[school.id, failed.id])).status_code == 403
    assert client.post(reverse("messaging:retry", args=[school.id, failed.id])).status_code == 403
    assert not AuditEvent.objects.filter(action="message.retried").exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, school, outbox):
    url = reverse("messaging:list", args=[school.id])

    r = client.get(url)

    assertRedirects(r, reverse("accounts:login") + "?next=" + url, fetch_redirect_response=False)
    r = client.post(reverse("messaging:retry", args=[school.id, outbox[1].id]))
    assert r.status_code == 302
    assert not AuditEvent.objects.filter(action="message.retried").exists()
