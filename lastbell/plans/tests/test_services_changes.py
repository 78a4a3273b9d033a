"""Adding and removing changes: bad input is refused whole; every write leaves one audit event."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.plans import services, weekdays
from lastbell.plans.models import PlanChange, PlanType, Source
from lastbell.plans.services import PlanSpec

NOV_18 = dt.date(2026, 11, 18)
NOV_20 = dt.date(2026, 11, 20)


def create(student, actor, plan, starts_on=NOV_18, ends_on=None, **options):
    return services.change_create(
        student=student, starts_on=starts_on, ends_on=ends_on, plan=plan, actor=actor, **options
    )


BAD_INPUT = [
    pytest.param(
        {"starts_on": NOV_20, "ends_on": NOV_18, "plan": PlanSpec(PlanType.WALK)},
        {"ends_on": ["The last day of the change is before its first day."]},
        id="ends-before-it-starts",
    ),
    pytest.param(
        {"starts_on": dt.date(2026, 11, 17), "plan": PlanSpec(PlanType.WALK)},
        {"starts_on": ["A change can't start in the past."]},
        id="starts-in-the-past",
    ),
    pytest.param(
        {"ends_on": dt.date(2027, 12, 1), "plan": PlanSpec(PlanType.WALK)},
        {"ends_on": ["A change can last a year at most; set a long-term default instead."]},
        id="longer-than-a-year",
    ),
    pytest.param(
        {"plan": PlanSpec(PlanType.OTHER, note="   ")},
        {"note": ["Add a note that says how the student gets home."]},
        id="other-without-a-note",
    ),
    pytest.param(
        {"plan": PlanSpec(PlanType.BUS)},
        {"bus_route": ["Choose the bus route for a bus plan."]},
        id="bus-without-a-route",
    ),
    pytest.param(
        {"plan": "bus of another school"},
        {"bus_route": ["That bus route belongs to another school."]},
        id="bus-of-another-school",
    ),
    pytest.param(
        {"plan": PlanSpec(PlanType.PICKUP, pickup_name="  ")},
        {"pickup_name": ["Say who picks the student up: a guardian or another adult."]},
        id="pickup-without-a-person",
    ),
    pytest.param(
        {"plan": PlanSpec(PlanType.EARLY_DISMISSAL, note="Dentist")},
        {"dismiss_at": ["Give the time of the early dismissal."]},
        id="early-dismissal-without-a-time",
    ),
    pytest.param(
        {"plan": PlanSpec(PlanType.ABSENCE)},
        {"plan_type": ["Absences come from the attendance system and can't be set here."]},
        id="absence",
    ),
    pytest.param(
        {"plan": PlanSpec(PlanType.PROGRAM)},
        {"plan_type": ["To put a student in a program, enroll them on the Programs tab."]},
        id="program",
    ),
    pytest.param(
        {"plan": PlanSpec("teleport")},
        {"plan_type": ["Choose how the student gets home."]},
        id="unknown-type",
    ),
    pytest.param(
        # Wed Nov 18 to Fri Nov 20 holds no Monday.
        {"ends_on": NOV_20, "weekday_mask": weekdays.mask_of([0]), "plan": PlanSpec(PlanType.WALK)},
        {"weekdays": ["None of the chosen weekdays falls between those dates."]},
        id="weekdays-not-in-range",
    ),
    pytest.param(
        {"ends_on": NOV_20, "weekday_mask": 0, "plan": PlanSpec(PlanType.WALK)},
        {"weekdays": ["Choose at least one weekday."]},
        id="no-weekday",
    ),
]


@pytest.mark.parametrize(("given", "errors"), BAD_INPUT)
def test_it_refuses_bad_input_with_a_sentence_and_saves_nothing(
    on_school_day, other_school, staff, student, given, errors
):
    if given["plan"] == "bus of another school":
        given["plan"] = PlanSpec(PlanType.BUS, bus_route=testing.make_route(other_school, "99"))
    given = {"starts_on": NOV_18, "ends_on": None, **given}

    with pytest.raises(ValidationError) as caught:
        services.change_create(student=student, actor=staff, **given)

    assert caught.value.message_dict == errors
    assert not PlanChange.objects.exists()
    assert not AuditEvent.objects.exists()


def test_it_reports_every_problem_at_once(on_school_day, staff, student):
    with pytest.raises(ValidationError) as caught:
        create(student, staff, PlanSpec(PlanType.BUS), starts_on=NOV_20, ends_on=NOV_18)

    assert set(caught.value.message_dict) == {"ends_on", "bus_route"}


def test_it_accepts_a_weekday_that_falls_in_a_short_range(on_school_day, staff, student):
    friday_only = create(
        student, staff, PlanSpec(PlanType.WALK), ends_on=NOV_20, weekday_mask=weekdays.mask_of([4])
    )

    assert friday_only.covers(NOV_20)
    assert not friday_only.covers(NOV_18)


def test_it_drops_details_of_another_type(on_school_day, staff, student, route, guardian):
    change = create(
        student,
        staff,
        PlanSpec(
            PlanType.WALK,
            bus_route=route,
            pickup_guardian=guardian,
            pickup_name="Grandma",
            dismiss_at=dt.time(12, 0),
            note="  with her brother  ",
        ),
    )

    change.refresh_from_db()
    assert (change.bus_route, change.pickup_guardian, change.pickup_name, change.dismiss_at) == (
        None,
        None,
        "",
        None,
    )
    assert change.note == "with her brother"


def test_it_records_one_audit_event_for_a_new_change(on_school_day, school, staff, student, route):
    change = create(student, staff, PlanSpec(PlanType.BUS, bus_route=route), ends_on=NOV_20)

    event = AuditEvent.objects.get()
    assert event.action == "plan.change.created"
    assert (event.actor, event.actor_label, event.via) == (staff, "Dana Office", "web")
    assert (event.school, event.district, event.student) == (school, school.district, student)
    assert (event.target_type, event.target_id) == ("PlanChange", str(change.id))
    assert event.before is None
    assert event.after == {"dates": "Nov 18 – Nov 20, 2026", "type": "bus", "bus": "12"}
    assert event.target_label == "Change for Ana Rivera, Nov 18 – Nov 20, 2026"


def test_it_records_who_made_a_guardians_change(on_school_day, school, student, guardian):
    change = create(
        student,
        guardian.user,
        PlanSpec(PlanType.PICKUP, pickup_guardian=guardian),
        source=Source.GUARDIAN,
    )

    assert (change.source, change.set_by) == (Source.GUARDIAN, guardian.user)
    event = AuditEvent.objects.get()
    assert (event.actor, event.actor_label) == (guardian.user, "Maria Lopez")
    assert event.after == {"dates": "Wed Nov 18, 2026", "type": "pickup", "pickup": "Maria Lopez"}


def test_it_cancels_a_future_change_with_one_audit_event(on_school_day, school, staff, student):
    change = create(student, staff, PlanSpec(PlanType.WALK), starts_on=NOV_20)
    created = AuditEvent.objects.get()

    services.change_cancel(change=change, actor=staff)

    change.refresh_from_db()
    assert change.cancelled_at is not None
    assert change.cancelled_by == staff
    event = AuditEvent.objects.exclude(pk=created.pk).get()
    assert (event.action, event.actor, event.school, event.student) == (
        "plan.change.cancelled",
        staff,
        school,
        student,
    )
    assert event.target_id == str(change.id)
    assert event.before == created.after
    assert event.after is None


def test_it_does_nothing_when_a_change_is_cancelled_twice(on_school_day, staff, student):
    change = create(student, staff, PlanSpec(PlanType.WALK))
    services.change_cancel(change=change, actor=staff)

    services.change_cancel(change=change, actor=staff)

    assert AuditEvent.objects.filter(action="plan.change.cancelled").count() == 1


def test_it_shortens_a_change_that_already_began_and_says_so(
    on_school_day, time_machine, staff, student
):
    change = create(student, staff, PlanSpec(PlanType.WALK), ends_on=dt.date(2026, 11, 25))
    time_machine.move_to(dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC), tick=False)

    services.change_cancel(change=change, actor=staff)

    change.refresh_from_db()
    assert (change.ends_on, change.cancelled_at) == (dt.date(2026, 11, 19), None)
    event = AuditEvent.objects.get(action="plan.change.cancelled")
    assert event.before == {"dates": "Nov 18 – Nov 25, 2026", "type": "walk"}
    # The change still exists for the days that passed: the log shows what is left of it.
    assert event.after == {"dates": "Nov 18 – Nov 19, 2026", "type": "walk"}


def test_it_refuses_to_remove_a_change_that_is_over(on_school_day, time_machine, staff, student):
    change = create(student, staff, PlanSpec(PlanType.WALK))
    time_machine.move_to(dt.datetime(2026, 11, 19, 17, 0, tzinfo=dt.UTC), tick=False)

    with pytest.raises(ValidationError) as caught:
        services.change_cancel(change=change, actor=staff)

    assert caught.value.message_dict == {
        "change": ["This change is in the past and can't be removed."]
    }
    change.refresh_from_db()
    assert (change.ends_on, change.cancelled_at) == (NOV_18, None)
    assert AuditEvent.objects.count() == 1


def test_it_refuses_a_weekday_mask_beyond_sunday(student, staff, on_school_day):
    import pytest
    from django.core.exceptions import ValidationError

    from lastbell.plans.models import PlanChange
    from lastbell.plans.services import PlanSpec, change_create

    with pytest.raises(ValidationError) as refused:
        change_create(
            student=student,
            starts_on=on_school_day,
            ends_on=on_school_day,
            plan=PlanSpec("walk"),
            actor=staff,
            weekday_mask=1 << 9,
        )
    assert "Choose at least one weekday." in refused.value.messages
    assert not PlanChange.objects.exists()


def test_a_change_for_days_without_school_is_refused(student, staff, on_school_day):
    saturday = dt.date(2026, 11, 21)
    with pytest.raises(ValidationError, match="no school on the chosen days"):
        create(student, staff, PlanSpec(PlanType.WALK), starts_on=saturday)
    thanksgiving = (dt.date(2026, 11, 26), dt.date(2026, 11, 27))
    from lastbell.schools.models import CalendarDay

    for day in thanksgiving:
        CalendarDay.objects.create(school=student.school, date=day, kind=CalendarDay.Kind.HOLIDAY)
    with pytest.raises(ValidationError, match="no school on the chosen days"):
        create(student, staff, PlanSpec(PlanType.WALK), starts_on=thanksgiving[0],
               ends_on=dt.date(2026, 11, 29))  # fmt: skip
    assert not PlanChange.objects.exists()
    # A range with one school day in it is fine.
    create(student, staff, PlanSpec(PlanType.WALK), starts_on=saturday,
           ends_on=dt.date(2026, 11, 23))  # fmt: skip
    assert PlanChange.objects.count() == 1
