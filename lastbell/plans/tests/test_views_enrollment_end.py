"""Taking a student out of a program from today; past days keep the program."""

import datetime as dt

from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.plans import weekdays
from lastbell.plans.models import Enrollment, Program


def _program(school, name="Chess Club"):
    return Program.objects.create(
        school=school, name=name, weekdays=weekdays.SCHOOL_WEEK, starts_on=dt.date(2026, 9, 1),
        ends_on=dt.date(2027, 6, 11), end_time=dt.time(17, 30),
    )  # fmt: skip


def _enroll(program, student, starts_on=dt.date(2026, 9, 1)):
    return Enrollment.objects.create(
        program=program, student=student, weekdays=weekdays.SCHOOL_WEEK, starts_on=starts_on
    )


def _url(school, enrollment):
    return reverse("plans:enrollment_end", args=[school.id, enrollment.program_id, enrollment.id])


def test_it_ends_the_enrollment_yesterday(client, on_school_day, school, staff, student):
    enrollment = _enroll(_program(school), student)
    client.force_login(staff)

    r = client.post(_url(school, enrollment), follow=True)

    assertContains(r, "Ana Rivera no longer attends Chess Club.")
    assertContains(r, "Nobody is enrolled yet.")
    enrollment.refresh_from_db()
    assert enrollment.ends_on == dt.date(2026, 11, 17)
    assert AuditEvent.objects.filter(action="program.enrollment.ended", actor=staff).count() == 1
    students = reverse("plans:students", args=[school.id])
    assertNotContains(client.get(students), "Chess Club until")
    assertContains(client.get(students, {"date": "2026-11-17"}), "Chess Club until")


def test_it_drops_an_enrollment_that_had_not_started(client, on_school_day, school, staff, student):
    enrollment = _enroll(_program(school), student, starts_on=dt.date(2026, 11, 18))
    client.force_login(staff)

    client.post(_url(school, enrollment))

    assert not Enrollment.objects.exists()
    r = client.get(reverse("plans:students", args=[school.id]))
    assertNotContains(r, "Chess Club until")


def test_it_hides_an_enrollment_of_another_program_behind_a_404(
    client, on_school_day, school, staff, student
):
    enrollment = _enroll(_program(school), student)
    robotics = _program(school, "Robotics")
    client.force_login(staff)

    r = client.post(reverse("plans:enrollment_end", args=[school.id, robotics.id, enrollment.id]))

    assert r.status_code == 404
    enrollment.refresh_from_db()
    assert enrollment.ends_on is None


def test_it_hides_an_enrollment_of_another_school_behind_a_404(
    client, on_school_day, school, other_school, staff
):
    enrollment = _enroll(_program(other_school), testing.make_student(other_school))
    client.force_login(staff)

    r = client.post(_url(school, enrollment))

    assert r.status_code == 404
    enrollment.refresh_from_db()
    assert enrollment.ends_on is None


def test_it_only_ends_by_post(client, on_school_day, school, staff, student):
    enrollment = _enroll(_program(school), student)
    client.force_login(staff)

    r = client.get(_url(school, enrollment))

    assert r.status_code == 405


def test_it_leaves_an_enrollment_that_already_ended_alone(
    client, on_school_day, school, staff, student
):
    enrollment = _enroll(_program(school), student)
    enrollment.ends_on = dt.date(2026, 10, 30)
    enrollment.save()
    client.force_login(staff)

    client.post(_url(school, enrollment))

    # Past days keep the plan they had: the enrollment must not come back for Oct 31–Nov 17.
    enrollment.refresh_from_db()
    assert enrollment.ends_on == dt.date(2026, 10, 30)
