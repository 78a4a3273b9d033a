"""Chronic absence (issue 6 §7, DESIGN.md §4): students absent 10% or more of the school days
they have been enrolled so far this school year, for any reason.

Tiers, as Attendance Works (attendanceworks.org) defines them and most states and districts
report them; the 10% line is also California's definition of a chronic absentee (Education
Code 60901(c)(1)):
    satisfactory   under 5%
    at risk        5% to under 10%
    moderate       10% to under 20%   (chronically absent)
    severe         20% or more        (chronically absent)

What counts: days absent all day, excused or not (a tardy or an early departure is not an
absence). Enrolled school days: the school days of the school's calendar (its terms, holidays,
closures and extra school days; weekdays it does not meet are left out) from the later of
the school year's first day and the student's enrollment, to the earlier of the day asked
about and their withdrawal. The school year is the truancy policy's.

A student enrolled for fewer than MIN_DAYS school days is not put in a tier yet: one absence
in a first week would be 20%.

How it counts: one GROUP BY query gives every student's absent days up to each month's end
(conditional counts, so the chart over the year comes from the same query), and two more
read every school's calendar; a student's enrolled days are then a subtraction of running
totals of school days. No query per student, whatever their number.
"""

import calendar as monthcal
import dataclasses
import datetime as dt

from django.db.models import Count, F, Q

from lastbell.people.models import Student
from lastbell.schools.models import CalendarDay, SchoolCalendar, SchoolTerm
from lastbell.truancy import tracker

MIN_DAYS = 10
# (key, label, lowest percent), worst first.
TIERS = [
    ("severe", "Severe (20% or more)", 20),
    ("moderate", "Moderate (10–19.9%)", 10),
    ("at_risk", "At risk (5–9.9%)", 5),
]
CHRONIC = ("severe", "moderate")
TIER_LABELS = {key: label for key, label, _ in TIERS}


def tier_of(absent: int, days: int) -> str | None:
    """The tier of `absent` days out of `days` enrolled, in whole numbers (no rounding)."""
    if days < MIN_DAYS:
        return None
    for key, _label, percent in TIERS:
        if absent * 100 >= percent * days:
            return key
    return None


@dataclasses.dataclass
class Row:
    student_id: int
    sis_id: str
    first_name: str
    last_name: str
    grade: str
    school_id: int
    school_name: str
    absent: int
    days: int
    tier: str

    @property
    def percent(self) -> float:
        return 100 * self.absent / self.days if self.days else 0.0

    @property
    def tier_label(self) -> str:
        return TIER_LABELS[self.tier]


@dataclasses.dataclass
class Point:
    """The counts of one moment of the year (a month's end, or the day asked about)."""

    on: dt.date
    counts: dict[str, int]
    enrolled: int  # students with MIN_DAYS school days or more by then

    @property
    def chronic(self) -> int:
        return sum(self.counts[key] for key in CHRONIC)


@dataclasses.dataclass
class SchoolTotals:
    school: object
    counts: dict[str, int]
    enrolled: int

    @property
    def chronic(self) -> int:
        return sum(self.counts[key] for key in CHRONIC)

    @property
    def chronic_percent(self) -> float:
        return 100 * self.chronic / self.enrolled if self.enrolled else 0.0


@dataclasses.dataclass
class Report:
    on: dt.date
    starts_on: dt.date
    rows: list[Row]  # students in a tier on `on`, worst first
    now: Point
    months: list[Point]
    schools: list[SchoolTotals]
    too_new: int  # enrolled, but fewer than MIN_DAYS school days so far


def _calendars(schools, start: dt.date, end: dt.date) -> dict[int, SchoolCalendar]:
    """Every school's calendar for the span, in two queries."""
    terms: dict[int, list] = {s.pk: [] for s in schools}
    days: dict[int, list] = {s.pk: [] for s in schools}
    for term in SchoolTerm.objects.filter(school__in=schools, starts_on__lte=end,
                                          ends_on__gte=start):  # fmt: skip
        terms[term.school_id].append(term)
    for day in CalendarDay.objects.filter(school__in=schools, date__gte=start, date__lte=end):
        days[day.school_id].append(day)
    return {
        s.pk: SchoolCalendar(terms[s.pk], days[s.pk],
                             {d for d in range(7) if s.regular_dismissal(d) is not None})
        for s in schools
    }  # fmt: skip


