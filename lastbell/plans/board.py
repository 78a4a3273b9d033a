"""The day board: the plan of every student of a school for a date.

This is the one place that knows plan precedence (DESIGN.md §2): absence, then change, then
program, then the long-term default, otherwise missing. It reads a constant number of queries
whatever the number of students, with plain values so that 5,000 students stay cheap.
"""

import copy
import datetime as dt
import threading
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter

from django.conf import settings
from django.db import connection
from django.db.models import CharField, F, Q
from django.db.models.functions import Cast
from django.utils import formats
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from lastbell.attendance.models import Absence
from lastbell.people.models import Student
from lastbell.plans import stamps, weekdays
from lastbell.plans.models import (
    DefaultDay,
    Enrollment,
    Layer,
    PlanChange,
    PlanType,
    Source,
)
from lastbell.recent import Recent
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
        return str(
            TYPE_LABELS.get(self.plan_type, _("No plan")) if self.plan_type else _("No plan")
        )

    @property
    def detail(self) -> str:
        kind = self.plan_type
        if kind is None:
            return ""
        note = f" — {self.note}" if self.note else ""
        if kind == PlanType.BUS:
            return _("Bus %(number)s") % {"number": self.bus_number} + (
                f" — {self.bus_name}" if self.bus_name else ""
            )
        if kind == PlanType.PICKUP:
            return _("Picked up by %(name)s") % {"name": self.pickup}
        if kind == PlanType.WALK:
            return _("Walks home") + note
        if kind == PlanType.BIKE:
            return _("Bikes home") + note
        if kind == PlanType.PROGRAM:
            return _("%(program)s until %(time)s") % {
                "program": self.program_name, "time": _time(self.time),
            }  # fmt: skip
        if kind == PlanType.EARLY_DISMISSAL:
            return _("Early dismissal at %(time)s") % {"time": _time(self.time)} + note
        if kind == PlanType.ABSENCE:
            return _("Absent, excused") if self.excused else _("Absent, not excused")
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
            return _("No absence, change, program or long-term default covers this day.")
        who = self.set_by or str(self.source_label).lower()
        set_at = self.set_at
        reasons = {
            Layer.ABSENCE: _("The attendance system marked the student absent"),
            Layer.CHANGE: _("A change for this day overrides the usual plan"),
            Layer.PROGRAM: _("The student is enrolled in this program today"),
            Layer.DEFAULT: _("The long-term default for this weekday"),
        }
        text = reasons[self.layer]
        if self.layer == Layer.ABSENCE and self.plan_type == PlanType.EARLY_DISMISSAL:
            text = _("The attendance system marked the student early departure")
        if set_at:
            day = formats.date_format(set_at, "M j, Y")
            return _("%(reason)s; set by %(who)s on %(day)s.") % {
                "reason": text, "who": who, "day": day,
            }  # fmt: skip
        return _("%(reason)s; set by %(who)s.") % {"reason": text, "who": who}

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


def _text(field: str) -> Cast:
    # Dates as ISO text compare correctly as strings and skip per-row conversion.
    return Cast(field, AS_TEXT)


def day_board(school, date: dt.date, *, homeroom_ids=None, student_ids=None) -> DayBoard:
    """Resolve the plan of every active student of `school` on `date`.

    `homeroom_ids` limits the board to some homerooms (a teacher's own); `student_ids` to
    some students (one child's page).

    A whole school's board is reused while the school's stamp (stamps.py) is unchanged: at
    dismissal every screen of a school asks for the same board, and any write to what the
    board reads changes the stamp in its own transaction, so a reused board is never stale.
    """
    stamp = stamps.current(school.id)
    if stamp is not None:
        # Some students' board (a family's, one student's) is cut from the school's when
        # that one is at hand already, as it is all through dismissal; it is not worth
        # resolving the whole school for them otherwise.
        board = (reused_board(school, date, stamp) if student_ids is None
                 else cached_board(school, date, stamp))  # fmt: skip
        if board is not None:
            rooms = None if homeroom_ids is None else set(homeroom_ids)
            pupils = None if student_ids is None else set(student_ids)
            if rooms is None and pupils is None:
                return board
            rows = [row for row in board.rows
                    if (rooms is None or row.homeroom_id in rooms)
                    and (pupils is None or row.student_id in pupils)]  # fmt: skip
            return DayBoard(school, date, board.is_school_day, board.no_school_reason, rows)
    boards = plan_days(school, date, date, homeroom_ids=homeroom_ids, student_ids=student_ids)
    return boards[date]


