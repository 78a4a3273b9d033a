"""The Programs tab: current programs with their enrollment, ended ones folded away."""

import datetime as dt

from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from lastbell import testing
from lastbell.plans import weekdays
from lastbell.plans.models import Enrollment, Program


def _program(school, name, ends_on=dt.date(2027, 6, 11), **fields):
    return Program.objects.create(
        school=school, name=name, weekdays=weekdays.SCHOOL_WEEK, starts_on=dt.date(2026, 9, 1),
        ends_on=ends_on, end_time=dt.time(17, 30), **fields,
    )  # fmt: skip


def test_it_lists_programs_with_their_current_enrollment(
    client, on_school_day, school, staff, student
):
    care = _program(school, "After Care", capacity=30, kind="care")
    Enrollment.objects.create(
        program=care, student=student, weekdays=weekdays.SCHOOL_WEEK, starts_on=dt.date(2026, 9, 1)
    )
    gone = testing.make_student(school, first="Ben")
    Enrollment.objects.create(
        program=care,
        student=gone,
        weekdays=weekdays.SCHOOL_WEEK,
        starts_on=dt.date(2026, 9, 1),
        ends_on=dt.date(2026, 10, 30),
    )
    _program(school, "Fall Soccer", ends_on=dt.date(2026, 11, 6), kind="sports")
    client.force_login(staff)

    r = client.get(reverse("plans:programs", args=[school.id]))

    assertContains(r, '<td data-label="Enrolled" class="num">1 / 30</td>', html=True)
    assertContains(r, "Ended programs (1)")
    assertContains(r, "ended Nov 6, 2026")


def test_it_does_not_list_another_schools_programs(
    client, on_school_day, school, other_school, staff
):
    _program(other_school, "Washington Robotics")
    client.force_login(staff)

    r = client.get(reverse("plans:programs", args=[school.id]))

    assertNotContains(r, "Washington Robotics")
    assertContains(r, "No programs yet.")
