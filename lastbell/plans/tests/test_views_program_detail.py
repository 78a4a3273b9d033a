"""Enrolling a student in a program on some of the days it meets."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils.html import escape
from pytest_django.asserts import assertContains

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.plans import weekdays
from lastbell.plans.models import DefaultDay, Enrollment, LongTermDefault, PlanChange, Program


@pytest.fixture
def chess(school):
    """Chess Club meets Mon and Wed, all school year, until 5:30 pm."""
    return Program.objects.create(
        school=school, name="Chess Club", weekdays=weekdays.mask_of([0, 2]),
        starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 6, 11), end_time=dt.time(17, 30),
    )  # fmt: skip


def _rows():
    models = [PlanChange, LongTermDefault, DefaultDay, Program, Enrollment, AuditEvent]
    return {m.__name__: m.objects.count() for m in models}


def _url(school, program):
    return reverse("plans:program", args=[school.id, program.id])


def _programs_row(name, count):
    return f'<tr><td>{name}</td><td class="num">{count}</td></tr>'


def test_it_offers_only_the_days_the_program_meets(
    client, on_school_day, school, staff, chess, student
):
    client.force_login(staff)

    r = client.get(_url(school, chess))

    assertContains(r, "Chess Club")
    assertContains(r, "Rivera, Ana — grade 3")
    assertContains(r, 'name="days"', count=2)


def test_it_enrolls_a_student_on_chosen_days(client, on_school_day, school, staff, chess, student):
    client.force_login(staff)

    r = client.post(
        _url(school, chess),
        {"student": student.id, "days": ["2"], "starts_on": "2026-11-18"},
        follow=True,
    )

    assertContains(r, "Enrolled Ana Rivera on Wed.")
    enrollment = Enrollment.objects.get(program=chess)
    assert (enrollment.student, enrollment.weekdays) == (student, weekdays.mask_of([2]))
    assert enrollment.set_by == staff
    assert AuditEvent.objects.filter(action="program.enrollment.created").count() == 1
    dashboard = reverse("plans:dashboard", args=[school.id])
    # Wednesday: she stays for chess; Monday the club meets but she does not attend.
    assertContains(client.get(dashboard), _programs_row("Chess Club", 1), html=True)
    assertContains(client.get(dashboard, {"date": "2026-11-23"}), "No program meets this day.")
    r = client.get(reverse("plans:students", args=[school.id]))
    assertContains(r, "Chess Club until 5:30 pm")


def test_it_counts_every_enrolled_student_on_the_dashboard(
    client, on_school_day, school, staff, chess, student
):
    ben = testing.make_student(school, first="Ben")
    client.force_login(staff)

    for pupil in (student, ben):
        client.post(
            _url(school, chess),
            {"student": pupil.id, "days": ["0", "2"], "starts_on": "2026-11-18"},
        )

    r = client.get(reverse("plans:dashboard", args=[school.id]), {"date": "2026-11-23"})
    assertContains(r, _programs_row("Chess Club", 2), html=True)
    r = client.get(reverse("plans:programs", args=[school.id]))
    assertContains(r, '<td data-label="Enrolled" class="num">2</td>', html=True)


BAD = [
    # Chess Club meets Mon and Wed; a Tuesday is posted by hand.
    pytest.param({"days": ["0", "1"]}, "Chess Club does not meet on Tue. It meets Mon, Wed.",
                 id="day-the-program-does-not-meet"),
    pytest.param({"days": []}, "Choose at least one day the student attends.", id="no-days"),
    pytest.param({"starts_on": "2026-12-01", "ends_on": "2026-11-30"},
                 "The last day is before the first day.", id="ends-before-start"),
    pytest.param({"starts_on": "2027-07-01"},
                 "Chess Club runs Sep 1 – Jun 11, 2027; choose dates inside that.",
                 id="after-the-program-ends"),
    pytest.param({"starts_on": "1st of December"}, "Enter a date such as 2026-11-30.",
                 id="malformed-date"),
    pytest.param({"student": ""}, "Choose a student to enroll.", id="no-student"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "sentence"), BAD)
def test_it_refuses_a_bad_enrollment(
    client, on_school_day, school, staff, chess, student, changes, sentence
):
    before = _rows()
    client.force_login(staff)

    data = {"student": student.id, "days": ["0", "2"], "starts_on": "2026-11-18", **changes}
    r = client.post(_url(school, chess), data)

    assertContains(r, escape(sentence), status_code=400)
    assert _rows() == before


def test_it_refuses_a_student_of_another_school(
    client, on_school_day, school, other_school, staff, chess
):
    stranger = testing.make_student(other_school, first="Zed")
    before = _rows()
    client.force_login(staff)

    r = client.post(
        _url(school, chess), {"student": stranger.id, "days": ["0"], "starts_on": "2026-11-18"}
    )

    assertContains(r, "Choose a student of this school from the list.", status_code=400)
    assert _rows() == before


def test_it_refuses_an_enrollment_when_the_program_is_full(
    client, on_school_day, school, staff, chess, student
):
    chess.capacity = 2
    chess.save()
    for first in ("Ben", "Cleo"):
        Enrollment.objects.create(program=chess, student=testing.make_student(school,
                                  first=first), weekdays=chess.weekdays,
                                  starts_on=dt.date(2026, 9, 1))  # fmt: skip
    before = _rows()
    client.force_login(staff)

    r = client.post(
        _url(school, chess), {"student": student.id, "days": ["0"], "starts_on": "2026-11-18"}
    )

    assertContains(r, "Chess Club is full (2 places).", status_code=400)
    assert _rows() == before


def test_it_frees_the_place_of_an_enrollment_that_ended(
    client, on_school_day, school, staff, chess, student
):
    chess.capacity = 1
    chess.save()
    Enrollment.objects.create(program=chess, student=testing.make_student(school, first="Ben"),
                              weekdays=chess.weekdays, starts_on=dt.date(2026, 9, 1),
                              ends_on=dt.date(2026, 11, 17))  # fmt: skip
    client.force_login(staff)

    r = client.post(
        _url(school, chess), {"student": student.id, "days": ["0"], "starts_on": "2026-11-18"}
    )

    assert r.status_code == 302
    assert Enrollment.objects.filter(student=student).exists()


def test_it_refuses_to_enroll_a_student_twice(client, on_school_day, school, staff, chess, student):
    Enrollment.objects.create(
        program=chess,
        student=student,
        weekdays=weekdays.mask_of([0]),
        starts_on=dt.date(2026, 9, 1),
    )
    before = _rows()
    client.force_login(staff)

    r = client.post(
        _url(school, chess), {"student": student.id, "days": ["2"], "starts_on": "2026-11-18"}
    )

    assertContains(r, "already enrolled", status_code=400)
    assert _rows() == before
