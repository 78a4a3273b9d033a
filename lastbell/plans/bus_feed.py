"""The bus feed: bus assignments from the transportation system, per school (DESIGN.md §2
"Who set it", issue 4 §4).

The feed is the whole truth for the defaults it made (source "import"), and nothing more:
- a student with no default, or with a default the feed made, gets the feed's buses;
- a default set by staff or a guardian is never overwritten (reported as kept);
- a student who leaves the feed loses the default the feed made;
- routes can differ by weekday ("bus 12 Mon–Wed, bus 7 Thu–Fri").

Set-based: a feed of thousands of students reads a handful of queries and writes in bulk,
with one audit event per changed student, in one transaction. A dry run computes the same
report and writes nothing.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from lastbell import live
from lastbell.audit.models import Via
from lastbell.audit.services import audit_records
from lastbell.people.models import Student
from lastbell.plans import weekdays
from lastbell.plans.models import DefaultDay, LongTermDefault, PlanType, Source
from lastbell.schools.models import BusRoute


@dataclass
class Assignment:
    row: int  # the row or item number in the feed, for the report
    student_id: str  # the SIS id
    bus: str
    route_name: str = ""
    weekdays: int = weekdays.SCHOOL_WEEK


@dataclass
class FeedReport:
    created: list[str] = field(default_factory=list)  # SIS ids
    updated: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (SIS id, why)
    ended: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (row, SIS id, why)
    routes_created: list[str] = field(default_factory=list)
    applied: bool = False

    def counts(self) -> dict:
        names = ("created", "updated", "kept", "ended", "rejected", "routes_created")
        return {name: len(getattr(self, name)) for name in names}


def _days_of(version) -> dict[int, str]:
    return {day.weekday: day.bus_route.number for day in version.days.all()
            if day.plan_type == PlanType.BUS and day.bus_route_id}  # fmt: skip


def bus_feed_apply(
    *, school, assignments: Iterable[Assignment], starts_on: dt.date | None = None,
    apply: bool = False, source_detail: str = "bus feed", actor=None, via=Via.IMPORT,
) -> FeedReport:  # fmt: skip
    """Compare the feed with the school's defaults from `starts_on` (the school's today by
    default; never earlier: past days keep their plan) and, with `apply`, make it so."""
    report = FeedReport()
    today = school.today()
    starts_on = max(starts_on or today, today)
    students = {
        s.sis_id: s
        for s in Student.objects.filter(school=school).active_on(starts_on)
    }  # fmt: skip

    # What the feed wants: per student, a bus per weekday.
    wanted: dict[str, dict[int, str]] = {}
    names: dict[str, str] = {}
    for item in assignments:
        sis, bus = item.student_id.strip(), item.bus.strip()
        if sis not in students:
            report.rejected.append((item.row, sis, f"no student with id {sis} at {school.name}"))
            continue
        if not bus:
            report.rejected.append((item.row, sis, "no bus number"))
            continue
        if not item.weekdays or item.weekdays & ~weekdays.ALL_DAYS:
            report.rejected.append((item.row, sis, "no weekday it applies to"))
            continue
        days = wanted.setdefault(sis, {})
        clash = [d for d in weekdays.days_of(item.weekdays) if days.get(d, bus) != bus]
        if clash:
            on = weekdays.label(weekdays.mask_of(clash))
            report.rejected.append(
                (item.row, sis, f"another row gives this student a different bus on {on}")
            )
            continue
        days.update(dict.fromkeys(weekdays.days_of(item.weekdays), bus))
        if item.route_name and bus not in names:
            names[bus] = item.route_name.strip()

    # What the school has: the version in effect on the start day, and any scheduled later.
    versions = (
        LongTermDefault.objects.filter(student__school=school, cancelled_at__isnull=True)
        .exclude(ends_on__lt=starts_on)
        .select_related("student")
        .prefetch_related("days__bus_route")
        .order_by("starts_on", "id")
    )
    current: dict[int, LongTermDefault] = {}
    later: dict[int, list[LongTermDefault]] = {}
    for version in versions:
        if version.starts_on <= starts_on:
            current[version.student_id] = version  # the newest wins, as on the board
        else:
            later.setdefault(version.student_id, []).append(version)

    to_create: list[tuple[Student, dict[int, str]]] = []
    to_close: list[LongTermDefault] = []
    for sis, days in wanted.items():
        student = students[sis]
        mine = current.get(student.pk)
        people = [v for v in [mine, *later.get(student.pk, [])]
                  if v is not None and v.source != Source.IMPORT]  # fmt: skip
        if people:
            who = "a guardian" if people[0].source == Source.GUARDIAN else "staff"
            report.kept.append((sis, f"its default was set by {who}"))
            continue
        if mine is not None and _days_of(mine) == days and not later.get(student.pk):
            report.kept.append((sis, "no change"))
            continue
        (report.updated if mine is not None else report.created).append(sis)
        to_close += [v for v in [mine, *later.get(student.pk, [])] if v is not None]
        to_create.append((student, days))
    feed_ids = {students[sis].pk for sis in wanted}
    for student_id, version in current.items():
        if version.source == Source.IMPORT and student_id not in feed_ids:
            report.ended.append(version.student.sis_id)
            to_close += [version, *later.get(student_id, [])]

    routes = {r.number: r for r in BusRoute.objects.filter(school=school)}
    missing_routes = sorted({bus for _, days in to_create for bus in days.values()} - set(routes))
    report.routes_created = missing_routes
    if not apply:
        return report

    now = timezone.now()
    with transaction.atomic():
        for route in BusRoute.objects.bulk_create(
            [BusRoute(school=school, number=n, name=names.get(n, "")) for n in missing_routes]
        ):
            routes[route.number] = route
        before = {v.pk: {"starts_on": v.starts_on.isoformat(), "days": _days_of(v)}
                  for v in to_close}  # fmt: skip
        ended, cancelled = [], []
        for version in to_close:
            if version.starts_on < starts_on:
                version.ends_on = starts_on - dt.timedelta(days=1)
                ended.append(version)
            else:
                version.cancelled_at = now
                cancelled.append(version)
        LongTermDefault.objects.bulk_update(ended, ["ends_on"], batch_size=1000)
        LongTermDefault.objects.bulk_update(cancelled, ["cancelled_at"], batch_size=1000)
        new = LongTermDefault.objects.bulk_create(
            [LongTermDefault(student=student, starts_on=starts_on, source=Source.IMPORT,
                             source_detail=source_detail, set_by=None)
             for student, _ in to_create], batch_size=1000,
        )  # fmt: skip
        DefaultDay.objects.bulk_create(
            [DefaultDay(default=version, weekday=day, plan_type=PlanType.BUS,
                        bus_route=routes[bus])
             for version, (_, days) in zip(new, to_create, strict=True)
             for day, bus in sorted(days.items())], batch_size=1000,
        )  # fmt: skip
        events = [
            {"action": "plan.default.set", "actor": actor, "via": via, "school": school,
             "student": student, "target": version, "label": f"Bus feed for {student.full_name}",
             "before": before.get(current.get(student.pk).pk) if current.get(student.pk) else None,
             "after": {"starts_on": starts_on.isoformat(), "days": days}}
            for version, (student, days) in zip(new, to_create, strict=True)
        ] + [
            {"action": "plan.default.ended", "actor": actor, "via": via, "school": school,
             "student": version.student, "target": version, "before": before[version.pk],
             "after": None, "label": f"Bus feed for {version.student.full_name}"}
            for version in to_close if version.student.sis_id in report.ended
        ]  # fmt: skip
        audit_records(events)
        # Bulk writes send no model signals: tell the school's open pages.
        live.board_changed(school.pk)
    report.applied = True
    return report
