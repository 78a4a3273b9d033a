"""The day board against a naive, per-student reading of the precedence rules (DESIGN.md §2).

Each example builds a few students with random absences, changes, program enrollments and
default versions around one date (rows written straight with the ORM, because the services
refuse past dates), then compares every row of `day_board()` for that date, and of
`plan_days()` for the week around it, with `expected_plan()`, which reads the rules for one
student at a time from the specs the data was built from.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import pytest
from django.db import transaction
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.people.models import Student
from lastbell.plans import weekdays
from lastbell.plans.board import day_board, plan_days
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
TERM_WEEKDAYS = [dt.date(2026, 8, 17) + dt.timedelta(days=n) for n in range(12) if n % 7 < 5]
EARLIEST = dt.date(2026, 8, 7)
LATEST = dt.date(2026, 8, 30)
SATURDAY = dt.date(2026, 8, 22)
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
    follows_weekday: int | None
    programs: list[ProgramSpec]
    students: list[StudentSpec]
    homeroom_filter: list[int] | None


# Strategies ------------------------------------------------------------------------------


def weighted(*choices):
    """One of some strategies, each `weight` times as likely (one_of would weigh them alike)."""
    return st.sampled_from([s for weight, s in choices for _ in range(weight)]).flatmap(
        lambda strategy: strategy
    )


times = st.sampled_from([dt.time(11, 30), dt.time(12, 15), dt.time(13, 45), dt.time(17, 30)])
masks = st.one_of(st.just(weekdays.ALL_DAYS), st.integers(1, weekdays.ALL_DAYS))
some_days = st.one_of(st.just(weekdays.SCHOOL_WEEK), st.integers(1, weekdays.ALL_DAYS))
# One draw per plan keeps the examples cheap to generate.
PLANS = [
    Plan(PlanType.BUS, route=0), Plan(PlanType.BUS, route=1), Plan(PlanType.PICKUP),
    Plan(PlanType.WALK), Plan(PlanType.BIKE), Plan(PlanType.OTHER),
    Plan(PlanType.EARLY_DISMISSAL, dismiss_at=dt.time(12, 15)),
    Plan(PlanType.EARLY_DISMISSAL, dismiss_at=dt.time(13, 45)),
]  # fmt: skip
assert {plan.plan_type for plan in PLANS} == {kind for kind, _ in SETTABLE_TYPES}
plans = st.sampled_from(PLANS)
# About one student in five is absent, so that the lower layers get their turn.
absences = weighted(
    (4, st.none()),
    (1, st.builds(AbsenceSpec, early_departure=st.booleans(), excused=st.booleans(),
                  departs_at=times)),
)  # fmt: skip
# Short ranges near the date, so that their first and last days often fall on it.
changes = st.builds(
    ChangeSpec,
    starts=st.integers(-4, 1),
    length=st.integers(0, 5),
    mask=masks,
    cancelled=st.sampled_from([False, False, True]),
    plan=plans,
)
programs = st.builds(
    ProgramSpec,
    mask=some_days,
    starts=st.integers(-8, 1),
    length=st.integers(0, 12),
    end_time=times,
)


@st.composite
def default_days(draw) -> dict[int, Plan]:
    """A plan for some weekdays, which may differ by weekday ("bus Mon–Wed, grandma Thu–Fri")."""
    mask = draw(some_days)
    early, late = draw(plans), draw(plans)
    return {day: early if day < 3 else late for day in weekdays.days_of(mask)}


plans_by_weekday = default_days()
version_starts = st.sets(st.integers(-8, 2), max_size=3)
last_version_length = st.one_of(st.none(), st.integers(0, 6))
cancelled_versions = st.lists(
    st.builds(VersionSpec, starts=st.integers(-4, 2), ends=st.none(), cancelled=st.just(True),
              days=plans_by_weekday),
    max_size=1,
)  # fmt: skip


@st.composite
def versions(draw) -> list[VersionSpec]:
    """A chain of default versions as versioning leaves it, plus some cancelled ones.

    Each version in the chain ends the day before the next one starts; the last one may end
    (default_end) or run on. Cancelled versions may overlap anything.
    """
    starts = sorted(draw(version_starts))
    chain = []
    for i, start in enumerate(starts):
        if i + 1 < len(starts):
            ends = starts[i + 1] - 1
        else:
            length = draw(last_version_length)
            ends = None if length is None else start + length
        chain.append(VersionSpec(start, ends, False, draw(plans_by_weekday)))
    return chain + draw(cancelled_versions)


def enrollments(program_count: int):
    return st.lists(
        st.builds(
            EnrollmentSpec,
            program=st.integers(0, program_count - 1),
            mask=some_days,
            starts=st.integers(-6, 1),
            length=st.one_of(st.none(), st.integers(0, 8)),
        ),
        max_size=2,
    )


# Built once: strategies made inside a composite are validated again on every draw.
ENROLLMENTS = {count: enrollments(count) for count in (1, 2)}
change_lists = st.lists(changes, max_size=3)
student_versions = versions()
# Mostly enrolled long ago; sometimes only from after the date, or withdrawn before it.
enrolled_offsets = st.sampled_from([-300, -300, -300, -300, -1, 2])
withdrawn_offsets = st.sampled_from([None, None, None, None, None, -2, 3])
homeroom_choices = st.sampled_from([None, 0, 1])


@st.composite
def students(draw, program_count: int) -> StudentSpec:
    return StudentSpec(
        enrolled=draw(enrolled_offsets),
        withdrawn=draw(withdrawn_offsets),
        homeroom=draw(homeroom_choices),
        absence=draw(absences),
        changes=draw(change_lists),
        enrollments=draw(ENROLLMENTS[program_count]),
        versions=draw(student_versions),
    )


# Mostly school days, where the layers matter; sometimes any date around the term's start.
dates = weighted((3, st.sampled_from(TERM_WEEKDAYS)), (1, st.dates(EARLIEST, LATEST)))
calendar_kinds = st.sampled_from([*[None] * 6, *CalendarDay.Kind.values])
follows = st.one_of(st.none(), st.integers(0, 4))
program_lists = st.lists(programs, min_size=1, max_size=2)
STUDENT_LISTS = {count: st.lists(students(count), min_size=3, max_size=6) for count in (1, 2)}
homeroom_filters = st.sampled_from([*[None] * 6, [0], [0, 1], []])


# What one student's extra record aims at: covering the date in one layer, or missing it for
# exactly one reason. Random records alone seldom do either, so the rules' edges need this.
aims = st.sampled_from([
    None,
    (Layer.CHANGE, None), (Layer.CHANGE, "weekday"), (Layer.CHANGE, "dates"),
    (Layer.CHANGE, "cancelled"),
    (Layer.PROGRAM, None), (Layer.PROGRAM, "chosen days"), (Layer.PROGRAM, "meets"),
    (Layer.PROGRAM, "program dates"), (Layer.PROGRAM, "enrollment dates"),
    (Layer.DEFAULT, None), (Layer.DEFAULT, "weekday"), (Layer.DEFAULT, "dates"),
    (Layer.DEFAULT, "cancelled"),
])  # fmt: skip
reach = st.integers(0, 3)
open_ended = st.booleans()


def covering(draw) -> tuple[int, int]:
    """Start offset and length of a range that includes the date, often as its first or last."""
    before, after = draw(reach), draw(reach)
    return -before, before + after


def missing(draw) -> tuple[int, int]:
    """Start offset and length of a range that ends before the date or starts after it."""
    gap, length = draw(reach), draw(reach)
    if draw(open_ended):
        return 1 + gap, length
    return -(1 + gap + length), length


def without(mask: int, weekday: int) -> int:
    return (mask & ~weekdays.bit(weekday)) or weekdays.bit((weekday + 1) % 7)


def aim_at(draw, scenario_programs, pupil: StudentSpec, aim, weekday: int):
    """Add one record to `pupil` that covers the date, or misses it for one reason."""
    if aim is None:
        return
    layer, miss = aim
    day = weekdays.bit(weekday)
    if layer == Layer.CHANGE:
        starts, length = missing(draw) if miss == "dates" else covering(draw)
        mask = draw(masks)
        mask = without(mask, weekday) if miss == "weekday" else mask | day
        pupil.changes.append(ChangeSpec(starts, length, mask, miss == "cancelled", draw(plans)))
    elif layer == Layer.PROGRAM:
        # A program of its own, so that another student's aim does not move its dates.
        program = draw(programs)
        program.starts, program.length = (
            missing(draw) if miss == "program dates" else covering(draw)
        )
        program.mask = without(program.mask, weekday) if miss == "meets" else program.mask | day
        index = len(scenario_programs)
        scenario_programs.append(program)
        starts, length = missing(draw) if miss == "enrollment dates" else covering(draw)
        if starts <= 0 and draw(open_ended):
            length = None
        mask = draw(some_days)
        mask = without(mask, weekday) if miss == "chosen days" else mask | day
        pupil.enrollments.append(EnrollmentSpec(index, mask, starts, length))
    elif layer == Layer.DEFAULT:
        days = draw(plans_by_weekday)
        if miss == "weekday":
            days.pop(weekday, None)
            days = days or {(weekday + 1) % 7: draw(plans)}
        else:
            days[weekday] = draw(plans)
        cancelled = [version for version in pupil.versions if version.cancelled]
        if miss == "dates":
            # Ended before the date and/or the next version starts after it.
            before, after = draw(reach), draw(reach)
            chain = [VersionSpec(-20, -1 - before, False, days)]
            if draw(open_ended):
                chain.append(VersionSpec(1 + after, None, False, days))
        else:
            starts, length = covering(draw)
            ends = None if draw(open_ended) else starts + length
            chain = [VersionSpec(starts, ends, miss == "cancelled", days)]
        pupil.versions = chain + cancelled


@st.composite
def scenarios(draw) -> Scenario:
    date = draw(dates)
    calendar_kind = draw(calendar_kinds)
    # An extra school day on a weekend may run a weekday's plans ("Saturday follows Monday").
    follows_weekday = None
    if calendar_kind == CalendarDay.Kind.EXTRA_SCHOOL_DAY and date.weekday() >= 5:
        follows_weekday = draw(follows)
    program_specs = draw(program_lists)
    pupils = draw(STUDENT_LISTS[len(program_specs)])
    weekday = date.weekday() if follows_weekday is None else follows_weekday
    for pupil in pupils:
        for _ in range(2):
            aim_at(draw, program_specs, pupil, draw(aims), weekday)
    # Changes are entered in a random order that need not follow the order of their ids.
    all_changes = [change for pupil in pupils for change in pupil.changes]
    for rank, change in enumerate(draw(st.permutations(all_changes))):
        change.entered = rank
    homeroom_filter = draw(homeroom_filters)
    return Scenario(date, calendar_kind, follows_weekday, program_specs, pupils, homeroom_filter)


# The rules, one student at a time ----------------------------------------------------------


def on(date: dt.date, offset: int | None) -> dt.date | None:
    return None if offset is None else date + dt.timedelta(days=offset)


def is_school_day(scenario: Scenario, day: dt.date) -> bool:
    kind = scenario.calendar_kind if day == scenario.date else None
    if kind in (CalendarDay.Kind.HOLIDAY, CalendarDay.Kind.CLOSURE):
        return False
    if kind == CalendarDay.Kind.EXTRA_SCHOOL_DAY:
        return True
    return TERM[0] <= day <= TERM[1] and day.weekday() < 5


def plan_weekday(scenario: Scenario, day: dt.date) -> int:
    """The weekday whose plans apply: the day's own, or the one a make-up day follows."""
    if day == scenario.date and scenario.follows_weekday is not None:
        return scenario.follows_weekday
    return day.weekday()


