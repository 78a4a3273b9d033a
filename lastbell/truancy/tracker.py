"""The truancy tracker: who is due for which letter, computed from the attendance itself.

This is the one place that counts toward truancy (DESIGN.md §4). Nothing is stored: every
call counts again in the database, so asking twice gives the same answer and an absence
excused after the fact drops out of the count by itself.

    rows = tracker.due(district=district, school=school, level=1, on=today)

A letter of level n is due when the student's count in the school year reaches the policy's
threshold for n and their highest letter already issued that year (not voided) is n - 1:
levels go in order, so a student who jumped from 2 to 7 counts is due for letter 1 now and
for letter 2 once letter 1 is issued (`reached` says how far the count goes).

How it counts: one GROUP BY query per distinct policy in play (the district's and each
school override among the schools asked about), joining the students of those schools to
their counted attendance rows of the window, HAVING the count at the threshold; letters
already issued are an EXISTS / NOT EXISTS on the letters table. The counted dates come from
one more query per policy, for the rows wanted (see `attach_dates`). No query per student.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.db.models import Aggregate, Count, Exists, OuterRef, Q, TextField, Value

import lastbell.db  # noqa: F401 — registers the in_array lookup
from lastbell.attendance.models import Absence
from lastbell.people.models import Student
from lastbell.schools.models import District, School
from lastbell.truancy.models import Letter, TruancyPolicy

# Student ids per query, under SQLite's limit on parameters.
_IDS_PER_QUERY = 10_000


@dataclass
class DueRow:
    """A student due for a letter, and why."""

    student_id: int
    sis_id: str
    first_name: str
    last_name: str
    grade: str
    school_id: int
    school_name: str
    count: int  # counted days in the school year so far
    reached: int  # the highest level the count reaches
    issued: int  # the highest level already issued this school year (0: none)
    policy: TruancyPolicy
    dates: list[dt.date] = field(default_factory=list)  # the counted days, oldest first

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def district_today(district: District) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(district.timezone)).date()


def policies(district: District, schools: list[School], on: dt.date):
    """[(policy, schools)] for these schools of the district: each school's override, else
    the district's policy, else the California default. One query."""
    saved = list(
        TruancyPolicy.objects.filter(district=district).filter(
            Q(school__isnull=True) | Q(school__in=[s.pk for s in schools])
        )
    )
    district_policy = next((p for p in saved if p.school_id is None), None)
    district_policy = district_policy or TruancyPolicy.california(district, on)
    overrides = {p.school_id: p for p in saved if p.school_id is not None}
    groups: dict[int | None, tuple[TruancyPolicy, list[School]]] = {}
    for school in schools:
        policy = overrides.get(school.pk, district_policy)
        groups.setdefault(policy.pk, (policy, []))[1].append(school)
    return list(groups.values())


def policy_for(school: School, on: dt.date | None = None) -> TruancyPolicy:
    """The policy that applies at `school`."""
    on = on or district_today(school.district)
    ((policy, _),) = policies(school.district, [school], on)
    return policy


def schools_in(district: District, school: School | None) -> list[School]:
    """`school` (checked to be the district's), or the district's schools using Last Bell."""
    return _schools(district, school)


def _schools(district: District, school: School | None) -> list[School]:
    if school is not None:
        if school.district_id != district.pk:
            raise ValueError("The school is not in this district.")
        return [school]
    # District-wide: the schools using Last Bell (a school that has not enabled it shows
    # none of it, DESIGN.md §1).
    return list(School.objects.filter(district=district, tracker_enabled=True).order_by("pk"))


def due(*, district: District, level: int, school: School | None = None,
        on: dt.date | None = None, with_dates: bool = True) -> list[DueRow]:  # fmt: skip
    """Students due for letter `level` (from 1) at `school`, or at every school of the
    district, on `on` (today in the district by default), ordered by name.

    `with_dates=False` leaves `dates` empty (a page fills only the rows it shows, with
    `attach_dates`). Students not enrolled on `on` are left out.
    """
    if level < 1:
        raise ValueError("Letter levels start at 1.")
    on = on or district_today(district)
    tz = zoneinfo.ZoneInfo(district.timezone)
    rows: list[DueRow] = []
    for policy, schools in policies(district, _schools(district, school), on):
        rows += _due_under(policy, schools, level, on, tz, with_dates)
    rows.sort(key=lambda r: (r.last_name.lower(), r.first_name.lower(), r.student_id))
    return rows


def _due_under(policy: TruancyPolicy, schools: list[School], level: int, on: dt.date, tz,
               with_dates: bool):  # fmt: skip
    threshold = policy.threshold(level)
    start, end = policy.window(on)
    if threshold is None or end < start:
        return []
    letters = Letter.objects.in_force(policy.year_starts_on, policy.year_ends_on, tz).filter(
        student=OuterRef("pk")
    )
    counted = Q(absences__date__gte=start, absences__date__lte=end) & policy.counted(
        "absences__"
    )  # one condition, one join: the count is of the counted rows only
    query = Student.objects.filter(school_id__in=[s.pk for s in schools]).active_on(on)
    query = query.filter(counted).filter(~Exists(letters.filter(level__gte=level)))
    if level > 1:
        query = query.filter(Exists(letters.filter(level=level - 1)))
    found = (
        query.values("pk", "sis_id", "first_name", "last_name", "grade", "school_id")
        .annotate(n=Count("absences"), days=_Days("absences__date") if with_dates else Value(""))
        .filter(n__gte=threshold)
        .order_by()
        .values_list("pk", "sis_id", "first_name", "last_name", "grade", "school_id", "n", "days")
    )
    names = {s.pk: s.name for s in schools}
    return [
        DueRow(pk, sis, first, last, grade, school_id, names[school_id], n,
               reached=policy.reached(n), issued=level - 1, policy=policy,
               dates=sorted(map(dt.date.fromisoformat, days.split(","))) if days else [])
        for pk, sis, first, last, grade, school_id, n, days in found
    ]  # fmt: skip


