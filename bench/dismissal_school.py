"""The school of bench/dismissal_load.py: built, set to dismiss a few minutes from now, with
car tags, signed-in screens and the script of who comes for whom.

Everything here runs in the benchmark's own process, on its throwaway database (bench/serving.py's
`BenchDatabase`), before the server starts; the server is then the only one writing.
"""

import datetime as dt
import random
import secrets
import time
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field

# Zones tried in turn for the school: the first where it is day time now, so that "now" plus
# the lead is still today at the school (the demo's own zone comes first).
ZONES = ("America/Los_Angeles", "America/New_York", "Europe/Berlin", "Asia/Tokyo",
         "Pacific/Auckland")  # fmt: skip
FOLLOWS = 1  # today runs Tuesday's plans (a weekday with the usual dismissal)
DOOR = "North loop"
CURB_PLANS = {"pickup", "other", "early_dismissal", None}  # a family comes to the curb


@dataclass
class Family:
    """A family that comes to the curb: their car tag, the students a check-in covers (on
    campus today), and whom each is released to."""

    tag: int
    students: list[int]
    release_to: dict[int, int]  # student id → guardian id (not named by a custody order)
    phone: str = ""  # a signed-in guardian's session cookie, if this family checks in by phone
    guardian_id: int | None = None  # that guardian


@dataclass
class Group:
    key: str  # as the groups screen names it (dismissal/views.py _group_of)
    label: str
    students: list[int]


@dataclass
class Classroom:
    homeroom_id: int
    name: str
    cookie: str  # the homeroom teacher's session
    students: int


@dataclass
class Prepared:
    school_id: int
    database: str
    timezone: str
    today: dt.date
    dismiss_at: dt.time
    students: int  # active today
    absent: int
    families: list[Family]
    groups: list[Group]
    classrooms: list[Classroom]
    homeroom_of: dict[int, int]
    staff: list[str]  # session cookies of the school's dismissal staff, one per device
    plan_counts: dict[str, int]
    tags: int
    build_s: float
    migrate_s: float
    skipped: dict[str, int] = field(default_factory=dict)


def pick_zone(lead: dt.timedelta) -> tuple[str, dt.datetime]:
    """A zone where now + lead (+ an hour of running) is still today, between 6 am and 10 pm."""
    now = dt.datetime.now(dt.UTC)
    for name in ZONES:
        local = now.astimezone(zoneinfo.ZoneInfo(name))
        if local.hour >= 6 and (local + lead + dt.timedelta(hours=1)).hour < 23:
            return name, local
    name = ZONES[0]
    return name, now.astimezone(zoneinfo.ZoneInfo(name))


