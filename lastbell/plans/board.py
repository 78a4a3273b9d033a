"""The day board: the plan of every student of a school for a date.

This is the one place that knows plan precedence (DESIGN.md §2): absence, then change, then
program, then the long-term default, otherwise missing. It reads a constant number of queries
whatever the number of students, with plain values so that 5,000 students stay cheap.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import CharField, F, Q
from django.db.models.functions import Cast

from lastbell.attendance.models import Absence
from lastbell.people.models import Student
from lastbell.plans import weekdays
from lastbell.plans.models import (
    DefaultDay,
    Enrollment,
    Layer,
    PlanChange,
    PlanType,
    Source,
)
from lastbell.schools.models import SchoolCalendar

TYPE_LABELS = dict(PlanType.choices)
LAYER_LABELS = dict(Layer.choices)
SOURCE_LABELS = dict(Source.choices)
# Order in which the dashboard and roster list the types.
TYPE_ORDER = [
    PlanType.BUS, PlanType.PICKUP, PlanType.WALK, PlanType.BIKE, PlanType.PROGRAM,
    PlanType.EARLY_DISMISSAL, PlanType.OTHER, PlanType.ABSENCE,
]  # fmt: skip


def _time(value: dt.time | None) -> str:
    if value is None:
        return ""
    return value.strftime("%-I:%M %p").lower().replace(":00 ", " ")


def _person(first: str | None, last: str | None, email: str | None) -> str:
    name = f"{first or ''} {last or ''}".strip()
    return name or (email or "")


def _when(raw: str | None) -> dt.datetime | None:
    """The moment a plan was set, from the text the database gave (UTC when naive)."""
    if not raw:
        return None
    value = dt.datetime.fromisoformat(raw)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# Who set a row and when are read as plain text and turned into a name and a datetime only
# when shown: converting thousands of timestamps the dashboard never shows cost a third of
# the board's time.
AS_TEXT = CharField()


@dataclass(slots=True)
class BoardRow:
    student_id: int
    sis_id: str
    first_name: str
    last_name: str
    grade: str
    homeroom_id: int | None
    homeroom: str
    plan_type: str | None = None
    layer: str | None = None
    record_id: int | None = None
    bus_route_id: int | None = None
    bus_number: str = ""
    bus_name: str = ""
    program_id: int | None = None
    program_name: str = ""
    pickup: str = ""
    time: dt.time | None = None
    note: str = ""
    excused: bool | None = None
    source: str = ""
    who: tuple = (None, None, None)
    set_at_text: str | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def set_by(self) -> str:
        return _person(*self.who)

    @property
    def set_at(self) -> dt.datetime | None:
        return _when(self.set_at_text)

    @property
    def missing(self) -> bool:
        return self.plan_type is None

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.plan_type, "No plan") if self.plan_type else "No plan"

    @property
    def detail(self) -> str:
        kind = self.plan_type
        if kind is None:
            return ""
        if kind == PlanType.BUS:
            return f"Bus {self.bus_number}" + (f" — {self.bus_name}" if self.bus_name else "")
        if kind == PlanType.PICKUP:
            return f"Picked up by {self.pickup}"
        if kind == PlanType.WALK:
            return "Walks home" + (f" — {self.note}" if self.note else "")
        if kind == PlanType.BIKE:
            return "Bikes home" + (f" — {self.note}" if self.note else "")
        if kind == PlanType.PROGRAM:
            return f"{self.program_name} until {_time(self.time)}"
        if kind == PlanType.EARLY_DISMISSAL:
            return f"Early dismissal at {_time(self.time)}" + (
                f" — {self.note}" if self.note else ""
            )
        if kind == PlanType.ABSENCE:
            return "Absent, excused" if self.excused else "Absent, not excused"
        return self.note

    @property
    def layer_label(self) -> str:
        return LAYER_LABELS.get(self.layer, "") if self.layer else ""

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, "")

    @property
    def why(self) -> str:
        """A sentence that says why this plan is in effect today."""
        if self.layer is None:
            return "No absence, change, program or long-term default covers this day."
        who = self.set_by or self.source_label.lower()
        set_at = self.set_at
        when = f" on {set_at:%b %-d, %Y}" if set_at else ""
        reasons = {
            Layer.ABSENCE: "The attendance system marked the student",
            Layer.CHANGE: "A change for this day overrides the usual plan",
            Layer.PROGRAM: "The student is enrolled in this program today",
            Layer.DEFAULT: "The long-term default for this weekday",
        }
        text = reasons[self.layer]
        if self.layer == Layer.ABSENCE:
            text += " early departure" if self.plan_type == PlanType.EARLY_DISMISSAL else " absent"
        return f"{text}; set by {who}{when}."

    def export_values(self, tz) -> list[str]:
        return [
            self.sis_id, self.last_name, self.first_name, self.grade, self.homeroom,
            self.type_label, self.detail, self.bus_number, self.program_name,
            self.pickup, _time(self.time), self.layer_label, self.source_label, self.set_by,
            self.set_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if self.set_at_text else "",
        ]  # fmt: skip


EXPORT_HEADER = [
    "Student ID", "Last name", "First name", "Grade", "Homeroom", "Plan", "Detail", "Bus",
    "Program", "Picked up by", "Time", "Comes from", "Source", "Set by", "Set at",
]  # fmt: skip


@dataclass
class DayBoard:
    school: object
    date: dt.date
    is_school_day: bool
    no_school_reason: str
    rows: list[BoardRow]
    counts: Counter = field(init=False)

    def __post_init__(self):
        self.counts = Counter(row.plan_type for row in self.rows)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def missing_count(self) -> int:
        return self.counts[None] if self.is_school_day else 0

    @property
    def planned_count(self) -> int:
        return self.total - self.counts[None]

    def by_type(self) -> list[tuple[str, str, int]]:
        return [(kind, TYPE_LABELS[kind], self.counts[kind]) for kind in TYPE_ORDER]

    def groups(self, rows=None) -> list[dict]:
        """Rows grouped by dismissal method, then by bus route or program."""
        rows = self.rows if rows is None else rows
        groups = []
        for kind in [*TYPE_ORDER, None]:
            members = [row for row in rows if row.plan_type == kind]
            if not members:
                continue
            if kind == PlanType.BUS:
                sub = _subgroups(members, lambda r: (r.bus_number, f"Bus {r.bus_number}"))
            elif kind == PlanType.PROGRAM:
                sub = _subgroups(members, lambda r: (r.program_name, r.program_name))
            else:
                sub = [{"label": "", "rows": members}]
            groups.append({
                "type": kind or "missing",
                "label": TYPE_LABELS[kind] if kind else "No plan yet",
                "count": len(members),
                "subgroups": sub,
            })  # fmt: skip
        return groups

    def buses(self) -> list[tuple[str, str, int]]:
        counts = Counter(
            (row.bus_number, row.bus_name) for row in self.rows if row.plan_type == PlanType.BUS
        )
        return sorted(((n, name, c) for (n, name), c in counts.items()), key=_bus_key)

    def programs(self) -> list[tuple[str, int]]:
        counts = Counter(row.program_name for row in self.rows if row.plan_type == PlanType.PROGRAM)
        return sorted(counts.items())


def _bus_key(item):
    number = item[0]
    return (0, int(number), "") if number.isdigit() else (1, 0, number)


def _subgroups(rows, key):
    buckets: dict[tuple, list] = {}
    for row in rows:
        buckets.setdefault(key(row), []).append(row)
    ordered = sorted(buckets.items(), key=lambda kv: _bus_key(kv[0]))
    return [{"label": label, "rows": members} for (_, label), members in ordered]


_WHO = ("set_by__first_name", "set_by__last_name", "set_by__email")
_PLAN = (
    "plan_type", "bus_route_id", "bus_route__number", "bus_route__name",
    "pickup_guardian__first_name", "pickup_guardian__last_name", "pickup_name",
    "dismiss_at", "note",
)  # fmt: skip


def _apply_plan(row: BoardRow, layer, values, record_id, source, who, set_at_text):
    (kind, route_id, bus_number, bus_name, g_first, g_last, pickup_name, time, note) = values
    row.plan_type = kind
    row.layer = layer
    row.record_id = record_id
    row.bus_route_id = route_id
    row.bus_number = bus_number or ""
    row.bus_name = bus_name or ""
    row.pickup = f"{g_first} {g_last}" if g_first else pickup_name
    row.time = time
    row.note = note
    row.source = source
    row.who = who
    row.set_at_text = set_at_text


def day_board(school, date: dt.date, *, homeroom_ids=None, student_ids=None) -> DayBoard:
    """Resolve the plan of every active student of `school` on `date`.

    `homeroom_ids` limits the board to some homerooms (a teacher's own); `student_ids` to
    some students (one child's page). The queries are the same either way.
    """
    calendar = SchoolCalendar.for_school(school, date, date)
    school_day = calendar.is_school_day(date)

    students = Student.objects.filter(school=school).active_on(date)
    if homeroom_ids is not None:
        students = students.filter(homeroom_id__in=homeroom_ids)
    if student_ids is not None:
        students = students.filter(id__in=student_ids)
    rows: dict[int, BoardRow] = {}
    for sid, sis, first, preferred, last, grade, hr_id, hr_name in students.order_by(
        "last_name", "first_name", "id"
    ).values_list(
        "id", "sis_id", "first_name", "preferred_name", "last_name", "grade",
        "homeroom_id", "homeroom__name",
    ):  # fmt: skip
        rows[sid] = BoardRow(sid, sis, preferred or first, last, grade, hr_id, hr_name or "")
    reason = "" if school_day else calendar.why_not(date)
    if not school_day or not rows:
        return DayBoard(school, date, school_day, reason, list(rows.values()))

    in_school = Q(student__school=school)
    of_default = Q(default__student__school=school)
    if student_ids is not None:
        in_school &= Q(student_id__in=student_ids)
        of_default &= Q(default__student_id__in=student_ids)
    weekday = calendar.plan_weekday(date)
    day_bit = weekdays.bit(weekday)
    resolved: set[int] = set()

    # 1. Absence: always wins; an early departure with a time becomes an early dismissal.
    for sid, aid, kind, excused, departs_at, note, source, first, last, email, at in (
        Absence.objects.filter(in_school, date=date).annotate(at_text=Cast("created_at", AS_TEXT)).values_list(
            "student_id", "id", "kind", "excused", "departs_at", "reason", "source",
            "recorded_by__first_name", "recorded_by__last_name", "recorded_by__email",
            "at_text",
        )
    ):  # fmt: skip
        row = rows.get(sid)
        if row is None:
            continue
        row.layer = Layer.ABSENCE
        row.record_id = aid
        row.excused = excused
        row.source = source
        row.who = (first, last, email)
        row.set_at_text = at
        if kind == Absence.Kind.EARLY_DEPARTURE:
            row.plan_type = PlanType.EARLY_DISMISSAL
            row.time = departs_at
            row.note = note
        else:
            row.plan_type = PlanType.ABSENCE
            row.note = note
        resolved.add(sid)

    # 2. Change covering the date; of overlapping changes the one entered last wins.
    changes = (
        PlanChange.objects.filter(in_school, starts_on__lte=date, ends_on__gte=date)
        .filter(cancelled_at__isnull=True)
        .alias(on_day=F("weekdays").bitand(day_bit))
        .filter(on_day__gt=0)
        .annotate(at_text=Cast("created_at", AS_TEXT))
        .order_by("created_at", "id")
        .values_list("student_id", "id", "source", *_WHO, "at_text", *_PLAN)
    )
    for sid, cid, source, first, last, email, at, *plan in changes:
        row = rows.get(sid)
        if row is None or sid in resolved:
            continue
        _apply_plan(row, Layer.CHANGE, plan, cid, source, (first, last, email), at)
    resolved.update(row.student_id for row in rows.values() if row.layer == Layer.CHANGE)

    # 3. Program meeting that weekday, on one of the student's chosen days, inside both ranges.
    enrollments = (
        Enrollment.objects.filter(in_school)
        .in_effect_on(date)
        .filter(program__starts_on__lte=date, program__ends_on__gte=date)
        .alias(
            on_day=F("weekdays").bitand(day_bit),
            meets=F("program__weekdays").bitand(day_bit),
        )
        .filter(on_day__gt=0, meets__gt=0)
        .annotate(at_text=Cast("created_at", AS_TEXT))
        .order_by("created_at", "id")
        .values_list(
            "student_id", "id", "source", *_WHO, "at_text",
            "program_id", "program__name", "program__end_time",
        )
    )  # fmt: skip
    for sid, eid, source, first, last, email, at, program_id, program_name, end in enrollments:
        row = rows.get(sid)
        if row is None or sid in resolved:
            continue
        row.plan_type = PlanType.PROGRAM
        row.layer = Layer.PROGRAM
        row.record_id = eid
        row.program_id = program_id
        row.program_name = program_name
        row.time = end
        row.source = source
        row.who = (first, last, email)
        row.set_at_text = at
    resolved.update(row.student_id for row in rows.values() if row.layer == Layer.PROGRAM)

    # 4. Long-term default for this weekday, from the version in effect on the date.
    defaults = (
        DefaultDay.objects.filter(
            of_default,
            weekday=weekday,
            default__starts_on__lte=date,
            default__cancelled_at__isnull=True,
        )
        .filter(Q(default__ends_on__isnull=True) | Q(default__ends_on__gte=date))
        .annotate(at_text=Cast("default__created_at", AS_TEXT))
        .order_by("default__starts_on", "default_id")
        .values_list(
            "default__student_id", "default_id", "default__source",
            "default__set_by__first_name", "default__set_by__last_name",
            "default__set_by__email", "at_text", *_PLAN,
        )
    )  # fmt: skip
    for sid, did, source, first, last, email, at, *plan in defaults:
        row = rows.get(sid)
        if row is None or sid in resolved:
            continue
        _apply_plan(row, Layer.DEFAULT, plan, did, source, (first, last, email), at)

    return DayBoard(school, date, school_day, reason, list(rows.values()))