class _Running:
    """School days up to and including a date, from a table made once per school."""

    def __init__(self, calendar: SchoolCalendar, start: dt.date, end: dt.date):
        self.start = start
        self.upto: list[int] = []
        total, day = 0, start
        while day <= end:
            total += calendar.is_school_day(day)
            self.upto.append(total)
            day += dt.timedelta(days=1)

    def through(self, day: dt.date) -> int:
        index = (day - self.start).days
        if index < 0:
            return 0
        return self.upto[min(index, len(self.upto) - 1)]

    def between(self, first: dt.date, last: dt.date) -> int:
        if last < first:
            return 0
        return self.through(last) - self.through(first - dt.timedelta(days=1))


def checkpoints(start: dt.date, on: dt.date) -> list[dt.date]:
    """Each month's last day from the school year's first month, then `on` itself."""
    points, year, month = [], start.year, start.month
    while True:
        last = dt.date(year, month, monthcal.monthrange(year, month)[1])
        if last >= on:
            break
        if last >= start:
            points.append(last)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return [*points, on]


def report(*, district, school=None, on: dt.date | None = None) -> Report:
    """Chronic absence at `school`, or at every school of the district using Last Bell, on
    `on` (today in the district by default)."""
    on = on or tracker.district_today(district)
    schools = tracker.schools_in(district, school)
    groups = tracker.policies(district, schools, on)
    # The school year: the policy's (the district's, or a school's own); one start for all.
    starts_on = min(policy.year_starts_on for policy, _ in groups) if groups else on
    on = max(min(on, max(policy.year_ends_on for policy, _ in groups)), starts_on) if groups \
        else on  # fmt: skip
    points = checkpoints(starts_on, on)
    absent_all_day = Q(absences__kind="absent", absences__date__gte=starts_on) & Q(
        absences__date__gte=F("enrolled_on")
    )  # an absence before enrolling is not one here
    counts = {f"by_{n}": Count("absences", filter=absent_all_day & Q(absences__date__lte=point))
              for n, point in enumerate(points)}  # fmt: skip
    students = (
        Student.objects.filter(school__in=schools, enrolled_on__lte=on)
        .filter(Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=starts_on))
        .values("pk", "sis_id", "first_name", "last_name", "grade", "school_id", "enrolled_on",
                "withdrawn_on")
        .annotate(**counts)
        .order_by()
    )  # fmt: skip
    calendars = _calendars(schools, starts_on, on)
    running = {pk: _Running(cal, starts_on, on) for pk, cal in calendars.items()}
    names = {s.pk: s.name for s in schools}
    empty = {key: 0 for key, _label, _pct in TIERS}
    month_counts = [dict(empty) for _ in points]
    month_enrolled = [0] * len(points)
    per_school = {s.pk: SchoolTotals(s, dict(empty), 0) for s in schools}
    rows, too_new = [], 0
    last = len(points) - 1
    for student in students:
        table = running[student["school_id"]]
        first = max(student["enrolled_on"], starts_on)
        for n, point in enumerate(points):
            withdrawn = student["withdrawn_on"]
            if student["enrolled_on"] > point or (withdrawn is not None and withdrawn < point):
                continue  # not enrolled then
            days = table.between(first, point)
            absent = student[f"by_{n}"]
            if days < MIN_DAYS:
                too_new += n == last
                continue
            month_enrolled[n] += 1
            tier = tier_of(absent, days)
            if n == last:
                per_school[student["school_id"]].enrolled += 1
            if tier is None:
                continue
            month_counts[n][tier] += 1
            if n == last:
                per_school[student["school_id"]].counts[tier] += 1
                rows.append(Row(student["pk"], student["sis_id"], student["first_name"],
                                student["last_name"], student["grade"], student["school_id"],
                                names[student["school_id"]], absent, days, tier))  # fmt: skip
    rows.sort(key=lambda r: (-r.absent * 1.0 / r.days, r.last_name.lower(), r.first_name.lower()))
    months = [Point(point, month_counts[n], month_enrolled[n]) for n, point in enumerate(points)]
    while len(months) > 1 and months[0].enrolled == 0:
        months.pop(0)  # the summer before school starts: nobody to count
    return Report(on=on, starts_on=starts_on, rows=rows, now=months[-1], months=months,
                  schools=list(per_school.values()), too_new=too_new)  # fmt: skip
