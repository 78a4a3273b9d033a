"""Long-term defaults are versioned: a new one ends the old one, and past days keep theirs."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from lastbell.audit.models import AuditEvent
from lastbell.plans import services
from lastbell.plans.board import day_board
from lastbell.plans.models import Layer, LongTermDefault, PlanType, Source
from lastbell.plans.services import PlanSpec

NOV_18 = dt.date(2026, 11, 18)


def travel(time_machine, date: dt.date):
    """Move the clock to 9 am Pacific on `date`."""
    time_machine.move_to(dt.datetime.combine(date, dt.time(17, 0), tzinfo=dt.UTC), tick=False)


def every_weekday(plan: PlanSpec) -> dict[int, PlanSpec]:
    return dict.fromkeys(range(5), plan)


def plan_on(school, date, student):
    (row,) = [row for row in day_board(school, date).rows if row.student_id == student.id]
    return row.plan_type, row.layer, row.record_id


def test_it_ends_the_old_default_the_day_before_the_new_one_starts(
    on_school_day, time_machine, school, staff, student, route
):
    bus = services.default_set(
        student=student,
        starts_on=NOV_18,
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.BUS, bus_route=route)),
    )
    travel(time_machine, dt.date(2026, 11, 20))

    walk = services.default_set(
        student=student,
        starts_on=dt.date(2026, 11, 23),
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.WALK)),
    )

    bus.refresh_from_db()
    assert bus.ends_on == dt.date(2026, 11, 22)
    assert bus.cancelled_at is None
    assert (walk.starts_on, walk.ends_on) == (dt.date(2026, 11, 23), None)
    assert plan_on(school, dt.date(2026, 11, 20), student) == (PlanType.BUS, Layer.DEFAULT, bus.id)
    assert plan_on(school, dt.date(2026, 11, 23), student) == (
        PlanType.WALK,
        Layer.DEFAULT,
        walk.id,
    )


def test_it_keeps_the_plan_of_past_days(on_school_day, time_machine, school, staff, student, route):
    bus = services.default_set(
        student=student,
        starts_on=NOV_18,
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.BUS, bus_route=route)),
    )
    travel(time_machine, dt.date(2026, 12, 7))
    services.default_set(
        student=student,
        starts_on=dt.date(2026, 12, 7),
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.WALK)),
    )
    travel(time_machine, dt.date(2027, 1, 11))
    bike = services.default_set(
        student=student,
        starts_on=dt.date(2027, 1, 11),
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.BIKE)),
    )

    # Looking back from January, each past day still shows the plan it had then.
    assert plan_on(school, NOV_18, student)[:2] == (PlanType.BUS, Layer.DEFAULT)
    assert plan_on(school, dt.date(2026, 12, 4), student)[2] == bus.id
    assert plan_on(school, dt.date(2026, 12, 7), student)[0] == PlanType.WALK
    assert plan_on(school, dt.date(2027, 1, 11), student) == (PlanType.BIKE, Layer.DEFAULT, bike.id)
    versions = LongTermDefault.objects.filter(student=student).order_by("starts_on")
    assert [(v.starts_on, v.ends_on) for v in versions] == [
        (NOV_18, dt.date(2026, 12, 6)),
        (dt.date(2026, 12, 7), dt.date(2027, 1, 10)),
        (dt.date(2027, 1, 11), None),
    ]


def test_it_cancels_versions_that_had_not_started(on_school_day, school, staff, student, route):
    bus = services.default_set(
        student=student,
        starts_on=NOV_18,
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.BUS, bus_route=route)),
    )
    december = services.default_set(
        student=student,
        starts_on=dt.date(2026, 12, 1),
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.WALK)),
    )
    bike = services.default_set(
        student=student,
        starts_on=dt.date(2026, 11, 25),
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.BIKE)),
    )

    december.refresh_from_db()
    bus.refresh_from_db()
    assert december.cancelled_at is not None
    assert bus.ends_on == dt.date(2026, 11, 24)
    assert plan_on(school, dt.date(2026, 12, 2), student) == (PlanType.BIKE, Layer.DEFAULT, bike.id)


def test_it_replaces_a_default_that_starts_the_same_day(on_school_day, school, staff, student):
    first = services.default_set(
        student=student, starts_on=NOV_18, actor=staff, days=every_weekday(PlanSpec(PlanType.WALK))
    )
    second = services.default_set(
        student=student, starts_on=NOV_18, actor=staff, days=every_weekday(PlanSpec(PlanType.BIKE))
    )

    first.refresh_from_db()
    assert first.cancelled_at is not None
    assert plan_on(school, NOV_18, student) == (PlanType.BIKE, Layer.DEFAULT, second.id)


def test_it_differs_by_weekday(on_school_day, school, staff, student, route):
    """Bus 12 Mon–Wed, grandma picks up Thu–Fri."""
    bus = PlanSpec(PlanType.BUS, bus_route=route)
    grandma = PlanSpec(PlanType.PICKUP, pickup_name="Grandma")
    services.default_set(
        student=student,
        starts_on=NOV_18,
        actor=staff,
        days={0: bus, 1: bus, 2: bus, 3: grandma, 4: grandma},
    )

    week = [dt.date(2026, 11, 23) + dt.timedelta(days=n) for n in range(5)]

    kinds = [plan_on(school, day, student)[0] for day in week]
    assert kinds == [PlanType.BUS, PlanType.BUS, PlanType.BUS, PlanType.PICKUP, PlanType.PICKUP]


def test_it_refuses_a_default_that_starts_in_the_past(on_school_day, school, staff, student, route):
    bus = services.default_set(
        student=student,
        starts_on=NOV_18,
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.BUS, bus_route=route)),
    )
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as caught:
        services.default_set(
            student=student,
            starts_on=dt.date(2026, 11, 17),
            actor=staff,
            days=every_weekday(PlanSpec(PlanType.WALK)),
        )

    assert caught.value.message_dict == {
        "starts_on": ["A new default can start today or later; past days keep their plan."]
    }
    assert list(LongTermDefault.objects.filter(student=student)) == [bus]
    bus.refresh_from_db()
    assert (bus.ends_on, bus.cancelled_at) == (None, None)
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("days", "field", "message"),
    [
        ({}, "days", "Choose a plan for at least one weekday."),
        ({0: PlanSpec(PlanType.BUS)}, "bus_route", "Choose the bus route for a bus plan."),
        (
            {0: PlanSpec(PlanType.OTHER, note="  ")},
            "note",
            "Add a note that says how the student gets home.",
        ),
        (
            {0: PlanSpec(PlanType.ABSENCE)},
            "plan_type",
            "Absences come from the attendance system and can't be set here.",
        ),
    ],
)
def test_it_refuses_a_default_with_a_bad_plan_and_saves_nothing(
    on_school_day, staff, student, days, field, message
):
    with pytest.raises(ValidationError) as caught:
        services.default_set(student=student, starts_on=NOV_18, days=days, actor=staff)

    assert caught.value.message_dict == {field: [message]}
    assert not LongTermDefault.objects.exists()
    assert not AuditEvent.objects.exists()


def test_it_records_one_audit_event_for_each_new_default(
    on_school_day, school, staff, student, route
):
    first = services.default_set(
        student=student,
        starts_on=NOV_18,
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.BUS, bus_route=route)),
    )
    second = services.default_set(
        student=student,
        starts_on=dt.date(2026, 11, 30),
        actor=staff,
        days={0: PlanSpec(PlanType.PICKUP, pickup_name="Grandma"), 4: PlanSpec(PlanType.WALK)},
    )

    events = list(AuditEvent.objects.order_by("id"))
    assert [e.action for e in events] == ["plan.default.set", "plan.default.set"]
    assert [e.target_id for e in events] == [str(first.id), str(second.id)]
    for event in events:
        assert (event.actor, event.actor_label, event.via) == (staff, "Dana Office", "web")
        assert (event.school, event.district, event.student) == (school, school.district, student)
        assert event.target_type == "LongTermDefault"
    assert events[0].before is None
    assert events[0].after == {
        "starts_on": "2026-11-18",
        "ends_on": None,
        "days": {day: {"type": "bus", "bus": "12"} for day in ["Mon", "Tue", "Wed", "Thu", "Fri"]},
    }
    # The second one says what it replaced, as it was before the change.
    assert events[1].before == events[0].after
    assert events[1].after == {
        "starts_on": "2026-11-30",
        "ends_on": None,
        "days": {"Mon": {"type": "pickup", "pickup": "Grandma"}, "Fri": {"type": "walk"}},
    }


def test_it_records_the_source_of_an_imported_default(on_school_day, staff, student, route):
    default = services.default_set(
        student=student,
        starts_on=NOV_18,
        actor=None,
        source=Source.IMPORT,
        via="import",
        days=every_weekday(PlanSpec(PlanType.BUS, bus_route=route)),
        source_detail="Bus feed 2026-11-18",
    )

    assert (default.source, default.set_by, default.source_detail) == (
        Source.IMPORT,
        None,
        "Bus feed 2026-11-18",
    )
    event = AuditEvent.objects.get()
    assert (event.actor, event.actor_label, event.via) == (None, "Import", "import")


def test_it_ends_the_default_so_that_the_student_has_none_from_the_next_day(
    on_school_day, school, staff, student, route
):
    bus = services.default_set(
        student=student,
        starts_on=NOV_18,
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.BUS, bus_route=route)),
    )

    ended = services.default_end(student=student, last_day=dt.date(2026, 11, 20), actor=staff)

    assert ended == bus
    assert plan_on(school, dt.date(2026, 11, 20), student)[1] == Layer.DEFAULT
    assert plan_on(school, dt.date(2026, 11, 23), student) == (None, None, None)
    event = AuditEvent.objects.filter(action="plan.default.ended").get()
    assert (event.actor, event.student, event.target_id) == (staff, student, str(bus.id))
    assert (event.before["ends_on"], event.after["ends_on"]) == (None, "2026-11-20")


def test_it_ends_a_default_yesterday_and_cancels_one_that_had_not_started(
    on_school_day, time_machine, school, staff, student, route
):
    bus = services.default_set(
        student=student,
        starts_on=NOV_18,
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.BUS, bus_route=route)),
    )
    walk = services.default_set(
        student=student,
        starts_on=dt.date(2026, 12, 1),
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.WALK)),
    )
    travel(time_machine, dt.date(2026, 11, 20))

    services.default_end(student=student, last_day=dt.date(2026, 11, 19), actor=staff)

    walk.refresh_from_db()
    assert walk.cancelled_at is not None
    assert plan_on(school, dt.date(2026, 11, 19), student)[2] == bus.id
    assert plan_on(school, dt.date(2026, 11, 20), student) == (None, None, None)
    assert plan_on(school, dt.date(2026, 12, 1), student) == (None, None, None)


def test_it_refuses_to_end_a_default_before_yesterday(
    on_school_day, time_machine, school, staff, student, route
):
    bus = services.default_set(
        student=student,
        starts_on=NOV_18,
        actor=staff,
        days=every_weekday(PlanSpec(PlanType.BUS, bus_route=route)),
    )
    travel(time_machine, dt.date(2026, 11, 25))
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as caught:
        services.default_end(student=student, last_day=dt.date(2026, 11, 18), actor=staff)

    assert "past days keep their plan" in caught.value.message_dict["last_day"][0]
    bus.refresh_from_db()
    assert bus.ends_on is None
    assert plan_on(school, dt.date(2026, 11, 20), student)[2] == bus.id
    assert AuditEvent.objects.count() == events
