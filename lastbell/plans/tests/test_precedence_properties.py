"""The day board against a naive, per-student reading of the precedence rules (DESIGN.md §2).

Each example builds a few students with random absences, changes, program enrollments and
default versions around one date (rows written straight with the ORM, because the services
refuse past dates), then compares every row of `day_board()` with `expected_plan()`, which
reads the rules for one student at a time from the specs the data was built from.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import pytest
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.plans import weekdays
from lastbell.plans.board import day_board
from lastbell.plans.models import (
    SETTABLE_TYPES,
    DefaultDay,
    Enrollment,
    Layer,
    LongTermDefault,
    PlanChange,
    PlanType,
    Program,
)
from lastbell.schools.models import CalendarDay

# The fixture school's year starts on Monday Aug 17, 2026; dates around it include days before
# the term, weekends and term weekdays.
TERM = (dt.date(2026, 8, 17), dt.date(2027, 6, 11))
TERM_WEEKDAYS = [
    dt.date(2026, 8, 17) + dt.timedelta(days=n) for n in range(12) if n % 7 < 5
]
EARLIEST = dt.date(2026, 8, 7)
LATEST = dt.date(2026, 8, 30)
ENTERED = dt.datetime(2026, 8, 1, 8, 0, tzinfo=dt.UTC)


@dataclass
class Plan:
    plan_type: str
    route: int = 0
    dismiss_at: dt.time | None = None

    def fields(self, routes) -> dict:
        values = {"plan_type": self.plan_type}
        if self.plan_type == PlanType.BUS:
            values["bus_route"] = routes[self.route]
        elif self.plan_type == PlanType.PICKUP:
            values["pickup_name"] = "Grandma Rose"
        elif self.plan_type == PlanType.EARLY_DISMISSAL:
            values["dismiss_at"] = self.dismiss_at
        elif self.plan_type == PlanType.OTHER:
            values["note"] = "Rides with the Nguyen family"
        return values


@dataclass
class AbsenceSpec:
    early_departure: bool
    excused: bool
    departs_at: dt.time
    pk: int | None = None


@dataclass
class ChangeSpec:
    starts: int
    length: int
    mask: int
    cancelled: bool
    plan: Plan
    entered: int = 0
    pk: int | None = None


@dataclass
class ProgramSpec:
    mask: int
    starts: int
    length: int
    end_time: dt.time
    pk: int | None = None


@dataclass
class EnrollmentSpec:
    program: int
    mask: int
    starts: int
    length: int | None
    pk: int | None = None


@dataclass
class VersionSpec:
    starts: int
    ends: int | None
    cancelled: bool
    days: dict[int, Plan]
    pk: int | None = None


@dataclass
class StudentSpec:
    enrolled: int
    withdrawn: int | None
    homeroom: int | None
    absence: AbsenceSpec | None
    changes: list[ChangeSpec]
    enrollments: list[EnrollmentSpec]
    versions: list[VersionSpec]
    pk: int | None = None


@dataclass
class Scenario:
    date: dt.date
    calendar_kind: str | None
    programs: list[ProgramSpec]
    students: list[StudentSpec]
    homeroom_filter: list[int] | None


# Strategies ------------------------------------------------------------------------------

times = st.sampled_from([dt.time(11, 30), dt.time(12, 15), dt.time(13, 45), dt.time(17, 30)])
masks = st.one_of(st.just(weekdays.ALL_DAYS), st.integers(1, weekdays.ALL_DAYS))
plans = st.builds(
    Plan,
    plan_type=st.sampled_from([kind for kind, _ in SETTABLE_TYPES]),
    route=st.integers(0, 1),
    dismiss_at=times,
)
# About one student in four is absent, so that the lower layers get their turn.
absences = st.one_of(
    st.none(), st.none(), st.none(),
    st.builds(AbsenceSpec, early_departure=st.booleans(), excused=st.booleans(),
              departs_at=times),
)
changes = st.builds(
    ChangeSpec, starts=st.integers(-6, 3), length=st.integers(0, 8), mask=masks,
    cancelled=st.booleans(), plan=plans,
)
some_days = st.one_of(st.just(weekdays.SCHOOL_WEEK), st.integers(1, weekdays.ALL_DAYS))
programs = st.builds(
    ProgramSpec, mask=some_days, starts=st.integers(-20, 3), length=st.integers(0, 30),
    end_time=times,
)
default_days = st.dictionaries(st.integers(0, 6), plans, min_size=1, max_size=7)


@st.composite
def versions(draw) -> list[VersionSpec]:
    """A chain of default versions as versioning leaves it, plus some cancelled ones.

    Each version in the chain ends the day before the next one starts; the last one may end
    (default_end) or run on. Cancelled versions may overlap anything.
    """
    starts = sorted(draw(st.sets(st.integers(-12, 4), max_size=3)))
    chain = []
    for i, start in enumerate(starts):
        if i + 1 < len(starts):
            ends = starts[i + 1] - 1
        else:
            ends = draw(st.one_of(st.none(), st.integers(start, start + 10)))
        chain.append(VersionSpec(start, ends, False, draw(default_days)))
    cancelled = draw(st.lists(
        st.builds(VersionSpec, starts=st.integers(-8, 4), ends=st.none(),
                  cancelled=st.just(True), days=default_days),
        max_size=1,
    ))  # fmt: skip
    return chain + cancelled


@st.composite
def students(draw, program_count: int) -> StudentSpec:
    enrollments = []
    if program_count:
        enrollments = draw(st.lists(
            st.builds(
                EnrollmentSpec, program=st.integers(0, program_count - 1),
                mask=some_days, starts=st.integers(-15, 3),
                length=st.one_of(st.none(), st.integers(0, 20)),
            ),
            max_size=2,
        ))  # fmt: skip
    return StudentSpec(
        # Mostly enrolled long ago; sometimes only from after the date, or withdrawn before it.
        enrolled=draw(st.sampled_from([-300, -300, -300, -1, 2])),
        withdrawn=draw(st.sampled_from([None, None, None, None, -2, 3])),
        homeroom=draw(st.sampled_from([None, 0, 1])),
        absence=draw(absences),
        changes=draw(st.lists(changes, max_size=3)),
        enrollments=enrollments,
        versions=draw(versions()),
    )


@st.composite
def scenarios(draw) -> Scenario:
    # Mostly school days, where the layers matter; sometimes any date around the term's start.
    date = draw(st.one_of(*[st.sampled_from(TERM_WEEKDAYS)] * 3, st.dates(EARLIEST, LATEST)))
    calendar_kind = draw(st.sampled_from([*[None] * 6, *CalendarDay.Kind.values]))
    program_specs = draw(st.lists(programs, min_size=1, max_size=2))
    pupils = draw(st.lists(students(len(program_specs)), min_size=2, max_size=5))
    # Changes are entered in a random order that need not follow the order of their ids.
    all_changes = [change for pupil in pupils for change in pupil.changes]
    for rank, change in enumerate(draw(st.permutations(all_changes))):
        change.entered = rank
    homeroom_filter = draw(st.sampled_from([None, None, None, [0], [1], [0, 1], []]))
    return Scenario(date, calendar_kind, program_specs, pupils, homeroom_filter)


# The rules, one student at a time ----------------------------------------------------------


def on(date: dt.date, offset: int | None) -> dt.date | None:
    return None if offset is None else date + dt.timedelta(days=offset)


def is_school_day(scenario: Scenario) -> bool:
    date, kind = scenario.date, scenario.calendar_kind
    if kind in (CalendarDay.Kind.HOLIDAY, CalendarDay.Kind.CLOSURE):
        return False
    if kind == CalendarDay.Kind.EXTRA_SCHOOL_DAY:
        return True
    return TERM[0] <= date <= TERM[1] and date.weekday() < 5


def is_counted(scenario: Scenario, pupil: StudentSpec) -> bool:
    date = scenario.date
    if on(date, pupil.enrolled) > date:
        return False
    if pupil.withdrawn is not None and on(date, pupil.withdrawn) < date:
        return False
    hr_filter = scenario.homeroom_filter
    return hr_filter is None or (pupil.homeroom is not None and pupil.homeroom in hr_filter)


def expected_plan(scenario: Scenario, pupil: StudentSpec):
    """(plan type, layer, ids of the records that may decide) for one student on the date."""
    date = scenario.date
    weekday = date.weekday()
    if not is_school_day(scenario):
        return None, None, {None}

    # 1. An absence always wins; an early departure is an early dismissal.
    if pupil.absence is not None:
        kind = PlanType.EARLY_DISMISSAL if pupil.absence.early_departure else PlanType.ABSENCE
        return kind, Layer.ABSENCE, {pupil.absence.pk}

    # 2. The change entered last among those that cover the date.
    covering = [
        change for change in pupil.changes
        if not change.cancelled
        and on(date, change.starts) <= date <= on(date, change.starts + change.length)
        and weekday in weekdays.days_of(change.mask)
    ]  # fmt: skip
    if covering:
        newest = max(covering, key=lambda change: change.entered)
        return newest.plan.plan_type, Layer.CHANGE, {newest.pk}

    # 3. A program that meets today, on one of the student's chosen days, inside both ranges.
    attending = set()
    for enrollment in pupil.enrollments:
        program = scenario.programs[enrollment.program]
        program_runs = on(date, program.starts) <= date <= on(date, program.starts + program.length)
        enrolled = on(date, enrollment.starts) <= date and (
            enrollment.length is None or date <= on(date, enrollment.starts + enrollment.length)
        )
        if (
            program_runs and enrolled
            and weekday in weekdays.days_of(program.mask)
            and weekday in weekdays.days_of(enrollment.mask)
        ):  # fmt: skip
            attending.add(enrollment.pk)
    if attending:
        # DESIGN does not rank two programs on the same day; either one is a right answer.
        return PlanType.PROGRAM, Layer.PROGRAM, attending

    # 4. The default version in effect that day, if it has a plan for this weekday.
    for version in pupil.versions:
        in_effect = not version.cancelled and on(date, version.starts) <= date and (
            version.ends is None or date <= on(date, version.ends)
        )
        if in_effect:
            if weekday in version.days:
                return version.days[weekday].plan_type, Layer.DEFAULT, {version.pk}
            break

    # 5. Nothing: the plan is missing.
    return None, None, {None}


# Building the rows -------------------------------------------------------------------------


def build(scenario: Scenario, school, homerooms, routes):
    date = scenario.date
    if scenario.calendar_kind:
        CalendarDay.objects.create(
            school=school, date=date, kind=scenario.calendar_kind,
            dismissal_time=dt.time(12, 30), note="Test day",
        )  # fmt: skip
    program_rows = []
    for n, spec in enumerate(scenario.programs):
        row = Program.objects.create(
            school=school, name=f"Program {n}", weekdays=spec.mask,
            starts_on=on(date, spec.starts), ends_on=on(date, spec.starts + spec.length),
            end_time=spec.end_time,
        )  # fmt: skip
        spec.pk = row.pk
        program_rows.append(row)
    for pupil in scenario.students:
        student = testing.make_student(
            school, enrolled_on=on(date, pupil.enrolled), withdrawn_on=on(date, pupil.withdrawn),
            homeroom=None if pupil.homeroom is None else homerooms[pupil.homeroom],
        )  # fmt: skip
        pupil.pk = student.pk
        if pupil.absence:
            spec = pupil.absence
            spec.pk = Absence.objects.create(
                student=student, date=date, excused=spec.excused,
                kind=Absence.Kind.EARLY_DEPARTURE if spec.early_departure else Absence.Kind.ABSENT,
                departs_at=spec.departs_at if spec.early_departure else None,
            ).pk  # fmt: skip
        for spec in pupil.changes:
            change = PlanChange.objects.create(
                student=student, starts_on=on(date, spec.starts),
                ends_on=on(date, spec.starts + spec.length), weekdays=spec.mask,
                cancelled_at=ENTERED if spec.cancelled else None, **spec.plan.fields(routes),
            )  # fmt: skip
            spec.pk = change.pk
            PlanChange.objects.filter(pk=change.pk).update(
                created_at=ENTERED + dt.timedelta(minutes=spec.entered)
            )
        for spec in pupil.enrollments:
            spec.pk = Enrollment.objects.create(
                student=student, program=program_rows[spec.program], weekdays=spec.mask,
                starts_on=on(date, spec.starts),
                ends_on=None if spec.length is None else on(date, spec.starts + spec.length),
            ).pk  # fmt: skip
        for spec in pupil.versions:
            version = LongTermDefault.objects.create(
                student=student, starts_on=on(date, spec.starts), ends_on=on(date, spec.ends),
                cancelled_at=ENTERED if spec.cancelled else None,
            )  # fmt: skip
            spec.pk = version.pk
            DefaultDay.objects.bulk_create(
                DefaultDay(default=version, weekday=day, **plan.fields(routes))
                for day, plan in spec.days.items()
            )


@pytest.fixture
def places(school, other_school):
    homerooms = [testing.make_homeroom(school), testing.make_homeroom(school)]
    routes = [testing.make_route(school, "7"), testing.make_route(school, "12")]
    # A student of another school with plans of every kind must never show up.
    outsider = testing.make_student(other_school)
    Absence.objects.create(student=outsider, date=TERM_WEEKDAYS[3])
    PlanChange.objects.create(
        student=outsider, starts_on=EARLIEST, ends_on=LATEST, plan_type=PlanType.WALK
    )
    return school, homerooms, routes


@pytest.mark.django_db
def test_it_resolves_every_student_as_the_rules_say(places):
    school, homerooms, routes = places
    seen = Counter()

    @settings(max_examples=60, deadline=None)
    @given(scenarios())
    def check(scenario: Scenario):
        with transaction.atomic():
            build(scenario, school, homerooms, routes)
            hr_filter = scenario.homeroom_filter
            board = day_board(
                school, scenario.date,
                homeroom_ids=None if hr_filter is None else [homerooms[n].pk for n in hr_filter],
            )  # fmt: skip

            school_day = is_school_day(scenario)
            assert board.is_school_day is school_day
            counted = {p.pk: p for p in scenario.students if is_counted(scenario, p)}
            assert {row.student_id for row in board.rows} == set(counted)
            missing = 0
            for row in board.rows:
                kind, layer, record_ids = expected_plan(scenario, counted[row.student_id])
                assert (row.plan_type, row.layer) == (kind, layer), row
                assert row.record_id in record_ids, row
                missing += kind is None
                seen[layer] += 1
            assert board.missing_count == (missing if school_day else 0)
            if not school_day:
                seen["no school day"] += 1
            transaction.set_rollback(True)

    check()
    # The random data reached every layer, so the comparison above was not vacuous.
    assert set(seen) >= {*Layer.values, None, "no school day"}, seen
