"""Weekday sets: the bit masks, their labels, and the days a change or an enrollment counts on."""

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from lastbell import testing
from lastbell.plans import weekdays
from lastbell.plans.board import plan_days
from lastbell.plans.models import (
    DefaultDay,
    Enrollment,
    Layer,
    LongTermDefault,
    PlanChange,
    PlanType,
    Program,
)
from lastbell.schools.models import WEEKDAY_SHORT, CalendarDay

ANY_DAY = st.integers(0, 6)
SOME_DAYS = st.integers(1, weekdays.ALL_DAYS)
# Two school-year weeks, Monday Nov 9 to Sunday Nov 22, 2026.
FIRST_DAY = dt.date(2026, 11, 9)
SPAN = [FIRST_DAY + dt.timedelta(days=n) for n in range(14)]


def read_label(text: str) -> int:
    """The mask a label such as 'Mon–Wed, Fri' stands for, read the way a person reads it."""
    if text == "every day":
        return weekdays.ALL_DAYS
    mask = 0
    for part in filter(None, text.split(", ")):
        first, dash, last = part.partition("–")
        start, end = WEEKDAY_SHORT.index(first), WEEKDAY_SHORT.index(last or first)
        assert start < end if dash else start == end, text
        mask |= weekdays.mask_of(range(start, end + 1))
    return mask


def test_it_turns_every_mask_into_its_days_and_back():
    for mask in range(weekdays.ALL_DAYS + 1):
        days = weekdays.days_of(mask)
        assert days == sorted(set(days))
        assert all(0 <= day <= 6 for day in days)
        assert sum(1 << day for day in days) == mask
        assert weekdays.mask_of(days) == mask


@given(st.lists(ANY_DAY, max_size=10))
def test_it_turns_any_list_of_days_into_a_mask_and_back(days):
    mask = weekdays.mask_of(days)
    assert weekdays.days_of(mask) == sorted(set(days))
    # Form values arrive as strings.
    assert weekdays.mask_of(str(day) for day in days) == mask


def test_it_labels_every_set_of_days_so_that_the_label_reads_back():
    labels = set()
    for mask in range(weekdays.ALL_DAYS + 1):
        label = weekdays.label(mask)
        assert read_label(label) == mask, label
        labels.add(label)
    assert len(labels) == weekdays.ALL_DAYS + 1


def run_around(mask: int, day: int) -> range:
    """The days in a row (within Mon–Sun) that are in `mask` and include `day`."""
    start = end = day
    while start > 0 and mask & weekdays.bit(start - 1):
        start -= 1
    while end < 6 and mask & weekdays.bit(end + 1):
        end += 1
    return range(start, end + 1)


def test_it_collapses_three_or_more_days_in_a_row_into_a_range():
    for mask in range(1, weekdays.ALL_DAYS + 1):
        label = weekdays.label(mask)
        if label in ("every day", "Mon–Fri"):
            continue
        for part in label.split(", "):
            first, _, last = part.partition("–")
            start, end = WEEKDAY_SHORT.index(first), WEEKDAY_SHORT.index(last or first)
            run = run_around(mask, start)
            if last:
                # A range is a whole run of three days or more.
                assert (run.start, run.stop - 1) == (start, end) and len(run) >= 3, label
            else:
                # A day on its own is alone, or one of two days in a row.
                assert len(run) <= 2, label
    assert weekdays.label(weekdays.mask_of([0, 1])) == "Mon, Tue"
    assert weekdays.label(weekdays.mask_of([0, 1, 2, 4])) == "Mon–Wed, Fri"
    assert weekdays.label(weekdays.mask_of([5, 6])) == "Sat, Sun"
    assert weekdays.label(weekdays.SCHOOL_WEEK) == "Mon–Fri"
    assert weekdays.label(0) == ""