class _Days(Aggregate):
    """The counted days of each student as "YYYY-MM-DD,…", from the rows the count counts:
    the dates come with the count, not from a second pass over the year's attendance."""

    function = "GROUP_CONCAT"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="STRING_AGG",
                           template="%(function)s(%(expressions)s::text, ',')",
                           **extra_context)  # fmt: skip


def attach_dates(rows: list[DueRow], *, on: dt.date) -> list[DueRow]:
    """Fill each row's counted dates: one query per policy among the rows (per 10,000
    students), whatever their number of days."""
    by_policy: dict[int, tuple[TruancyPolicy, list[DueRow]]] = {}
    for row in rows:
        row.dates = []
        by_policy.setdefault(id(row.policy), (row.policy, []))[1].append(row)
    for policy, group in by_policy.values():
        start, end = policy.window(on)
        by_student = {row.student_id: row for row in group}
        ids = sorted(by_student)
        for first in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[first : first + _IDS_PER_QUERY]
            found = (
                # One array parameter on PostgreSQL: one index probe per student, and a
                # statement that does not grow with them (lastbell/db.py).
                Absence.objects.filter(
                    policy.counted(), student_id__in_array=chunk, date__gte=start, date__lte=end
                )
                .order_by("student_id", "date")
                .values_list("student_id", "date")
            )
            for student_id, date in found:
                by_student[student_id].dates.append(date)
    return rows


def standing(student: Student, on: dt.date | None = None) -> tuple[TruancyPolicy, list[dt.date]]:
    """The policy at the student's school and the days that count for them so far this
    school year (for the student's page)."""
    on = on or district_today(student.school.district)
    policy = policy_for(student.school, on)
    start, end = policy.window(on)
    dates = list(
        Absence.objects.filter(policy.counted(), student=student, date__gte=start,
                               date__lte=end)
        .order_by("date").values_list("date", flat=True)
    )  # fmt: skip
    return policy, dates


@dataclass
class ReviewRow:
    """A letter in force whose student's count is now below the count it was issued at
    (an absence excused or corrected since): staff keep it or void it."""

    letter: Letter
    count: int  # counted days now
    needed: int  # the letter's threshold
    no_longer: list[dt.date]  # days the letter named that no longer count


def for_review(*, district: District, school: School | None = None,
               on: dt.date | None = None) -> list[ReviewRow]:  # fmt: skip
    """Letters of this school year (not voided, not yet reviewed) whose student's count fell
    below the letter's threshold. Per policy: one query of the letters with their current
    count as a subquery, one for the dates that still count. Oldest letter first."""
    from django.db.models import Case, F, IntegerField, OuterRef, Subquery, Value, When
    from django.db.models.functions import Coalesce

    on = on or district_today(district)
    tz = zoneinfo.ZoneInfo(district.timezone)
    rows: list[ReviewRow] = []
    for policy, schools in policies(district, _schools(district, school), on):
        start, end = policy.window(on)
        counted = (
            Absence.objects.filter(policy.counted(), student=OuterRef("student_id"),
                                   date__gte=start, date__lte=end)
            .order_by().values("student").annotate(n=Count("pk")).values("n")
        )  # fmt: skip
        # Letters made before thresholds were recorded fall back on the policy's.
        by_policy = Case(*[When(level=n, then=Value(policy.threshold(n)))
                           for n in range(1, policy.level_count + 1)],
                         default=Value(10_000), output_field=IntegerField())  # fmt: skip
        letters = list(
            Letter.objects.in_force(policy.year_starts_on, policy.year_ends_on, tz)
            .filter(school__in=schools, reviewed_at__isnull=True)
            .annotate(now=Coalesce(Subquery(counted), 0),
                      needed=Coalesce(F("threshold"), by_policy))
            .filter(now__lt=F("needed"))
            .select_related("student", "school", "issued_by")
            .order_by("issued_at", "pk")
        )  # fmt: skip
        still: dict[int, set[dt.date]] = {}
        found = Absence.objects.filter(
            policy.counted(), student_id__in={lt.student_id for lt in letters},
            date__gte=start, date__lte=end,
        ).values_list("student_id", "date")  # fmt: skip
        for student_id, date in found:
            still.setdefault(student_id, set()).add(date)
        rows += [
            ReviewRow(letter, letter.now, letter.needed,
                      [d for d in letter.counted_dates() if d not in still.get(letter.student_id,
                                                                                set())])
            for letter in letters
        ]  # fmt: skip
    rows.sort(key=lambda row: (row.letter.issued_at, row.letter.pk))
    return rows
