"""Rules found in review: each test fails if its fix is undone."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.audit.models import AuditEvent
from lastbell.plans.models import LongTermDefault, PlanChange
from lastbell.plans.services import PlanSpec, change_create, default_set
from lastbell.schools.models import CalendarDay

pytestmark = pytest.mark.django_db


def test_it_records_dropping_a_scheduled_default(student, staff, on_school_day):
    later = on_school_day + dt.timedelta(days=13)
    scheduled = default_set(
        student=student,
        starts_on=later,
        actor=staff,
        days=dict.fromkeys(range(5), PlanSpec("walk")),
    )
    default_set(
        student=student,
        starts_on=on_school_day,
        actor=staff,
        days=dict.fromkeys(range(5), PlanSpec("bike")),
    )
    scheduled.refresh_from_db()
    assert scheduled.cancelled_at is not None
    event = AuditEvent.objects.get(action="plan.default.cancelled")
    assert event.target_id == str(scheduled.pk)
    assert event.before["starts_on"] == later.isoformat() and event.after is None


def test_it_refuses_another_familys_guardian_as_the_pickup(school, student, staff, on_school_day):
    stranger = testing.make_guardian(testing.make_student(school), first="Not", last="Theirs")
    with pytest.raises(ValidationError) as refused:
        change_create(
            student=student,
            starts_on=on_school_day,
            ends_on=None,
            actor=staff,
            plan=PlanSpec("pickup", pickup_guardian=stranger),
        )
    assert "not one of this student's guardians" in " ".join(refused.value.messages)
    assert not PlanChange.objects.exists()


def test_it_says_no_plan_yet_for_coming_school_days_seen_from_a_weekend(
    client, school, student, staff, on_school_day
):
    client.force_login(staff)
    saturday = on_school_day + dt.timedelta(days=3)
    page = client.get(
        reverse("plans:student", args=[school.id, student.id]), {"date": saturday.isoformat()}
    )
    html = page.content.decode()
    assert "No school: weekend." in html
    assert "No plan yet" in html  # the coming Monday, which is a school day


def test_it_shows_which_default_is_in_effect(client, school, student, staff, on_school_day):
    default_set(
        student=student,
        starts_on=on_school_day,
        actor=staff,
        days=dict.fromkeys(range(5), PlanSpec("walk")),
    )
    default_set(
        student=student,
        starts_on=on_school_day + dt.timedelta(days=7),
        actor=staff,
        days=dict.fromkeys(range(5), PlanSpec("bike")),
    )
    client.force_login(staff)
    html = client.get(reverse("plans:student", args=[school.id, student.id])).content.decode()
    assert "In effect" in html and "Starts Nov 25" in html
    assert LongTermDefault.objects.filter(cancelled_at__isnull=True).count() == 2


def test_it_hides_guardian_contacts_from_teachers(client, school, student, teacher, guardian):
    client.force_login(teacher)
    html = client.get(reverse("plans:student", args=[school.id, student.id])).content.decode()
    assert guardian.email not in html
    admin = testing.make_staff(school, Role.DISMISSAL_STAFF)
    client.force_login(admin)
    html = client.get(reverse("plans:student", args=[school.id, student.id])).content.decode()
    assert guardian.email in html


def test_it_keeps_past_calendar_days(client, school, on_school_day):
    admin = testing.make_staff(school, Role.SCHOOL_ADMIN)
    past = CalendarDay.objects.create(school=school, date=dt.date(2026, 11, 11), kind="holiday")
    client.force_login(admin)
    refused = client.post(
        reverse("schools:calendar_day_add", args=[school.id]),
        {"date": "2026-11-10", "kind": "closure"},
    )
    assert refused.status_code == 400
    assert "Past days keep the calendar they had" in refused.content.decode()
    client.post(reverse("schools:calendar_day_delete", args=[school.id, past.id]))
    assert CalendarDay.objects.filter(pk=past.pk).exists()
    assert not CalendarDay.objects.filter(date=dt.date(2026, 11, 10)).exists()


def test_it_refuses_a_school_name_taken_in_the_district(client, school, other_school):
    admin = testing.make_staff(school, Role.SCHOOL_ADMIN)
    client.force_login(admin)
    data = {
        "name": other_school.name,
        "timezone": school.timezone,
        "dismissal_mon": "15:00",
        "late_grace_minutes": "10",
        "checkin_opens_minutes": "30",
        "same_day_cutoff": "13:00",
    }
    response = client.post(reverse("schools:settings", args=[school.id]), data)
    assert response.status_code == 400
    assert "Another school of the district already has that name." in response.content.decode()
    school.refresh_from_db()
    assert school.name == "Lincoln Elementary"


def test_it_answers_a_far_history_date_with_a_message(client, school, staff):
    client.force_login(staff)
    response = client.get(reverse("audit:history", args=[school.id]), {"date_to": "9999-12-31"})
    assert response.status_code == 200
    assert "Enter a date between 1900 and 2999." in response.content.decode()


def test_it_keeps_the_past_days_of_a_program_that_has_met(client, school, staff, on_school_day):
    from lastbell.plans import weekdays
    from lastbell.plans.models import Program

    care = Program.objects.create(
        school=school, name="Care", weekdays=weekdays.SCHOOL_WEEK, end_time=dt.time(18),
        starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 6, 1),
    )  # fmt: skip
    client.force_login(staff)
    data = {"name": "Care", "kind": "care", "starts_on": "2026-09-01", "ends_on": "2027-06-01",
            "end_time": "18:00", "meets_on": ["1", "3"]}  # fmt: skip
    response = client.post(reverse("plans:program_edit", args=[school.id, care.id]), data)
    assert response.status_code == 400
    assert "already met on these days" in response.content.decode()
    care.refresh_from_db()
    assert care.weekdays == weekdays.SCHOOL_WEEK
    data["meets_on"] = [str(d) for d in range(5)]
    data["ends_on"] = "2026-12-18"  # ending it in the future is fine
    response = client.post(reverse("plans:program_edit", args=[school.id, care.id]), data)
    assert response.status_code == 302
    care.refresh_from_db()
    assert care.ends_on == dt.date(2026, 12, 18)
