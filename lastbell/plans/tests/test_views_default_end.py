"""Ending a student's long-term default: from today the student has none."""

import datetime as dt
import re

from django.contrib import messages
from django.contrib.messages import Message
from django.urls import reverse
from pytest_django.asserts import assertMessages, assertRedirects

from lastbell.audit.models import AuditEvent
from lastbell.plans import services
from lastbell.plans.models import DefaultDay, LongTermDefault
from lastbell.plans.services import PlanSpec

TODAY = dt.date(2026, 11, 18)


def _url(school, student):
    return reverse("plans:default_end", args=[school.id, student.id])


def _default(student, starts_on):
    default = LongTermDefault.objects.create(student=student, starts_on=starts_on)
    DefaultDay.objects.bulk_create(
        DefaultDay(default=default, weekday=day, plan_type="walk") for day in range(5)
    )
    return default


def _plan_on(client, school, date) -> str:
    """The plan cell of the only student on the students tab for `date`."""
    r = client.get(reverse("plans:students", args=[school.id]), {"date": date})
    cells = re.findall(r'<td data-label="Plan">(.*?)</td>', r.content.decode(), re.S)
    assert len(cells) == 1
    return cells[0]


def _missing_today(client, school):
    return "No plan yet" in _plan_on(client, school, TODAY.isoformat())


def test_it_ends_the_default_yesterday(client, on_school_day, school, staff, student):
    default = _default(student, dt.date(2026, 9, 1))
    client.force_login(staff)

    r = client.post(_url(school, student))

    assertRedirects(
        r, reverse("plans:student", args=[school.id, student.id]), fetch_redirect_response=False
    )
    assertMessages(
        r, [Message(messages.SUCCESS, "Ana Rivera has no long-term default from today.")]
    )
    default.refresh_from_db()
    assert default.ends_on == TODAY - dt.timedelta(days=1)
    assert AuditEvent.objects.filter(action="plan.default.ended", actor=staff).count() == 1
    assert _missing_today(client, school)
    # Past days keep the plan they had.
    assert "Walks home" in _plan_on(client, school, "2026-11-17")


def test_it_ends_a_default_that_started_today(client, on_school_day, school, staff, student):
    services.default_set(
        student=student,
        starts_on=TODAY,
        days=dict.fromkeys(range(5), PlanSpec("walk")),
        actor=staff,
    )
    client.force_login(staff)

    client.post(_url(school, student))

    assert _missing_today(client, school)


def test_it_ends_a_default_that_was_to_start_later(client, on_school_day, school, staff, student):
    _default(student, dt.date(2026, 9, 1))
    services.default_set(
        student=student,
        starts_on=dt.date(2026, 11, 23),
        days=dict.fromkeys(range(5), PlanSpec("bike")),
        actor=staff,
    )
    client.force_login(staff)

    client.post(_url(school, student))

    assert "No plan yet" in _plan_on(client, school, "2026-11-23")


def test_it_says_when_there_is_nothing_to_end(client, on_school_day, school, staff, student):
    client.force_login(staff)

    r = client.post(_url(school, student))

    assertMessages(r, [Message(messages.INFO, "Ana Rivera had no long-term default to end.")])
    assert not AuditEvent.objects.exists()


def test_it_only_ends_by_post(client, on_school_day, school, staff, student):
    default = _default(student, dt.date(2026, 9, 1))
    client.force_login(staff)

    r = client.get(_url(school, student))

    assert r.status_code == 405
    default.refresh_from_db()
    assert default.ends_on is None