class ReuseCache:
    """The last few resolved boards (or anything else made from them) of this process, by
    school, date and stamp.

    When a stamp moves, every open screen of the school asks for the new board at once; one
    request resolves it and the others wait for that one (`resolved`), rather than each
    resolving the same board side by side, each slower for the others."""

    def __init__(self, size: int, idle_seconds: float | None = None):
        if idle_seconds is None:
            idle_seconds = settings.LASTBELL_CACHE_IDLE_MINUTES * 60
        self.boards = Recent(size, idle_seconds)
        self.lock = threading.Lock()
        self.resolving: dict[tuple, threading.Lock] = {}
        self.resolutions = 0  # boards resolved by this process (the tests count them)

    def resolved(self, key, resolve) -> DayBoard:
        """The board under `key`, from `resolve()` by one thread at a time."""
        board = self.get(key)
        if board is not None:
            return board
        with self.lock:
            flight = self.resolving.setdefault(key, threading.Lock())
        with flight:
            board = self.get(key)  # resolved by the thread this one waited for
            if board is None:
                try:
                    board = resolve()
                    self.resolutions += 1
                    self.put(key, board)
                finally:
                    with self.lock:
                        self.resolving.pop(key, None)
        return board

    def get(self, key):
        return self.boards.get(key)

    def put(self, key, board):
        self.boards.put(key, board)

    def clear(self):
        self.boards.clear()


# A 5,000-student board is about 2 MB; a few dozen cover every school of a district today.
board_cache = ReuseCache(size=3 * settings.LASTBELL_CACHED_DAYS)


def _board_key(school, date, stamp) -> tuple:
    return (connection.alias, connection.settings_dict["NAME"], school.id, date, *stamp)


def cached_board(school, date, stamp) -> DayBoard | None:
    """The school's whole board under `stamp` if this process has it at hand, else None."""
    board = board_cache.get(_board_key(school, date, stamp))
    if board is None:
        return None
    board = copy.copy(board)
    board.school = school
    return board


def reused_board(school, date, stamp) -> DayBoard:
    """The school's whole board under `stamp` (stamps.current), resolved once for everyone."""
    key = _board_key(school, date, stamp)
    board = board_cache.resolved(key, lambda: plan_days(school, date, date)[date])
    # Rows are shared and never changed by readers; the school is the caller's.
    board = copy.copy(board)
    board.school = school
    return board


def plan_days(
    school, start: dt.date, end: dt.date, *, homeroom_ids=None, student_ids=None
) -> dict[dt.date, DayBoard]:
    """The day board of every date from `start` to `end`, from one set of queries.

    A child's coming days and a month's calendar read many days at once; the dashboard reads
    one. Either way the number of queries does not depend on students or days.
    """
    calendar = SchoolCalendar.for_school(school, start, end)
    dates = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    school_dates = [date for date in dates if calendar.is_school_day(date)]

    students = Student.objects.filter(school=school, enrolled_on__lte=end).filter(
        Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=start)
    )
    if homeroom_ids is not None:
        students = students.filter(homeroom_id__in=homeroom_ids)
    if student_ids is not None:
        students = students.filter(id__in=student_ids)
    roster = list(
        students.annotate(since=_text("enrolled_on"), until=_text("withdrawn_on"))
        .order_by("last_name", "first_name", "id")
        .values_list(
            "id", "sis_id", "first_name", "preferred_name", "last_name", "grade",
            "homeroom_id", "homeroom__name", "since", "until",
        )
    )  # fmt: skip

    layers = _Layers(school, school_dates, calendar, student_ids) if roster else None
    open_days = set(school_dates)
    boards = {}
    for date in dates:
        iso = date.isoformat()
        rows = [
            BoardRow(sid, sis, preferred or first, last, grade, hr_id, hr_name or "")
            for sid, sis, first, preferred, last, grade, hr_id, hr_name, since, until in roster
            if since <= iso and (until is None or until >= iso)
        ]
        school_day = date in open_days
        if school_day and layers is not None:
            layers.resolve(date, rows)
        # Lazy: the sentence is written in the reader's language, and a board is shared.
        reason = "" if school_day else lazy(calendar.why_not, str)(date)
        boards[date] = DayBoard(school, date, school_day, reason, rows)
    return boards


