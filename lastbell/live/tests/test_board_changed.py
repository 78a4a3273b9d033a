"""Writes to what a school's day board reads announce `board.changed` to that school's
group: once per school per transaction, after commit, never on rollback."""

import datetime as dt
import logging

import pytest
from django.db import transaction

from lastbell import live, testing
from lastbell.attendance.models import Absence
from lastbell.plans import services, weekdays
from lastbell.plans.models import DefaultDay, PlanType, Program
from lastbell.schools.models import CalendarDay

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_announces_one_message_per_school_per_transaction(
    on_school_day, school, other_school, student, staff, listen, absent
):
    elsewhere = testing.make_student(other_school)
    here = listen(school)
    there = listen(other_school)
    with transaction.atomic():
        absence = absent(student)
        absence.reason = "Dentist"
        absence.save()
        services.change_create(
            student=student, starts_on=on_school_day, ends_on=on_school_day,
            weekday_mask=weekdays.ALL_DAYS, plan=services.PlanSpec(plan_type=PlanType.WALK),
            actor=staff,
        )  # fmt: skip
        absent(elsewhere)
        assert here.heard() == [] and there.heard() == []  # nothing before commit
    assert here.heard() == [{"type": "board.changed", "school": school.id}]
    assert there.heard() == [{"type": "board.changed", "school": other_school.id}]


def test_it_announces_nothing_on_rollback(school, student, listen, absent):
    here = listen(school)
    with pytest.raises(RuntimeError), transaction.atomic():
        absent(student)
        raise RuntimeError("the import failed")
    assert here.heard() == []
    assert not Absence.objects.exists()


def test_a_rolled_back_savepoint_drops_only_its_own_announcement(
    school, other_school, student, listen, absent
):
    elsewhere = testing.make_student(other_school)
    here, there = listen(school), listen(other_school)
    with transaction.atomic():
        try:
            with transaction.atomic():
                absent(elsewhere)
                raise ValueError
        except ValueError:
            pass
        absent(student)
    assert here.heard() == [{"type": "board.changed", "school": school.id}]
    assert there.heard() == []


def test_deleting_or_correcting_an_absence_announces_it(school, student, listen, absent):
    absence = absent(student)
    here = listen(school)
    absence.excused = True
    absence.save()
    absence.delete()
    assert len(here.heard()) == 2  # autocommit: each write is its own transaction


def test_every_kind_of_row_finds_its_school(on_school_day, school, student, staff, listen, route):
    today = on_school_day
    here = listen(school)
    services.default_set(
        student=student, starts_on=today,
        days=dict.fromkeys(range(7), services.PlanSpec(plan_type=PlanType.BUS, bus_route=route)),
        actor=staff,
    )  # fmt: skip
    assert here.heard()
    day = DefaultDay.objects.filter(default__student=student).first()
    day.delete()
    assert here.heard()
    CalendarDay.objects.create(school=school, date=today, kind="early_release",
                               dismissal_time="12:30")  # fmt: skip
    assert here.heard()
    program = Program.objects.create(school=school, name="Chess club", starts_on=today,
                                     ends_on=today, end_time=dt.time(16))  # fmt: skip
    assert here.heard()
    program.delete()
    assert here.heard()
    student.grade = "4"
    student.save()
    assert here.heard() == [{"type": "board.changed", "school": school.id}]


def test_bulk_writers_announce_it_themselves(school, student, listen, today):
    here = listen(school)
    with transaction.atomic():
        Absence.objects.bulk_create([Absence(student=student, date=today)])
        assert here.heard() == []
        live.board_changed(school.id)
        live.board_changed(school.id)
    assert here.heard() == [{"type": "board.changed", "school": school.id}]


def test_a_failing_channel_layer_never_breaks_the_write(settings, student, absent, caplog):
    from channels.layers import channel_layers

    # Redis down: nothing listens on port 1.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    channel_layers.backends.pop("default", None)
    try:
        with caplog.at_level(logging.WARNING, logger="lastbell.live"), transaction.atomic():
            absent(student)
    finally:
        channel_layers.backends.pop("default", None)
    assert Absence.objects.filter(student=student).exists()
    assert "Live update not sent" in caplog.text


def test_the_attendance_services_announce_their_bulk_writes(school, other_school, student,
                                                            listen, today):  # fmt: skip
    from lastbell.attendance.services import AbsenceSpec, absence_record, absence_remove

    here, there = listen(school), listen(other_school)
    absence, _ = absence_record(student=student, spec=AbsenceSpec(date=today))
    assert here.heard() == [{"type": "board.changed", "school": school.id}]
    absence_remove(absence=absence)
    assert here.heard() == [{"type": "board.changed", "school": school.id}]
    assert there.heard() == []
