"""Retention per district: dismissal events and message texts older than the district keeps
them are purged each night; each day keeps the counts its reports need, which add up the same."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.tasks import TaskResultStatus
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.audit.models import AuditEvent
from lastbell.dismissal import reports
from lastbell.dismissal import services as dismissal
from lastbell.dismissal.models import Arrival, CustodyEvent, DismissalDay, Verification
from lastbell.dismissal.services import Adult
from lastbell.messaging.models import Channel, Message, Status
from lastbell.messaging.services import queue_message
from lastbell.messaging.tests.support import run_worker
from lastbell.privacy import tasks
from lastbell.privacy.models import (
    DEFAULT_DISMISSAL_EVENT_DAYS,
    DEFAULT_MESSAGE_BODY_DAYS,
    RetentionPolicy,
)
from lastbell.privacy.services import retention_purge
from lastbell.privacy.tests.support import at

LATER = dt.date(2027, 1, 13)  # a Wednesday, eight weeks after the record's dismissals
START, END = dt.date(2026, 8, 17), LATER


def figures(school):
    return {
        "completion": reports.completion_by_day(school, START, END),
        "late": reports.late_by_week(school, START, END),
        "emergencies": [(d.date, d.released) for d in reports.emergency_days(school, START, END)],
    }


def test_the_defaults_apply_until_a_district_saves_its_own(district):
    policy = RetentionPolicy.for_district(district)
    assert policy.pk is None
    assert (policy.dismissal_event_days, policy.message_body_days) == (
        DEFAULT_DISMISSAL_EVENT_DAYS, DEFAULT_MESSAGE_BODY_DAYS,
    )  # fmt: skip


def test_it_purges_old_dismissal_events_and_the_reports_add_up_the_same(
    record, school, staff, district, clock
):
    RetentionPolicy.objects.create(district=district, dismissal_event_days=30)
    emergency = dismissal.day_of(school, dt.date(2026, 11, 18))
    dismissal.emergency_start(emergency, actor=staff, message="Go to the church lot.",
                              now=at(emergency.date, 14))  # fmt: skip
    jorge = Adult(CustodyEvent.To.GUARDIAN, record.jorge)
    dismissal.release(emergency, record.sibling, adult=jorge, actor=staff,
                      verification=Verification.PHOTO_ID, reunifier="Ms. Lee", comfortable=True,
                      now=at(emergency.date, 14, 30))  # fmt: skip
    clock.move_to(at(dt.date(2027, 1, 6), 14), tick=False)
    recent = dismissal.day_of(school, dt.date(2027, 1, 6))
    dismissal.release_group(recent, [record.sibling.pk], to=CustodyEvent.To.WALK,
                            label="Walkers", actor=staff, now=at(recent.date, 15, 1))  # fmt: skip
    clock.move_to(at(LATER, 23), tick=False)
    before = figures(school)
    assert [d.date for d in before["completion"]] == [
        dt.date(2026, 11, 16), dt.date(2026, 11, 17), dt.date(2026, 11, 18), dt.date(2027, 1, 6)
    ]  # fmt: skip
    assert before["emergencies"] == [(dt.date(2026, 11, 18), 1)]
    assert sum(w.flagged for w in before["late"]) == 3

    done = retention_purge(district=district)

    assert done["days"] == 3 and done["events"] > 0
    assert figures(school) == before
    # Older than 30 days: gone, with the check-ins; the day keeps its counts.
    assert not CustodyEvent.objects.filter(day__date__lt=dt.date(2026, 12, 14)).exists()
    assert not Arrival.objects.filter(day__date__lt=dt.date(2026, 12, 14)).exists()
    kept = DismissalDay.objects.get(school=school, date=dt.date(2026, 11, 17))
    assert (kept.released_count, kept.flagged_late_count) == (3, 3)
    # Recent ones stay as they were.
    assert CustodyEvent.objects.filter(day=recent).count() == 1
    # Who picked up whom on the purged days is gone; the recent day's is there.
    assert [p.student for p in reports.pickups_of(
        school, [record.sibling], START, END)[0].events] == [record.sibling]  # fmt: skip

    # Run again: nothing more to do, and the figures do not double.
    assert retention_purge(district=district) == {"days": 0, "events": 0, "messages": 0}
    assert figures(school) == before
    [event] = AuditEvent.objects.filter(action="privacy.retention.purged")
    assert event.after["days"] == 3 and event.via == "system"


def test_it_blanks_the_text_of_old_messages_only(record, school, district, clock):
    RetentionPolicy.objects.create(district=district, message_body_days=30)
    Message.objects.update(status=Status.SENT)
    old = set(Message.objects.values_list("pk", flat=True))
    clock.move_to(at(LATER, 9), tick=False)
    with transaction.atomic():
        fresh = queue_message(channel=Channel.EMAIL, to="jorge@example.org", school=school,
                              body="Leo takes bus 4.", subject="Leo's plan")  # fmt: skip
    Message.objects.filter(pk=fresh.pk).update(status=Status.SENT)
    waiting = Message.objects.filter(pk__in=old).first()
    Message.objects.filter(pk=waiting.pk).update(status=Status.QUEUED)

    done = retention_purge(district=district)

    assert done["messages"] == len(old) - 1
    for message in Message.objects.filter(pk__in=old).exclude(pk=waiting.pk):
        assert (message.subject, message.body, message.html_body) == ("", "", "")
        assert message.to and message.status == Status.SENT  # who and whether stay
    assert Message.objects.get(pk=fresh.pk).body == "Leo takes bus 4."
    assert Message.objects.get(pk=waiting.pk).body  # not sent yet: kept to send


def test_the_settings_are_for_district_admins_and_audited(client, district, school, staff):
    url = reverse("privacy:retention", args=[district.pk])
    for user in (staff, testing.make_staff(school, Role.SCHOOL_ADMIN)):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"dismissal_event_days": 60, "message_body_days": 60}
                           ).status_code == 404  # fmt: skip
    assert not RetentionPolicy.objects.exists()

    admin = testing.make_district_admin(district)
    client.force_login(admin)
    assert client.get(url).status_code == 200
    bad = client.post(url, {"dismissal_event_days": 5, "message_body_days": "a year"})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "Keep them at least 30 days." in text
    assert "Give a whole number of days, such as 365." in text
    assert not RetentionPolicy.objects.exists()

    assert client.post(url, {"dismissal_event_days": 400, "message_body_days": 90}
                       ).status_code == 302  # fmt: skip
    policy = RetentionPolicy.objects.get(district=district)
    assert (policy.dismissal_event_days, policy.message_body_days, policy.updated_by) == (
        400, 90, admin)  # fmt: skip
    event = AuditEvent.objects.get(action="privacy.retention.saved")
    assert event.before == {"dismissal_event_days": 730, "message_body_days": 365}
    assert event.after == {"dismissal_event_days": 400, "message_body_days": 90}


def booked() -> list[dt.datetime]:
    rows = DBTaskResult.objects.filter(
        task_path=tasks.retention_daily.module_path, status=TaskResultStatus.READY
    )
    return sorted(r.run_after for r in rows)


@pytest.mark.django_db(transaction=True)  # the worker ends its connections
def test_the_command_purges_and_books_one_nightly_run_which_books_the_next(
    record, district, clock, settings
):
    settings.TIME_ZONE = "America/Los_Angeles"
    RetentionPolicy.objects.create(district=district, dismissal_event_days=30)
    clock.move_to(at(LATER, 9), tick=False)
    out = io.StringIO()
    call_command("retention_purge", stdout=out)
    call_command("retention_purge", stdout=io.StringIO())

    assert "dismissal events of 2 days deleted" in out.getvalue()
    assert not CustodyEvent.objects.exists()
    tonight = dt.datetime.combine(LATER + dt.timedelta(days=1), tasks.PURGE_AT,
                                  tzinfo=dt.timezone(dt.timedelta(hours=-8)))  # fmt: skip
    assert booked() == [tonight]

    clock.move_to(tonight + dt.timedelta(minutes=1), tick=False)
    run_worker()
    assert booked() == [tonight + dt.timedelta(days=1)]


def test_serve_books_the_purge_at_start():
    from pathlib import Path

    from lastbell.ops.management.commands import serve

    assert 'call_command("retention_purge"' in Path(serve.__file__).read_text(encoding="utf-8")