class _Layers:
    """The absences, changes, enrollments and defaults of a span, fetched once."""

    def __init__(self, school, school_dates, calendar, student_ids):
        self.calendar = calendar
        if not school_dates:
            self.absences = self.changes = self.enrollments = self.defaults = []
            return
        first, last = school_dates[0], school_dates[-1]
        one_day = first == last
        in_school = Q(student__school=school)
        of_default = Q(default__student__school=school)
        if student_ids is not None:
            in_school &= Q(student_id__in=student_ids)
            of_default &= Q(default__student_id__in=student_ids)

        self.absences = list(
            Absence.objects.filter(in_school, date__gte=first, date__lte=last)
            .exclude(kind=Absence.Kind.TARDY)  # a tardy student is at school: the plan stands
            .annotate(day=_text("date"), at_text=_text("created_at"))
            .values_list(
                "day", "student_id", "id", "kind", "excused", "departs_at", "reason",
                "source", "recorded_by__first_name", "recorded_by__last_name",
                "recorded_by__email", "at_text",
            )
        )  # fmt: skip

        changes = PlanChange.objects.filter(
            in_school, starts_on__lte=last, ends_on__gte=first, cancelled_at__isnull=True
        )
        enrollments = (
            Enrollment.objects.filter(in_school, starts_on__lte=last)
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=first))
            .filter(program__starts_on__lte=last, program__ends_on__gte=first)
        )
        defaults = DefaultDay.objects.filter(
            of_default, default__starts_on__lte=last, default__cancelled_at__isnull=True
        ).filter(Q(default__ends_on__isnull=True) | Q(default__ends_on__gte=first))
        if one_day:
            # One date (the dashboard): let the database drop other weekdays' rows too.
            day_bit = weekdays.bit(calendar.plan_weekday(first))
            changes = changes.alias(on_day=F("weekdays").bitand(day_bit)).filter(on_day__gt=0)
            enrollments = enrollments.alias(
                on_day=F("weekdays").bitand(day_bit), meets=F("program__weekdays").bitand(day_bit)
            ).filter(on_day__gt=0, meets__gt=0)
            defaults = defaults.filter(weekday=calendar.plan_weekday(first))

        self.changes = list(
            changes.annotate(at_text=_text("created_at"), since=_text("starts_on"),
                             until=_text("ends_on"))
            .order_by("created_at", "id")
            .values_list("since", "until", "weekdays", "student_id", "id", "source", *_WHO,
                         "at_text", *_PLAN)
        )  # fmt: skip
        self.enrollments = list(
            enrollments.annotate(
                at_text=_text("created_at"), since=_text("starts_on"), until=_text("ends_on"),
                p_since=_text("program__starts_on"), p_until=_text("program__ends_on"),
            )
            .order_by("created_at", "id")
            .values_list(
                "since", "until", "weekdays", "p_since", "p_until", "program__weekdays",
                "student_id", "id", "source", *_WHO, "at_text",
                "program_id", "program__name", "program__end_time",
            )
        )  # fmt: skip
        self.defaults = list(
            defaults.annotate(
                at_text=_text("default__created_at"), since=_text("default__starts_on"),
                until=_text("default__ends_on"),
            )
            .order_by()
            .values_list(
                "weekday", "since", "until", "default__student_id", "default_id",
                "default__source", "default__set_by__first_name",
                "default__set_by__last_name", "default__set_by__email", "at_text", *_PLAN,
            )
        )  # fmt: skip
        # The newest version wins should two overlap; sorting here is cheaper than in SQL.
        self.defaults.sort(key=itemgetter(1, 4))

    def resolve(self, date: dt.date, rows: list[BoardRow]):
        """Give each row its plan for `date`: the precedence of DESIGN.md §2, in one place."""
        iso = date.isoformat()
        weekday = self.calendar.plan_weekday(date)
        day_bit = weekdays.bit(weekday)

        absent = {rec[1]: rec for rec in self.absences if rec[0] == iso}
        # Later entries overwrite earlier ones: of overlapping changes the newest wins.
        change_for = {
            rec[3]: rec for rec in self.changes if rec[0] <= iso <= rec[1] and rec[2] & day_bit
        }
        program_for = {
            rec[6]: rec
            for rec in self.enrollments
            if rec[0] <= iso and (rec[1] is None or rec[1] >= iso)
            and rec[3] <= iso <= rec[4] and rec[2] & day_bit and rec[5] & day_bit
        }  # fmt: skip
        default_for = {
            rec[3]: rec
            for rec in self.defaults
            if rec[0] == weekday and rec[1] <= iso and (rec[2] is None or rec[2] >= iso)
        }

        for row in rows:
            sid = row.student_id
            if (rec := absent.get(sid)) is not None:
                # 1. Absence always wins; an early departure with a time is an early dismissal.
                _, _, aid, kind, excused, departs_at, note, source, *who, at = rec
                row.layer = Layer.ABSENCE
                row.record_id = aid
                row.excused = excused
                row.source = source
                row.who = tuple(who)
                row.set_at_text = at
                row.note = note
                if kind == Absence.Kind.EARLY_DEPARTURE:
                    row.plan_type = PlanType.EARLY_DISMISSAL
                    row.time = departs_at
                else:
                    row.plan_type = PlanType.ABSENCE
            elif (rec := change_for.get(sid)) is not None:
                # 2. A change covering the date.
                _, _, _, _, cid, source, first, last, email, at, *plan = rec
                _apply_plan(row, Layer.CHANGE, plan, cid, source, (first, last, email), at)
            elif (rec := program_for.get(sid)) is not None:
                # 3. A program meeting that weekday on one of the student's chosen days.
                *_, eid, source, first, last, email, at, program_id, name, end = rec
                row.plan_type = PlanType.PROGRAM
                row.layer = Layer.PROGRAM
                row.record_id = eid
                row.program_id = program_id
                row.program_name = name
                row.time = end
                row.source = source
                row.who = (first, last, email)
                row.set_at_text = at
            elif (rec := default_for.get(sid)) is not None:
                # 4. The long-term default for this weekday, from the version in effect.
                _, _, _, _, did, source, first, last, email, at, *plan = rec
                _apply_plan(row, Layer.DEFAULT, plan, did, source, (first, last, email), at)
            # otherwise: missing
