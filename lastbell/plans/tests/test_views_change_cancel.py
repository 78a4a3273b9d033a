"""Removing a change that has not passed yet; past days keep the plan they had."""

import datetime as dt
import re

from django.contrib import messages
from django.contrib.messages import Message
from django.urls import reverse
from pytest_django.asserts import assertMessages, assertRedirects

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.plans.models import PlanChange

TODAY = dt.date(2026, 11, 18)


def _change(student, starts_on, ends_on=None):
    return PlanChange.objects.create(
        student=student, starts_on=starts_on, ends_on=ends_on or starts_on, plan_type="bike"
    )


def _url(school, student, change):
    return reverse("plans:change_cancel", args=[school.id, student.id, change.id])


def _plan_cell(client, school, date) -> str:
    """The plan cell of the only student on the students tab for `date`."""
    r = client.get(reverse("plans:students", args=[school.id]), {"date": date})
    cells = re.findall(r'<td data-label="Plan">(.*?)</td>', r.content.decode(), re.S)
    assert len(cells) == 1
    return cells[0]


def test_it_removes_a_future_change(client, on_school_day, school, staff, student):
    change = _change(student, dt.date(2026, 11, 19))
    client.force_login(staff)
    assert "Bikes home" in _plan_cell(client, school, "2026-11-19")

    r = client.post(_url(school, student, change))

    assertMessages(r, [Message(messages.SUCCESS, "Removed the change for Thu Nov 19, 2026.")])
    change.refresh_from_db()
    assert change.cancelled_at is not None
    assert change.cancelled_by == staff
    assert AuditEvent.objects.filter(action="plan.change.cancelled", actor=staff).count() == 1
    assert "Bikes home" not in _plan_cell(client, school, "2026-11-19")


def test_it_keeps_the_days_already_passed(client, on_school_day, school, staff, student):
    change = _change(student, dt.date(2026, 11, 16), dt.date(2026, 11, 20))
    client.force_login(staff)

    client.post(_url(school, student, change))

    change.refresh_from_db()
    assert change.cancelled_at is None
    assert change.ends_on == TODAY - dt.timedelta(days=1)
    assert "Bikes home" in _plan_cell(client, school, "2026-11-17")
    assert "Bikes home" not in _plan_cell(client, school, "2026-11-18")


def test_it_refuses_to_remove_a_past_change(client, on_school_day, school, staff, student):
    change = _change(student, dt.date(2026, 11, 16), dt.date(2026, 11, 17))
    client.force_login(staff)

    r = client.post(_url(school, student, change))

    assertRedirects(
        r, reverse("plans:student", args=[school.id, student.id]), fetch_redirect_response=False
    )
    assertMessages(r, [Message(messages.ERROR, "This change is in the past and can't be removed.")])
    change.refresh_from_db()
    assert (change.cancelled_at, change.ends_on) == (None, dt.date(2026, 11, 17))
    assert not AuditEvent.objects.exists()


def test_it_hides_another_students_change_behind_a_404(
    client, on_school_day, school, staff, student
):
    sibling = testing.make_student(school, first="Ben")
    change = _change(sibling, dt.date(2026, 11, 19))
    client.force_login(staff)

    r = client.post(_url(school, student, change))

    assert r.status_code == 404
    change.refresh_from_db()
    assert change.cancelled_at is None


def test_it_only_removes_by_post(client, on_school_day, school, staff, student):
    change = _change(student, dt.date(2026, 11, 19))
    client.force_login(staff)

    r = client.get(_url(school, student, change))

    assert r.status_code == 405
    change.refresh_from_db()
    assert change.cancelled_at is None
