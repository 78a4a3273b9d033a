"""Programs and enrollments: refused with a sentence and nothing saved, or saved with one event."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.plans import services, weekdays
from lastbell.plans.models import Enrollment, Program

NOV_18 = dt.date(2026, 11, 18)
MON, TUE, WED, THU, FRI = range(5)


@pytest.fixture
def chess(school):
    """Chess club meets Mon, Wed and Thu from September to May, 2 places."""
    return Program.objects.create(
        school=school,
        name="Chess club",
        weekdays=weekdays.mask_of([MON, WED, THU]),
        starts_on=dt.date(2026, 9, 1),
        ends_on=dt.date(2027, 5, 28),
        end_time=dt.time(16, 30),
        capacity=2,
    )


def enroll(program, student, actor, days=(MON, WED), starts_on=NOV_18, ends_on=None):
    return services.enrollment_create(
        program=program,
        student=student,
        weekday_mask=weekdays.mask_of(days),
        starts_on=starts_on,
        ends_on=ends_on,
        actor=actor,
    )


def refused(program, student, actor, **options) -> dict:
    with pytest.raises(ValidationError) as caught:
        enroll(program, student, actor, **options)
    return caught.value.message_dict


def test_it_refuses_a_day_the_program_does_not_meet_and_names_its_days(
    on_school_day, staff, student, chess
):
    errors = refused(chess, student, staff, days=(MON, TUE, FRI))

    assert errors == {"weekdays": ["Chess club does not meet on Tue, Fri. It meets Mon, Wed, Thu."]}
    assert not Enrollment.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"days": ()}, "weekdays", "Choose at least one day the student attends."),
        ({"ends_on": dt.date(2026, 11, 17)}, "ends_on", "The last day is before the first day."),
        (
            {"starts_on": dt.date(2027, 6, 1)},
            "starts_on",
            "Chess club runs Sep 1 – May 28, 2027; choose dates inside that.",
        ),
        (
            {"starts_on": dt.date(2026, 11, 17)},
            "starts_on",
            "An enrollment can start today or later; past days keep their plan.",
        ),
    ],
)
def test_it_refuses_bad_dates_and_days_and_saves_nothing(
    on_school_day, staff, student, chess, options, field, message
):
    errors = refused(chess, student, staff, **options)

    assert errors == {field: [message]}
    assert not Enrollment.objects.exists()
    assert not AuditEvent.objects.exists()


def test_it_refuses_a_student_of_another_school(on_school_day, other_school, staff, chess):
    stranger = testing.make_student(other_school)

    assert refused(chess, stranger, staff) == {"student": ["That student is at another school."]}
    assert not Enrollment.objects.exists()


def test_it_refuses_a_student_when_the_program_is_full(on_school_day, school, staff, chess):
    for _ in range(2):
        enroll(chess, testing.make_student(school), staff)
    events = AuditEvent.objects.count()
    third = testing.make_student(school)

    assert refused(chess, third, staff) == {"student": ["Chess club is full (2 places)."]}
    assert chess.enrollments.count() == 2
    assert AuditEvent.objects.count() == events


def test_it_frees_the_place_of_an_enrollment_that_ended(on_school_day, school, staff, chess):
    leaving = enroll(chess, testing.make_student(school), staff, ends_on=dt.date(2026, 11, 30))
    enroll(chess, testing.make_student(school), staff)

    late = enroll(chess, testing.make_student(school), staff, starts_on=dt.date(2026, 12, 1))

    assert late.pk is not None
    assert leaving.ends_on < late.starts_on


def test_it_refuses_a_second_enrollment_of_the_same_student(on_school_day, staff, student, chess):
    enroll(chess, student, staff)

    errors = refused(chess, student, staff, days=(THU,))

    assert errors == {
        "student": [
            "Ana Rivera is already enrolled in Chess club. Remove the enrollment first to change "
            "the days."
        ]
    }
    assert chess.enrollments.count() == 1


def test_it_records_one_audit_event_for_an_enrollment(on_school_day, school, staff, student, chess):
    enrollment = enroll(chess, student, staff, ends_on=dt.date(2027, 1, 29))

    event = AuditEvent.objects.get()
    assert event.action == "program.enrollment.created"
    assert (event.actor, event.school, event.student) == (staff, school, student)
    assert (event.target_type, event.target_id) == ("Enrollment", str(enrollment.id))
    assert event.before is None
    assert event.after == {
        "program": "Chess club",
        "days": "Mon, Wed",
        "starts_on": "2026-11-18",
        "ends_on": "2027-01-29",
    }


def test_it_records_one_audit_event_when_an_enrollment_ends(
    on_school_day, school, staff, student, chess
):
    enrollment = enroll(chess, student, staff)

    services.enrollment_end(enrollment=enrollment, last_day=dt.date(2026, 12, 18), actor=staff)

    enrollment.refresh_from_db()
    assert enrollment.ends_on == dt.date(2026, 12, 18)
    event = AuditEvent.objects.get(action="program.enrollment.ended")
    assert (event.actor, event.school, event.student) == (staff, school, student)
    assert event.target_id == str(enrollment.id)
    assert (event.before, event.after) == ({"ends_on": None}, {"ends_on": "2026-12-18"})


def test_it_removes_an_enrollment_that_had_not_started_and_logs_which_one(
    on_school_day, staff, student, chess
):
    enrollment = enroll(chess, student, staff, starts_on=dt.date(2026, 12, 1))
    enrollment_id = enrollment.id

    services.enrollment_end(enrollment=enrollment, last_day=dt.date(2026, 11, 17), actor=staff)

    assert not Enrollment.objects.exists()
    event = AuditEvent.objects.get(action="program.enrollment.ended")
    assert event.target_id == str(enrollment_id)
    assert event.after is None


def test_it_refuses_to_end_an_enrollment_before_yesterday(
    on_school_day, time_machine, staff, student, chess
):
    enrollment = enroll(chess, student, staff)
    time_machine.move_to(dt.datetime(2026, 11, 25, 17, 0, tzinfo=dt.UTC), tick=False)

    with pytest.raises(ValidationError) as caught:
        services.enrollment_end(enrollment=enrollment, last_day=NOV_18, actor=staff)

    assert "past days keep their plan" in caught.value.message_dict["last_day"][0]
    enrollment.refresh_from_db()
    assert enrollment.ends_on is None
    assert not AuditEvent.objects.filter(action="program.enrollment.ended").exists()


def test_it_records_a_new_program_and_its_edit(on_school_day, school, staff):
    program = Program(
        school=school,
        name="Robotics",
        kind=Program.Kind.CLUB,
        weekdays=weekdays.mask_of([TUE]),
        starts_on=dt.date(2027, 1, 5),
        ends_on=dt.date(2027, 3, 30),
        end_time=dt.time(17, 0),
    )
    services.program_save(program=program, actor=staff)
    program.capacity = 12
    program.weekdays = weekdays.mask_of([TUE, THU])
    services.program_save(program=program, actor=staff)

    created, updated = AuditEvent.objects.order_by("id")
    assert (created.action, updated.action) == ("program.created", "program.updated")
    for event in (created, updated):
        assert (event.actor, event.school, event.student) == (staff, school, None)
        assert (event.target_type, event.target_id) == ("Program", str(program.id))
    assert created.before is None
    assert updated.before == created.after
    assert (created.after["days"], created.after["capacity"]) == ("Tue", None)
    assert (updated.after["days"], updated.after["capacity"]) == ("Tue, Thu", 12)