def _session(user) -> str:
    """A signed-in session for `user`, as the cookie a browser sends: "name=value"."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    morsel = client.cookies[settings.SESSION_COOKIE_NAME]
    return f"{morsel.key}={morsel.value}"


def prepare(
    *, students: int, seed: int, lead_minutes: int, phone_share: float, devices: int,
    database_label: str,
) -> Prepared:  # fmt: skip
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    from bench.day_board import database_label as vendor_label
    from lastbell.accounts.models import Role, StaffMembership
    from lastbell.demo import generator
    from lastbell.dismissal import services
    from lastbell.dismissal.models import CarTag
    from lastbell.dismissal.views import _group_of
    from lastbell.people.models import CustodyRestriction, Guardian, GuardianLink
    from lastbell.schools.models import CalendarDay

    setup_test_environment()  # the test client's host (force_login only)
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    migrate_s = time.perf_counter() - started

    lead = dt.timedelta(minutes=lead_minutes)
    zone, local = pick_zone(lead)
    today = local.date()
    # Today is a school day whatever the calendar says (a weekend, a holiday): the generator
    # builds its absences and changes for it. It runs Tuesday's plans.
    calendar_days = generator.calendar_days

    def with_today(starts_on):
        days = calendar_days(starts_on)
        days[today] = (CalendarDay.Kind.EXTRA_SCHOOL_DAY, None, "Benchmark dismissal")
        return days

    generator.calendar_days = with_today
    try:
        district = generator.create_district(name="Benchmark Unified", slug="bench", seed=seed)
        started = time.perf_counter()
        school = generator.build_school(
            district, students=students, today=today, seed=seed, kind="elementary"
        )
        build_s = time.perf_counter() - started
    finally:
        generator.calendar_days = calendar_days

    # Dismissal `lead` minutes from now at the school: check-in (30 minutes before) is open.
    dismiss_at = (local + lead).time().replace(second=0, microsecond=0)
    day_row, _made = CalendarDay.objects.get_or_create(
        school=school, date=today, defaults={"kind": CalendarDay.Kind.EXTRA_SCHOOL_DAY}
    )
    day_row.kind, day_row.follows_weekday = CalendarDay.Kind.EXTRA_SCHOOL_DAY, FOLLOWS
    day_row.dismissal_time = None
    day_row.save()
    school.timezone = zone
    setattr(school, school.DISMISSAL_FIELDS[FOLLOWS], dismiss_at)
    school.save()
    services.tags_assign(school)
    day = services.day_of(school, today)
    if day is None or day.dismiss_at != dismiss_at:
        raise SystemExit(f"No dismissal day at the school on {today} ({day})")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    states = services.day_states(day)
    rows = {s.student_id: s.row for s in states}
    absent = {s.student_id for s in states if s.absent}
    plan_counts: dict[str, int] = defaultdict(int)
    for s in states:
        plan_counts[s.row.plan_type or "none"] += 1

    # Whom each student may go home with: a guardian no custody order names.
    restrictions = defaultdict(list)
    for r in CustodyRestriction.objects.filter(student__school=school).in_effect_on(today):
        restrictions[r.student_id].append(r)
    guardians = {g.pk: g for g in Guardian.objects.filter(links__student__school=school)}
    links = defaultdict(list)  # student → guardian ids
    children = defaultdict(set)  # guardian → student ids at the school
    pairs = GuardianLink.objects.filter(student__school=school).values_list(
        "guardian_id", "student_id"
    )
    for guardian_id, student_id in pairs:
        links[student_id].append(guardian_id)
        children[guardian_id].add(student_id)

    def allowed(guardian_id, student_id) -> bool:
        name = guardians[guardian_id].full_name
        return not any(r.names(name) for r in restrictions[student_id])

    rng = random.Random(seed)
    families, skipped = [], defaultdict(int)
    curb_students = set()
    for tag in CarTag.objects.filter(school=school).prefetch_related("members"):
        members = sorted(m.student_id for m in tag.members.all() if m.student_id in rows)
        present = [pk for pk in members if pk not in absent]
        if not present or not any(rows[pk].plan_type in CURB_PLANS for pk in present):
            continue
        release_to = {}
        for pk in present:
            ok = [g for g in sorted(links[pk]) if allowed(g, pk)]
            if ok:
                release_to[pk] = ok[0]
        if len(release_to) < len(present):
            skipped["families with a child nobody on file may take"] += 1
            continue
        curb_students.update(present)
        families.append(Family(tag=tag.number, students=present, release_to=release_to))

    # "I'm here" on a phone: a guardian with a parent-page account whose children at the
    # school are exactly the family's children here today, none kept from them by an order.
    accounts = {g.pk: g for g in guardians.values() if g.user_id}
    candidates = []
    for family in families:
        for guardian_id in sorted({g for pk in family.students for g in links[pk]}):
            if guardian_id not in accounts:
                continue
            theirs = {pk for pk in children[guardian_id] if pk in rows and pk not in absent}
            if theirs == set(family.students) and all(
                allowed(guardian_id, pk) for pk in family.students
            ):
                candidates.append((family, guardian_id))
                break
    wanted = min(len(candidates), round(len(families) * phone_share))
    for family, guardian_id in rng.sample(candidates, wanted):
        family.guardian_id = guardian_id
        family.phone = _session(accounts[guardian_id].user)
        family.release_to = dict.fromkeys(family.students, guardian_id)

    # Buses, walkers, bikers and programs leave together ("All aboard"), without the children
    # whose family comes to the curb.
    groups: dict[str, Group] = {}
    for pk, row in rows.items():
        if pk in absent or pk in curb_students:
            continue
        found = _group_of(row)
        if found is None:
            continue
        groups.setdefault(found.key, Group(found.key, found.label, [])).students.append(pk)

    teachers = {}
    for m in StaffMembership.objects.filter(school=school, role=Role.TEACHER).select_related(
        "user"
    ).prefetch_related("homerooms"):  # fmt: skip
        for homeroom in m.homerooms.all():
            teachers.setdefault(homeroom.pk, (homeroom.name, m.user))
    sizes = defaultdict(int)
    for row in rows.values():
        sizes[row.homeroom_id] += 1
    classrooms = [
        Classroom(pk, name, _session(user), sizes[pk])
        for pk, (name, user) in sorted(teachers.items(), key=lambda item: item[1][0])
        if sizes[pk]
    ]
    staff_users = [
        m.user for m in StaffMembership.objects.filter(school=school, role=Role.DISMISSAL_STAFF)
        .select_related("user").order_by("pk")
    ]  # fmt: skip
    staff = [_session(staff_users[n % len(staff_users)]) for n in range(devices)]

    label = f"{vendor_label(connection)} ({database_label})"
    prepared = Prepared(
        school_id=school.pk, database=label, timezone=zone, today=today, dismiss_at=dismiss_at,
        students=len(rows), absent=len(absent), families=families,
        groups=sorted(groups.values(), key=lambda g: g.key), classrooms=classrooms,
        homeroom_of={pk: row.homeroom_id for pk, row in rows.items()}, staff=staff,
        plan_counts=dict(plan_counts), tags=CarTag.objects.filter(school=school).count(),
        build_s=build_s, migrate_s=migrate_s, skipped=dict(skipped),
    )  # fmt: skip
    connection.close()  # the server has the database to itself from here
    return prepared


def csrf_secret() -> str:
    """A CSRF cookie value of the kind Django sets (32 letters and digits): a form that sends
    the same value back passes CsrfViewMiddleware."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(32))


def tally(school_id: int, today: dt.date) -> dict:
    """After the run, from the database: the day's custody events by kind, and how many
    students are still on campus (not absent, not released)."""
    from django.db import connection

    from lastbell.dismissal import services
    from lastbell.dismissal.models import CustodyEvent, DismissalDay

    day = DismissalDay.objects.select_related("school").get(school_id=school_id, date=today)
    counts = defaultdict(int)
    for kind in CustodyEvent.objects.filter(day=day).values_list("kind", flat=True):
        counts[kind] += 1
    states = services.day_states(day)
    counts["on_campus"] = sum(1 for s in states if s.on_campus)
    # When each student was first checked in for, as the server recorded it (epoch seconds).
    counts["first_check_in"] = {}
    for pk, at in CustodyEvent.objects.filter(day=day, kind="checked_in").order_by(
            "at").values_list("student_id", "at"):  # fmt: skip
        counts["first_check_in"].setdefault(pk, at.timestamp())
    counts["released_students"] = sum(1 for s in states if s.released is not None)
    connection.close()
    return dict(counts)