def is_counted(scenario: Scenario, pupil: StudentSpec, day: dt.date) -> bool:
    date = scenario.date
    if on(date, pupil.enrolled) > day:
        return False
    if pupil.withdrawn is not None and on(date, pupil.withdrawn) < day:
        return False
    hr_filter = scenario.homeroom_filter
    return hr_filter is None or (pupil.homeroom is not None and pupil.homeroom in hr_filter)


def expected_plan(scenario: Scenario, pupil: StudentSpec, day: dt.date):
    """(plan type, layer, ids of the records that may decide) for one student on `day`.

    The records lie at offsets from the scenario's date; `day` may be any date near it.
    """
    date = scenario.date
    weekday = plan_weekday(scenario, day)
    if not is_school_day(scenario, day):
        return None, None, {None}

    # 1. An absence always wins; an early departure is an early dismissal.
    if pupil.absence is not None and day == date:
        kind = PlanType.EARLY_DISMISSAL if pupil.absence.early_departure else PlanType.ABSENCE
        return kind, Layer.ABSENCE, {pupil.absence.pk}

    # 2. The change entered last among those that cover the day.
    in_force = [
        change for change in pupil.changes
        if not change.cancelled
        and on(date, change.starts) <= day <= on(date, change.starts + change.length)
        and weekday in weekdays.days_of(change.mask)
    ]  # fmt: skip
    if in_force:
        newest = max(in_force, key=lambda change: change.entered)
        return newest.plan.plan_type, Layer.CHANGE, {newest.pk}

    # 3. A program that meets that day, on one of the student's chosen days, inside both ranges.
    attending = set()
    for enrollment in pupil.enrollments:
        program = scenario.programs[enrollment.program]
        program_runs = on(date, program.starts) <= day <= on(date, program.starts + program.length)
        enrolled = on(date, enrollment.starts) <= day and (
            enrollment.length is None or day <= on(date, enrollment.starts + enrollment.length)
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
        in_effect = (
            not version.cancelled
            and on(date, version.starts) <= day
            and (version.ends is None or day <= on(date, version.ends))
        )
        if in_effect:
            if weekday in version.days:
                return version.days[weekday].plan_type, Layer.DEFAULT, {version.pk}
            break

    # 5. Nothing: the plan is missing.
    return None, None, {None}


def every_layer(calendar_kind=None, date=TERM_WEEKDAYS[2], follows_weekday=None) -> Scenario:
    """A fixed example that reaches every layer on a Wednesday, run before the random ones."""
    bus, walk = Plan(PlanType.BUS, route=1), Plan(PlanType.WALK)
    early = Plan(PlanType.EARLY_DISMISSAL, dismiss_at=dt.time(12, 15))

    def usual() -> list[VersionSpec]:
        return [
            VersionSpec(-40, -1, False, {2: walk}),
            VersionSpec(0, None, False, {n: bus for n in range(5)}),
            VersionSpec(3, None, True, {2: walk}),
        ]

    def pupil(**records) -> StudentSpec:
        fields = {
            "enrolled": -300, "withdrawn": None, "homeroom": 0, "absence": None,
            "changes": [], "enrollments": [], "versions": usual(),
        }  # fmt: skip
        return StudentSpec(**(fields | records))

    def attends() -> list[EnrollmentSpec]:
        return [EnrollmentSpec(0, mask=weekdays.mask_of([0, 2]), starts=-3, length=None)]

    # Entered in the opposite order of their ids: the one entered last must win.
    overlapping = [
        ChangeSpec(-2, 5, weekdays.ALL_DAYS, False, walk, entered=2),
        ChangeSpec(0, 0, weekdays.bit(2), False, early, entered=1),
    ]
    return Scenario(
        date=date,
        calendar_kind=calendar_kind,
        follows_weekday=follows_weekday,
        programs=[ProgramSpec(weekdays.SCHOOL_WEEK, -10, 40, dt.time(17, 30))],
        students=[
            pupil(absence=AbsenceSpec(True, False, dt.time(10, 30)),
                  changes=[ChangeSpec(0, 0, weekdays.ALL_DAYS, False, walk, entered=0)],
                  enrollments=attends()),
            pupil(changes=overlapping, enrollments=attends()),
            pupil(changes=[ChangeSpec(-1, 2, weekdays.ALL_DAYS, True, walk, entered=3)],
                  enrollments=attends()),
            pupil(),
            pupil(versions=[]),
            pupil(withdrawn=-2),
        ],
        homeroom_filter=None,
    )  # fmt: skip


# Building the rows -------------------------------------------------------------------------


def _stored(model, specs: list, rows: list) -> list:
    """Write rows in one query and give each spec the id of its row."""
    rows = model.objects.bulk_create(rows)
    for spec, row in zip(specs, rows, strict=True):
        spec.pk = row.pk
    return rows


def each(students, pupils, records) -> list[tuple]:
    """(student row, record spec) for every record of every student."""
    return [
        (student, spec)
        for student, pupil in zip(students, pupils, strict=True)
        for spec in records(pupil)
    ]


def build(scenario: Scenario, school, homerooms, routes):
    """Write the scenario's rows, a few queries in all."""
    date = scenario.date
    if scenario.calendar_kind:
        CalendarDay.objects.create(
            school=school, date=date, kind=scenario.calendar_kind,
            follows_weekday=scenario.follows_weekday, dismissal_time=dt.time(12, 30),
            note="Test day",
        )  # fmt: skip
    program_rows = _stored(Program, scenario.programs, [
        Program(
            school=school, name=f"Program {n}", weekdays=spec.mask,
            starts_on=on(date, spec.starts), ends_on=on(date, spec.starts + spec.length),
            end_time=spec.end_time,
        )
        for n, spec in enumerate(scenario.programs)
    ])  # fmt: skip
    pupils = scenario.students
    students = _stored(Student, pupils, [
        Student(
            school=school, sis_id=f"P{n}", first_name="Kid", last_name=f"Number {n}", grade="2",
            enrolled_on=on(date, pupil.enrolled), withdrawn_on=on(date, pupil.withdrawn),
            homeroom=None if pupil.homeroom is None else homerooms[pupil.homeroom],
        )
        for n, pupil in enumerate(pupils)
    ])  # fmt: skip
    absent = each(students, pupils, lambda pupil: [pupil.absence] if pupil.absence else [])
    _stored(Absence, [spec for _, spec in absent], [
        Absence(
            student=student, date=date, excused=spec.excused,
            kind=Absence.Kind.EARLY_DEPARTURE if spec.early_departure else Absence.Kind.ABSENT,
            departs_at=spec.departs_at if spec.early_departure else None,
        )
        for student, spec in absent
    ])  # fmt: skip
    changes = each(students, pupils, lambda pupil: pupil.changes)
    change_rows = _stored(PlanChange, [spec for _, spec in changes], [
        PlanChange(
            student=student, starts_on=on(date, spec.starts),
            ends_on=on(date, spec.starts + spec.length), weekdays=spec.mask,
            cancelled_at=ENTERED if spec.cancelled else None, **spec.plan.fields(routes),
        )
        for student, spec in changes
    ])  # fmt: skip
    # created_at is set on insert; the entry order is written afterwards.
    for row, (_, spec) in zip(change_rows, changes, strict=True):
        row.created_at = ENTERED + dt.timedelta(minutes=spec.entered)
    PlanChange.objects.bulk_update(change_rows, ["created_at"])
    enrollments = each(students, pupils, lambda pupil: pupil.enrollments)
    _stored(Enrollment, [spec for _, spec in enrollments], [
        Enrollment(
            student=student, program=program_rows[spec.program], weekdays=spec.mask,
            starts_on=on(date, spec.starts),
            ends_on=None if spec.length is None else on(date, spec.starts + spec.length),
        )
        for student, spec in enrollments
    ])  # fmt: skip
    versions = each(students, pupils, lambda pupil: pupil.versions)
    version_rows = _stored(LongTermDefault, [spec for _, spec in versions], [
        LongTermDefault(
            student=student, starts_on=on(date, spec.starts), ends_on=on(date, spec.ends),
            cancelled_at=ENTERED if spec.cancelled else None,
        )
        for student, spec in versions
    ])  # fmt: skip
    DefaultDay.objects.bulk_create(
        DefaultDay(default=row, weekday=day, **plan.fields(routes))
        for row, (_, spec) in zip(version_rows, versions, strict=True)
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


def compare(scenario: Scenario, day: dt.date, board, seen: Counter):
    """Every row of the board for `day` against the rules, one student at a time."""
    school_day = is_school_day(scenario, day)
    assert board.is_school_day is school_day, day
    # A day without school says why; a school day says nothing of the kind.
    assert (board.no_school_reason == "") is school_day, day
    counted = {p.pk: p for p in scenario.students if is_counted(scenario, p, day)}
    assert {row.student_id for row in board.rows} == set(counted), day
    missing_rows = 0
    for row in board.rows:
        kind, layer, record_ids = expected_plan(scenario, counted[row.student_id], day)
        assert (row.plan_type, row.layer) == (kind, layer), (day, row)
        assert row.record_id in record_ids, (day, row)
        missing_rows += kind is None
        seen[layer] += 1
    assert board.missing_count == (missing_rows if school_day else 0), day
    if not school_day:
        seen["no school day"] += 1


@pytest.mark.django_db
def test_it_resolves_every_student_as_the_rules_say(places):
    """day_board for the scenario's date, and plan_days for the days around it."""
    school, homerooms, routes = places
    seen = Counter()

    # No shrinking: every example writes rows, and shrinking one takes minutes. A failure prints
    # the scenario as generated, which is small enough to read.
    @settings(max_examples=60, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
    @given(scenarios())
    @example(every_layer())
    @example(every_layer(CalendarDay.Kind.HOLIDAY))
    @example(every_layer(CalendarDay.Kind.EXTRA_SCHOOL_DAY, SATURDAY, follows_weekday=2))
    def check(scenario: Scenario):
        with transaction.atomic():
            build(scenario, school, homerooms, routes)
            hr_filter = scenario.homeroom_filter
            rooms = None if hr_filter is None else [homerooms[n].pk for n in hr_filter]
            date, week = scenario.date, dt.timedelta(days=3)

            compare(scenario, date, day_board(school, date, homeroom_ids=rooms), seen)
            span = plan_days(school, date - week, date + week, homeroom_ids=rooms)
            assert list(span) == [date + dt.timedelta(days=n) for n in range(-3, 4)]
            for day, board in span.items():
                compare(scenario, day, board, seen)
            transaction.set_rollback(True)

    check()
    # Every layer and a day without school were compared (the fixed examples make sure of it).
    assert set(seen) >= {*Layer.values, None, "no school day"}, seen
