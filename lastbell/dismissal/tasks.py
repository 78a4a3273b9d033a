"""Late pickups in the background (DESIGN.md §3 "Still on campus"): after dismissal plus the
school's grace minutes, each student still on campus is flagged late and their guardians are
told (services.flag_late), without anyone having a screen open.

A tick checks every school: every 5 minutes while some school is in its late window (from
its late moment for WATCH_FOR), otherwise at the next school's late moment or at the latest
every MAX_WAIT, so a dismissal time changed during the day is still heard of in time. Each
tick books the next one in the task queue; `lastbell dismissal_tick` (which `lastbell serve`
runs at start, and cron runs every 5 minutes where there is no worker) ticks at once and
books the next tick if the queue lacks it. Flagging is idempotent: a tick run twice, or a
booking made twice, flags nobody twice.
"""

import datetime as dt

from django.tasks import task
from django.utils import timezone

TICK_EVERY = dt.timedelta(minutes=5)
WATCH_FOR = dt.timedelta(hours=3)
MAX_WAIT = dt.timedelta(minutes=30)


@task
def flag_late_pickups(school_id: int, date: str) -> int:
    """Flag the school's students still on campus on `date` (ISO) as late; how many now."""
    from lastbell.dismissal import services
    from lastbell.schools.models import School

    school = School.objects.filter(pk=school_id, tracker_enabled=True).first()
    if school is None:
        return 0
    day = services.day_of(school, dt.date.fromisoformat(date))
    if day is None:
        return 0
    return len(services.flag_late(day))


@task
def dismissal_tick() -> int:
    """Flag late pickups at every school that is past its late moment, then book the next
    tick. Returns how many students were flagged."""
    flagged = tick()
    book_next_tick()
    return flagged


def _late_moment(school, date: dt.date, days: dict) -> dt.datetime | None:
    """When students still on campus become late at `school` on `date`, without making the
    dismissal day: a day made early would keep a dismissal time that the office may still
    change that morning (an early release, say)."""
    from lastbell.dismissal import services

    day = days.get(school.pk)
    if day is not None:
        return None if day.had_emergency else services.late_after(day)
    if not school.is_school_day(date):
        return None
    dismiss_at = school.dismissal_time_on(date)
    if dismiss_at is None:
        return None
    moment = dt.datetime.combine(date, dismiss_at, tzinfo=school.tz)
    return moment + dt.timedelta(minutes=school.late_grace_minutes)


def _schools_today(now: dt.datetime):
    """(school, its date, its late moment or None) for every school with the tracker on."""
    from lastbell.dismissal.models import DismissalDay
    from lastbell.schools.models import School

    schools = list(School.objects.filter(tracker_enabled=True))
    dates = {s.pk: now.astimezone(s.tz).date() for s in schools}
    days = {
        d.school_id: d
        for d in DismissalDay.objects.filter(school__in=schools, date__in=set(dates.values()))
        if d.date == dates[d.school_id]
    }
    for school in schools:
        date = dates[school.pk]
        if school.pk in days:
            days[school.pk].school = school
        yield school, date, _late_moment(school, date, days)


def tick(now: dt.datetime | None = None) -> int:
    """Flag late pickups at each school in its late window now; how many were flagged."""
    now = now or timezone.now()
    flagged = 0
    for school, date, late_at in _schools_today(now):
        if late_at is not None and late_at < now <= late_at + WATCH_FOR:
            flagged += flag_late_pickups.call(school.pk, date.isoformat())
    return flagged


def next_tick_at(now: dt.datetime | None = None) -> dt.datetime:
    now = now or timezone.now()
    wanted = now + MAX_WAIT
    for _school, _date, late_at in _schools_today(now):
        if late_at is None:
            continue
        if now < late_at:
            wanted = min(wanted, late_at + dt.timedelta(seconds=1))
        elif now <= late_at + WATCH_FOR:
            wanted = min(wanted, now + TICK_EVERY)
    return wanted


def _booked_ticks() -> list[dt.datetime] | None:
    """When the ticks waiting in the queue run; None where the task backend cannot say
    (only django-tasks-db's queue can be looked into)."""
    from django_tasks_db.backend import DatabaseBackend

    backend = dismissal_tick.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return None
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    now, never = timezone.now(), get_date_max()
    return [
        now if run_after is None or run_after >= never else run_after
        for run_after in DBTaskResult.objects.filter(
            task_path=dismissal_tick.module_path, status=TaskResultStatus.READY,
            backend_name=backend.alias,
        ).values_list("run_after", flat=True)
    ]  # fmt: skip


def book_next_tick(now: dt.datetime | None = None) -> dt.datetime | None:
    """Book the next tick unless one is booked by then already; when it runs, or None where
    the task backend cannot wait (run `lastbell dismissal_tick` from cron there)."""
    if not dismissal_tick.get_backend().supports_defer:
        return None
    wanted = next_tick_at(now)
    booked = _booked_ticks()
    if booked and min(booked) <= wanted:
        return min(booked)
    dismissal_tick.using(run_after=wanted).enqueue()
    return wanted
