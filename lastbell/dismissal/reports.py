"""Reports on the dismissals of a date range (DESIGN.md §3): how long each day's dismissal took,
late pickups week by week, the emergency days, and who picked up each student.

All read the chain of custody with a fixed number of set-based queries, whatever the number of
days or students. A release counts unless a later event undid it. Days whose events the
district's retention deleted (lastbell/privacy) count with the figures kept on the day.
"""

import dataclasses
import datetime as dt
from collections import Counter, defaultdict

from django.db.models import Count, F, Max, Min, Q

from lastbell.dismissal.models import CustodyEvent, DismissalDay
from lastbell.people.models import Student

Kind = CustodyEvent.Kind


def releases(school, start: dt.date, end: dt.date):
    """The school's releases from `start` to `end` (inclusive) that were not undone."""
    return CustodyEvent.objects.filter(
        day__school=school, day__date__range=(start, end), kind=Kind.RELEASED,
        undone_by__isnull=True,
    )  # fmt: skip


def _minutes(delta: dt.timedelta) -> int:
    return round(delta.total_seconds() / 60)


@dataclasses.dataclass(frozen=True)
class DayCompletion:
    date: dt.date
    mode: str
    dismiss_at: dt.time
    first: dt.datetime  # in the school's time zone
    last: dt.datetime
    released: int
    late: int

    @property
    def minutes(self) -> int:
        """From the first release to the last."""
        return _minutes(self.last - self.first)

    @property
    def last_after_bell(self) -> int:
        """Minutes from the bell to the last release (negative: before the bell)."""
        bell = dt.datetime.combine(self.date, self.dismiss_at, tzinfo=self.last.tzinfo)
        return _minutes(self.last - bell)

    @property
    def mode_label(self) -> str:
        return DismissalDay.Mode(self.mode).label


def purged_days(school, start: dt.date, end: dt.date):
    """The days of the range whose events are gone, each with its kept counts."""
    return DismissalDay.objects.filter(
        school=school, date__range=(start, end), events_purged_at__isnull=False
    )


def releases_per_day(school, start: dt.date, end: dt.date):
    """Each day's releases from its events: first, last, how many, how many late."""
    return (
        releases(school, start, end)
        .values("day__date", "day__mode", "day__dismiss_at")
        .annotate(first=Min("at"), last=Max("at"), released=Count("id"),
                  late=Count("id", filter=Q(late=True)))
        .order_by("day__date")
    )  # fmt: skip


def completion_by_day(school, start: dt.date, end: dt.date) -> list[DayCompletion]:
    """Each day with a release: its first and last release, oldest day first. Two queries."""
    tz = school.tz
    rows = releases_per_day(school, start, end)
    days = [
        DayCompletion(
            date=row["day__date"],
            mode=row["day__mode"],
            dismiss_at=row["day__dismiss_at"],
            first=row["first"].astimezone(tz),
            last=row["last"].astimezone(tz),
            released=row["released"],
            late=row["late"],
        )  # fmt: skip
        for row in rows
    ]
    kept = purged_days(school, start, end).filter(released_count__gt=0)
    days += [
        DayCompletion(date=day.date, mode=day.mode, dismiss_at=day.dismiss_at,
                      first=day.first_release_at.astimezone(tz),
                      last=day.last_release_at.astimezone(tz),
                      released=day.released_count, late=day.released_late_count)
        for day in kept
    ]  # fmt: skip
    return sorted(days, key=lambda d: d.date)


@dataclasses.dataclass(frozen=True)
class WeekLate:
    year: int
    week: int
    monday: dt.date
    released_late: int  # released after the bell plus the grace minutes
    flagged: int  # still on campus at that moment: flagged late, guardians told

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"