@given(
    starts_on=st.dates(dt.date(2026, 9, 1), dt.date(2027, 5, 1)),
    length=st.integers(0, 40),
    mask=SOME_DAYS,
)
def test_it_covers_exactly_the_chosen_weekdays_inside_a_change_range(starts_on, length, mask):
    ends_on = starts_on + dt.timedelta(days=length)
    change = PlanChange(starts_on=starts_on, ends_on=ends_on, weekdays=mask)
    chosen = set(weekdays.days_of(mask))
    for n in range(-3, length + 4):
        date = starts_on + dt.timedelta(days=n)
        expected = starts_on <= date <= ends_on and date.weekday() in chosen
        assert change.covers(date) is expected, date


@pytest.fixture
def every_day_a_school_day(school):
    """Make the weekends of SPAN extra school days, so that every weekday can be checked."""
    CalendarDay.objects.bulk_create(
        CalendarDay(school=school, date=date, kind=CalendarDay.Kind.EXTRA_SCHOOL_DAY)
        for date in SPAN
        if date.weekday() >= 5
    )
    return school


def walks_every_day(student):
    version = LongTermDefault.objects.create(student=student, starts_on=dt.date(2026, 8, 17))
    DefaultDay.objects.bulk_create(
        DefaultDay(default=version, weekday=day, plan_type=PlanType.WALK) for day in range(7)
    )


def boards(school, dates):
    """Each date's rows by student, read for the whole span at once."""
    span = plan_days(school, dates[0], dates[-1])
    return {date: {row.student_id: row for row in span[date].rows} for date in dates}


@pytest.mark.django_db
def test_it_puts_a_weekday_limited_change_on_exactly_its_weekdays(every_day_a_school_day):
    school = every_day_a_school_day
    changes = st.tuples(st.integers(0, 13), st.integers(0, 13), SOME_DAYS)

    @settings(max_examples=30, deadline=None)
    @given(st.lists(changes, min_size=1, max_size=6))
    def check(specs):
        with transaction.atomic():
            made = []
            for first, length, mask in specs:
                student = testing.make_student(school)
                walks_every_day(student)
                starts_on = SPAN[first]
                made.append(
                    PlanChange.objects.create(
                        student=student,
                        starts_on=starts_on,
                        ends_on=starts_on + dt.timedelta(days=length),
                        weekdays=mask,
                        plan_type=PlanType.BIKE,
                    )
                )
            by_date = boards(school, SPAN)
            for change in made:
                for date in SPAN:
                    row = by_date[date][change.student_id]
                    on_change = (
                        change.starts_on <= date <= change.ends_on
                        and date.weekday() in weekdays.days_of(change.weekdays)
                    )
                    assert row.layer == (Layer.CHANGE if on_change else Layer.DEFAULT), date
                    assert row.plan_type == (PlanType.BIKE if on_change else PlanType.WALK)
            transaction.set_rollback(True)

    check()


@pytest.mark.django_db
def test_it_counts_an_enrollment_only_on_program_days_the_student_chose(every_day_a_school_day):
    school = every_day_a_school_day

    @settings(max_examples=30, deadline=None)
    @given(SOME_DAYS, st.lists(SOME_DAYS, min_size=1, max_size=6))
    def check(meets, chosen_masks):
        with transaction.atomic():
            program = Program.objects.create(
                school=school,
                name="Care",
                weekdays=meets,
                starts_on=SPAN[0],
                ends_on=SPAN[-1],
                end_time=dt.time(18, 0),
            )
            enrolled = []
            for chosen in chosen_masks:
                student = testing.make_student(school)
                walks_every_day(student)
                enrolled.append(
                    Enrollment.objects.create(
                        program=program,
                        student=student,
                        weekdays=chosen,
                        starts_on=SPAN[0],
                    )
                )
            # One week holds every weekday once.
            by_date = boards(school, SPAN[:7])
            for enrollment in enrolled:
                for date in SPAN[:7]:
                    row = by_date[date][enrollment.student_id]
                    attends = date.weekday() in set(weekdays.days_of(meets)) & set(
                        weekdays.days_of(enrollment.weekdays)
                    )
                    assert row.layer == (Layer.PROGRAM if attends else Layer.DEFAULT), date
            transaction.set_rollback(True)

    check()
