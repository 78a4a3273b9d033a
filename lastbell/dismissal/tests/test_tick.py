"""Late pickups in the background: the tick flags students still on campus after dismissal
plus the grace minutes at each school, books itself again, and runs as often as it matters."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from lastbell import testing
from lastbell.dismissal import services, tasks
from lastbell.dismissal.models import CustodyEvent, DismissalDay
from lastbell.messaging.models import Message
from lastbell.messaging.tests.support import run_worker

DAY = dt.date(2026, 11, 18)  # a Wednesday; the fixture schools dismiss at 3 pm Pacific
PACIFIC = dt.timezone(dt.timedelta(hours=-8))
IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def at(hour, minute=0, second=0):
    return dt.datetime(2026, 11, 18, hour, minute, second, tzinfo=PACIFIC)


@pytest.fixture
def clock(time_machine):
    def move(hour, minute=0):
        time_machine.move_to(at(hour, minute), tick=False)
        return at(hour, minute)

    return move


def booked() -> list[dt.datetime]:
    rows = DBTaskResult.objects.filter(
        task_path=tasks.dismissal_tick.module_path, status=TaskResultStatus.READY
    )
    return sorted(r.run_after for r in rows)


def late_flags():
    return set(CustodyEvent.objects.filter(kind=CustodyEvent.Kind.LATE).values_list(
        "student_id", flat=True))  # fmt: skip


def test_the_task_flags_a_school_s_late_pickups_once(school, student, guardian, clock):
    clock(15, 10)
    assert tasks.flag_late_pickups.call(school.pk, DAY.isoformat()) == 0  # not late yet
    clock(15, 11)
    assert tasks.flag_late_pickups.call(school.pk, DAY.isoformat()) == 1
    assert tasks.flag_late_pickups.call(school.pk, DAY.isoformat()) == 0
    assert late_flags() == {student.pk}
    assert Message.objects.filter(kind="late_pickup", student=student).exists()


def test_the_task_leaves_schools_without_the_tracker_or_school_alone(school, student, clock):
    clock(15, 30)
    assert tasks.flag_late_pickups.call(school.pk, "2026-11-21") == 0  # a Saturday
    school.tracker_enabled = False
    school.save()
    assert tasks.flag_late_pickups.call(school.pk, DAY.isoformat()) == 0
    assert not late_flags()


def test_a_tick_flags_only_schools_past_their_late_moment(
    school, other_school, student, clock, district
):
    elsewhere = testing.make_student(other_school, first="Mia")
    other_school.dismissal_wed = dt.time(15, 30)
    other_school.save()
    clock(14, 0)
    assert tasks.tick() == 0
    # Nothing made before it matters: the office may still move today's dismissal.
    assert not DismissalDay.objects.exists()
    clock(15, 11)
    assert tasks.tick() == 1
    assert late_flags() == {student.pk}
    clock(15, 41)
    assert tasks.tick() == 1
    assert late_flags() == {student.pk, elsewhere.pk}
    # Long after, the tick stops looking.
    testing.make_student(school, first="Newcomer")
    clock(21, 0)
    assert tasks.tick() == 0


def test_a_released_student_is_not_late(school, student, guardian, clock):
    clock(14, 50)
    day = services.day_of(school, DAY)
    services.release(day, student, adult=services.Adult("guardian", guardian), actor=None,
                     verification="known")  # fmt: skip
    clock(15, 20)
    assert tasks.tick() == 0


@pytest.mark.parametrize(("now", "next_at"), [
    (at(9, 0), at(9, 30)),            # nothing soon: look again in half an hour at the latest
    (at(14, 50), at(15, 10, 1)),      # just after the late moment
    (at(15, 20), at(15, 25)),         # in the late window: every 5 minutes
    (at(18, 5), at(18, 10)),
    (at(18, 30), at(19, 0)),          # the window is over
])  # fmt: skip
def test_the_next_tick_is_as_soon_as_it_matters(school, time_machine, now, next_at):
    time_machine.move_to(now, tick=False)
    assert tasks.next_tick_at() == next_at


def test_an_early_release_day_moves_the_next_tick(school, time_machine):
    from lastbell.schools.models import CalendarDay

    CalendarDay.objects.create(school=school, date=DAY, kind=CalendarDay.Kind.EARLY_RELEASE,
                               dismissal_time=dt.time(12, 30))  # fmt: skip
    time_machine.move_to(at(12, 30), tick=False)
    assert tasks.next_tick_at() == at(12, 40, 1)


def test_a_day_that_had_an_emergency_needs_no_tick_even_after_the_all_clear(school, student,
                                                                           clock):  # fmt: skip
    admin = testing.make_staff(school)
    clock(14, 0)
    day = services.day_of(school, DAY)
    services.emergency_start(day, actor=admin, message="Go to the church lot.")
    clock(14, 30)
    services.emergency_end(day, actor=admin, note="All clear.")
    clock(15, 20)  # in what would be the late window
    assert tasks.next_tick_at() == at(15, 50)  # only the every-30-minutes check
    assert tasks.tick() == 0 and not late_flags()


# The real worker ends its connections between tasks: the test must not hold its own open.
@pytest.mark.django_db(transaction=True)
def test_the_command_books_one_tick_and_each_tick_books_the_next(school, student, clock):
    clock(14, 50)
    call_command("dismissal_tick", verbosity=0)
    call_command("dismissal_tick", verbosity=0)
    assert booked() == [at(15, 10, 1)]

    clock(15, 11)
    run_worker()

    assert late_flags() == {student.pk}
    assert booked() == [at(15, 16)]
    result = DBTaskResult.objects.get(task_path=tasks.dismissal_tick.module_path,
                                      status=TaskResultStatus.SUCCESSFUL)  # fmt: skip
    assert result.return_value == 1


def test_without_a_worker_that_waits_cron_runs_the_command(school, student, clock, settings):
    settings.TASKS = IMMEDIATE
    clock(15, 30)
    assert tasks.book_next_tick() is None
    call_command("dismissal_tick", verbosity=0)
    assert late_flags() == {student.pk}
    assert not DBTaskResult.objects.exists()


def test_serve_runs_the_tick_at_start():
    from pathlib import Path

    from lastbell.ops.management.commands import serve

    assert 'call_command("dismissal_tick"' in Path(serve.__file__).read_text(encoding="utf-8")