def late_per_day(school, start: dt.date, end: dt.date):
    """Late releases and late flags of each day of the range that has any, from its events."""
    return (
        CustodyEvent.objects.filter(day__school=school, day__date__range=(start, end),
                                    undone_by__isnull=True)
        .filter(Q(kind=Kind.RELEASED, late=True) | Q(kind=Kind.LATE))
        .values("day__date")
        .annotate(released_late=Count("id", filter=Q(kind=Kind.RELEASED)),
                  flagged=Count("id", filter=Q(kind=Kind.LATE)))
        .order_by()
    )  # fmt: skip


def late_by_week(school, start: dt.date, end: dt.date) -> list[WeekLate]:
    """Every ISO week of the range, oldest first, with its late releases and late flags (zero
    for a week without any). Two queries, folded by week here."""
    per_day = late_per_day(school, start, end)
    totals: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    kept = purged_days(school, start, end).values_list(
        "date", "released_late_count", "flagged_late_count"
    )
    for date, released_late, flagged in [
        *((r["day__date"], r["released_late"], r["flagged"]) for r in per_day),
        *kept,
    ]:
        year, week, _weekday = date.isocalendar()
        totals[year, week][0] += released_late
        totals[year, week][1] += flagged
    weeks = []
    monday = start - dt.timedelta(days=start.weekday())
    while monday <= end:
        year, week, _weekday = monday.isocalendar()
        released_late, flagged = totals.get((year, week), (0, 0))
        weeks.append(WeekLate(year, week, monday, released_late, flagged))
        monday += dt.timedelta(days=7)
    return weeks


def emergency_days(school, start: dt.date, end: dt.date):
    """The days of the range run in emergency mode, newest first, with their releases."""
    return (
        DismissalDay.objects.filter(school=school, date__range=(start, end),
                                    mode=DismissalDay.Mode.EMERGENCY)
        .select_related("emergency_by", "emergency_ended_by")
        .annotate(released=Count("events", filter=Q(events__kind=Kind.RELEASED,
                                                    events__undone_by__isnull=True))
                  + F("released_count"))
        .order_by("-date")
    )  # fmt: skip


def students_matching(school, q: str):
    """The school's students (withdrawn ones too: this is history) whose name or id matches
    every word of `q`."""
    students = Student.objects.filter(school=school)
    for word in q.split():
        students = students.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word)
            | Q(preferred_name__icontains=word) | Q(sis_id__istartswith=word)
        )  # fmt: skip
    return students


def picked_up_students(school, start: dt.date, end: dt.date, q: str = ""):
    """The students released at least once in the range (and matching `q`), by name: to
    paginate before `pickups_of` reads the page's releases."""
    released = releases(school, start, end).values("student_id")
    return (
        students_matching(school, q)
        .filter(pk__in=released)
        .order_by("last_name", "first_name", "pk")
    )


@dataclasses.dataclass
class StudentPickups:
    student: Student
    events: list[CustodyEvent]

    @property
    def by_whom(self) -> list[tuple[str, int]]:
        """Who took the student, most often first: ("Maria Lopez", 12)."""
        return Counter(e.to_label or e.get_to_display() for e in self.events).most_common()


def pickups_of(school, students, start: dt.date, end: dt.date) -> list[StudentPickups]:
    """Each student's releases in the range, oldest first. One query for all the students."""
    students = list(students)
    found: dict[int, list[CustodyEvent]] = defaultdict(list)
    events = (
        releases(school, start, end).filter(student_id__in=[s.pk for s in students])
        .select_related("day", "by").order_by("day__date", "at", "id")
    )  # fmt: skip
    for event in events:
        found[event.student_id].append(event)
    return [StudentPickups(s, found[s.pk]) for s in students]


def pickup_rows(school, start: dt.date, end: dt.date, q: str = ""):
    """Every release of the range for the CSV, by student then date. One query."""
    return (
        releases(school, start, end)
        .filter(student__in=students_matching(school, q))
        .select_related("student", "day", "by")
        .order_by("student__last_name", "student__first_name", "student_id", "day__date", "at")
    )
