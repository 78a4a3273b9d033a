"""Which dates are school days, when dismissal is, and what "today" is at a school."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lastbell import testing
from lastbell.schools.models import CalendarDay, SchoolCalendar, SchoolTerm

WEDNESDAY = dt.date(2026, 11, 18)
SATURDAY, SUNDAY = dt.date(2026, 11, 21), dt.date(2026, 11, 22)


def calendar(school, start=dt.date(2026, 8, 1), end=dt.date(2027, 7, 31)):
    return SchoolCalendar.for_school(school, start, end)


def mark(school, date, kind, **fields):
    return CalendarDay.objects.create(school=school, date=date, kind=kind, **fields)


def test_it_counts_every_weekday_of_the_term_and_no_weekend(school):
    days = calendar(school)
    week = [dt.date(2026, 11, 16) + dt.timedelta(days=n) for n in range(7)]

    assert [days.is_school_day(date) for date in week] == [True] * 5 + [False] * 2


def test_it_counts_the_first_and_last_days_of_the_term_only(school):
    days = calendar(school)

    # The fixture's year runs Mon Aug 17, 2026 to Fri Jun 11, 2027.
    assert days.is_school_day(dt.date(2026, 8, 17))
    assert not days.is_school_day(dt.date(2026, 8, 14))
    assert days.is_school_day(dt.date(2027, 6, 11))
    assert not days.is_school_day(dt.date(2027, 6, 14))
    assert days.why_not(dt.date(2027, 6, 14)) == "No school: this date is outside the school year."


def test_it_counts_days_of_every_term(district):
    school = testing.make_school(district, term=None)
    SchoolTerm.objects.create(
        school=school, name="Fall", starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 12, 18)
    )
    SchoolTerm.objects.create(
        school=school, name="Spring", starts_on=dt.date(2027, 1, 11), ends_on=dt.date(2027, 5, 28)
    )
    days = calendar(school)

    assert days.is_school_day(dt.date(2026, 12, 18))
    assert not days.is_school_day(dt.date(2027, 1, 4))  # winter break between the terms
    assert days.is_school_day(dt.date(2027, 1, 11))


def test_it_has_no_school_day_without_a_term(district):
    school = testing.make_school(district, term=None)

    assert not school.is_school_day(WEDNESDAY)


@pytest.mark.parametrize("kind", [CalendarDay.Kind.HOLIDAY, CalendarDay.Kind.CLOSURE])
def test_it_closes_on_a_holiday_or_closure(school, kind):
    mark(school, WEDNESDAY, kind, note="Snow day")

    days = calendar(school)

    assert not days.is_school_day(WEDNESDAY)
    assert days.why_not(WEDNESDAY) == "No school: Snow day."
    assert days.is_school_day(WEDNESDAY + dt.timedelta(days=1))
    assert not school.is_school_day(WEDNESDAY)


def test_it_opens_on_an_extra_school_day(school):
    mark(school, SATURDAY, CalendarDay.Kind.EXTRA_SCHOOL_DAY)
    mark(school, dt.date(2027, 6, 14), CalendarDay.Kind.EXTRA_SCHOOL_DAY, note="Make-up day")

    days = calendar(school)

    assert days.is_school_day(SATURDAY)
    assert not days.is_school_day(SUNDAY)
    assert days.is_school_day(dt.date(2027, 6, 14))
    assert days.why_not(SUNDAY) == "No school: weekend."


def test_it_runs_a_weekday_plans_on_a_make_up_day_that_follows_it(school):
    mark(school, SATURDAY, CalendarDay.Kind.EXTRA_SCHOOL_DAY, follows_weekday=0)

    days = calendar(school)

    assert days.plan_weekday(SATURDAY) == 0
    assert days.plan_weekday(SUNDAY) == SUNDAY.weekday()
    assert days.plan_weekday(WEDNESDAY) == WEDNESDAY.weekday()


def test_it_keeps_school_on_an_early_release_day_with_its_own_time(school):
    mark(school, WEDNESDAY, CalendarDay.Kind.EARLY_RELEASE, dismissal_time=dt.time(12, 30))

    assert school.is_school_day(WEDNESDAY)
    assert school.dismissal_time_on(WEDNESDAY) == dt.time(12, 30)
    assert school.dismissal_time_on(WEDNESDAY + dt.timedelta(days=1)) == dt.time(15, 0)


def test_it_uses_the_weekday_dismissal_time_otherwise(school):
    school.dismissal_wed = dt.time(13, 45)
    school.save()
    mark(school, dt.date(2026, 11, 25), CalendarDay.Kind.EARLY_RELEASE)  # no time given

    assert school.dismissal_time_on(WEDNESDAY) == dt.time(13, 45)
    assert school.dismissal_time_on(dt.date(2026, 11, 25)) == dt.time(13, 45)
    assert school.dismissal_time_on(SATURDAY) is None


def test_it_reads_a_span_in_two_queries(school):
    for n in range(10):
        mark(school, dt.date(2026, 12, 1) + dt.timedelta(days=n), CalendarDay.Kind.HOLIDAY)

    with CaptureQueriesContext(connection) as queries:
        days = calendar(school, dt.date(2026, 12, 1), dt.date(2026, 12, 31))
        closed = [days.is_school_day(dt.date(2026, 12, n)) for n in range(1, 32)]

    assert len(queries) == 2
    assert closed[:10] == [False] * 10
    assert closed[13] is True  # Monday Dec 14


def test_it_ignores_other_schools_days(school, other_school):
    mark(other_school, WEDNESDAY, CalendarDay.Kind.CLOSURE)

    assert school.is_school_day(WEDNESDAY)
    assert not other_school.is_school_day(WEDNESDAY)


@pytest.mark.parametrize(
    ("utc", "pacific", "auckland"),
    [
        # 4:30 pm on Nov 17 in Los Angeles is already 1:30 pm on Nov 18 in Auckland.
        (
            dt.datetime(2026, 11, 18, 0, 30, tzinfo=dt.UTC),
            dt.date(2026, 11, 17),
            dt.date(2026, 11, 18),
        ),
        # Just before midnight UTC, Auckland is already on the next day.
        (
            dt.datetime(2026, 11, 17, 23, 30, tzinfo=dt.UTC),
            dt.date(2026, 11, 17),
            dt.date(2026, 11, 18),
        ),
        # At 11:30 am UTC it is 3:30 am in Los Angeles and half past midnight in Auckland.
        (
            dt.datetime(2026, 11, 18, 11, 30, tzinfo=dt.UTC),
            dt.date(2026, 11, 18),
            dt.date(2026, 11, 19),
        ),
    ],
)
def test_it_knows_today_in_the_schools_own_timezone(time_machine, district, utc, pacific, auckland):
    los_angeles = testing.make_school(district, timezone="America/Los_Angeles")
    new_zealand = testing.make_school(district, timezone="Pacific/Auckland")
    time_machine.move_to(utc, tick=False)

    assert los_angeles.today() == pacific
    assert new_zealand.today() == auckland


def test_it_has_no_school_on_a_weekday_without_a_dismissal_time(db):
    from lastbell.testing import make_district, make_school

    school = make_school(make_district(), dismissal_fri=None)  # a four-day week
    friday, thursday = dt.date(2026, 11, 20), dt.date(2026, 11, 19)
    calendar = SchoolCalendar.for_school(school, thursday, friday)
    assert calendar.is_school_day(thursday)
    assert not calendar.is_school_day(friday)
    assert calendar.why_not(friday) == "No school: the school does not meet on Fridays."
