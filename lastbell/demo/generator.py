"""A realistic demo district, made in seconds with bulk inserts.

`load_demo()` fills an empty database with a district of three schools (an elementary, a K-8
and a middle school) and returns the demo sign-ins. `build_school()` and `build_district()` make
the same mix at any size, for the benchmarks.

Everything is drawn from `random.Random(seed)` and anchored on the first school day on or after
`today` (the "board day"): the same seed and date give the same district. The seeded history is
written directly with `bulk_create`, without audit events; every default, change and enrollment
still records its source and who set it, as DESIGN.md §2 requires.
"""

import datetime as dt
import random
import unicodedata
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from lastbell.accounts.models import Role, StaffMembership, User
from lastbell.attendance.models import Absence
from lastbell.audit.models import Via
from lastbell.audit.services import audit_records
from lastbell.demo.names import (
    EARLY_NOTES,
    EXCUSED_REASONS,
    FRIEND_NOTES,
    NICKNAMES,
    OTHER_NOTES,
    POOLS,
    RELATIVES,
    RELATIVES_ES,
    ROUTE_NAMES,
    SCHOOL_PLACES,
    UNEXCUSED_REASONS,
)
from lastbell.people.models import (
    AuthorizedAdult,
    CustodyRestriction,
    Guardian,
    GuardianLink,
    PickupSource,
    RestrictionKind,
    Student,
)
from lastbell.plans import weekdays
from lastbell.plans.models import (
    DefaultDay,
    Enrollment,
    LongTermDefault,
    PlanChange,
    PlanType,
    Program,
    Source,
)
from lastbell.plans.services import PlanSpec, change_snapshot
from lastbell.schools.models import (
    BusRoute,
    CalendarDay,
    District,
    Homeroom,
    School,
    SchoolCalendar,
    SchoolTerm,
)

DEMO_PASSWORD = "lastbell-demo"  # noqa: S105 — printed on purpose: every demo account uses it
DISTRICT_NAME = "Cedar Valley Unified School District"
DISTRICT_SLUG = "cedarvalley"
TIMEZONE = "America/Los_Angeles"
BUS_FEED = "Bus feed (demo)"
ATTENDANCE_FEED = "SIS attendance feed (demo)"
ROLLOVER = "Carried over from last school year (demo)"

SignIn = tuple[str, str, str]
MON, TUE, WED, THU, FRI = range(5)
SCHOOL_WEEK = (MON, TUE, WED, THU, FRI)


def _t(hour: int, minute: int = 0) -> dt.time:
    return dt.time(hour, minute)


# ---------------------------------------------------------------------------------------------
# School profiles: what an elementary, a K-8 and a middle school look like.


@dataclass(frozen=True)
class ProgramSpec:
    name: str
    kind: str
    days: tuple[int, ...]
    end: dt.time
    places: int  # capacity per 500 students
    fill: float  # share of the places taken
    season: str = "year"  # "year", "fall" or "spring"
    location: str = ""
    # The day sets students choose from; empty means every day the program meets.
    choices: tuple[tuple[int, ...], ...] = ()


@dataclass(frozen=True)
class Profile:
    kind: str
    suffix: str
    code: str
    grades: tuple[str, ...]
    dismissal: tuple[dt.time, ...]  # Monday to Friday
    parent_access: bool
    parent_editing: bool
    cutoff: dt.time
    homeroom_size: int
    size: float  # share of `students_per_school` in load_demo
    mix: tuple[tuple[str, int], ...]  # standing plan types and their weights
    programs: tuple[ProgramSpec, ...]


CARE_CHOICES = (SCHOOL_WEEK,) * 6 + ((TUE, THU), (MON, WED, FRI), (MON, TUE, WED, THU))

# fmt: off
PROFILES: dict[str, Profile] = {
    "elementary": Profile(
        kind="elementary", suffix="Elementary", code="E",
        grades=("K", "1", "2", "3", "4", "5"),
        # A shorter Wednesday: teachers meet after a 1:30 pm dismissal.
        dismissal=(_t(15), _t(15), _t(13, 30), _t(15), _t(15)),
        parent_access=True, parent_editing=True, cutoff=_t(12), homeroom_size=24, size=0.9,
        mix=(("bus", 36), ("pickup", 38), ("walk", 16), ("bike", 3), ("other", 4)),
        programs=(
            ProgramSpec("After-School Care", "care", SCHOOL_WEEK, _t(18), 75, 0.9,
                        location="Multipurpose room", choices=CARE_CHOICES),
            ProgramSpec("Art Studio", "club", (WED,), _t(15), 24, 0.9, "fall", "Room 12"),
            ProgramSpec("Chess Club", "club", (FRI,), _t(16, 15), 20, 0.8, "year", "Library"),
            ProgramSpec("Junior Soccer", "sports", (TUE, THU), _t(16, 30), 30, 0.85, "fall",
                        "Lower field"),
            ProgramSpec("Reading Buddies", "tutoring", (MON, WED), _t(16), 20, 0.7, "spring",
                        "Library"),
        ),
    ),
    "k8": Profile(
        kind="k8", suffix="K-8 Academy", code="K8",
        grades=("K", "1", "2", "3", "4", "5", "6", "7", "8"),
        dismissal=(_t(15, 10),) * 5,
        parent_access=True, parent_editing=False, cutoff=_t(13), homeroom_size=26, size=1.2,
        mix=(("bus", 40), ("pickup", 30), ("walk", 18), ("bike", 6), ("other", 3)),
        programs=(
            ProgramSpec("Extended Day", "care", SCHOOL_WEEK, _t(18), 60, 0.9,
                        location="Cafeteria", choices=CARE_CHOICES),
            ProgramSpec("Robotics", "club", (TUE, THU), _t(17), 24, 0.9, "year", "STEM lab"),
            ProgramSpec("Homework Help", "tutoring", (MON, TUE, WED, THU), _t(16, 30), 30, 0.7,
                        "year", "Library",
                        choices=((MON, TUE, WED, THU), (MON, WED), (TUE, THU))),
            ProgramSpec("Folklórico Dance", "club", (WED,), _t(16, 30), 24, 0.8, "year", "Gym"),
            ProgramSpec("Basketball", "sports", (MON, WED, FRI), _t(17), 24, 0.9, "spring",
                        "Gym"),
        ),
    ),
    "middle": Profile(
        kind="middle", suffix="Middle School", code="MS", grades=("6", "7", "8"),
        dismissal=(_t(15, 25),) * 5,
        parent_access=False, parent_editing=False, cutoff=_t(13), homeroom_size=30, size=0.9,
        mix=(("bus", 46), ("pickup", 14), ("walk", 26), ("bike", 10), ("other", 4)),
        programs=(
            ProgramSpec("After-School Program", "care", SCHOOL_WEEK, _t(18), 50, 0.85,
                        location="Room 40", choices=CARE_CHOICES),
            ProgramSpec("Cross Country", "sports", (MON, WED, FRI), _t(16, 45), 35, 0.85,
                        "fall", "Track"),
            ProgramSpec("Drama Club", "club", (TUE, THU), _t(17), 30, 0.8, "year", "Theater"),
            ProgramSpec("Math Lab", "tutoring", (MON, TUE, WED, THU), _t(16, 15), 30, 0.7,
                        "year", "Room 22", choices=((MON, TUE, WED, THU), (MON, WED), (TUE, THU))),
            ProgramSpec("Coding Club", "club", (FRI,), _t(16), 24, 0.9, "year", "Computer lab"),
        ),
    ),
}
# fmt: on
KIND_CYCLE = ("elementary", "k8", "middle")


# ---------------------------------------------------------------------------------------------
# The school year and its calendar.


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def school_year(today: dt.date) -> tuple[str, dt.date, dt.date]:
    """The school year around `today`: third Monday of August to the second Friday of June."""
    year = today.year if today.month >= 7 else today.year - 1
    if today > _nth_weekday(year + 1, 6, FRI, 2):
        year += 1
    name = f"{year}–{(year + 1) % 100:02d}"
    return name, _nth_weekday(year, 8, MON, 3), _nth_weekday(year + 1, 6, FRI, 2)


def _winter_break(year: int) -> dt.date:
    """The Monday of the week of December 22nd: two weeks off over the holidays."""
    dec22 = dt.date(year, 12, 22)
    return dec22 - dt.timedelta(days=dec22.weekday())


def calendar_days(starts_on: dt.date) -> dict[dt.date, tuple[str, dt.time | None, str]]:
    """Holidays, breaks and early-release days of the school year that starts on `starts_on`."""
    y = starts_on.year
    holiday, closure, early = (
        CalendarDay.Kind.HOLIDAY, CalendarDay.Kind.CLOSURE, CalendarDay.Kind.EARLY_RELEASE,
    )  # fmt: skip
    days: dict[dt.date, tuple[str, dt.time | None, str]] = {}

    def add(date, kind, note, time=None):
        if date.weekday() < 5:
            days[date] = (kind, time, note)

    def span(first, last, kind, note):
        for n in range((last - first).days + 1):
            add(first + dt.timedelta(days=n), kind, note)

    add(_nth_weekday(y, 9, MON, 1), holiday, "Labor Day")
    conferences = _nth_weekday(y, 10, MON, 2)
    for n in range(4):
        add(conferences + dt.timedelta(days=n), early, "Parent-teacher conferences", _t(12, 30))
    add(_nth_weekday(y, 10, FRI, 3), closure, "Staff development day — no students")
    add(dt.date(y, 11, 11), holiday, "Veterans Day")
    thanksgiving = _nth_weekday(y, 11, THU, 4)
    add(thanksgiving - dt.timedelta(days=1), early, "Early release before Thanksgiving", _t(12))
    add(thanksgiving, holiday, "Thanksgiving")
    add(thanksgiving + dt.timedelta(days=1), holiday, "Thanksgiving break")
    winter = _winter_break(y)
    add(winter - dt.timedelta(days=3), early, "Early release — last day before winter break",
        _t(12, 15))  # fmt: skip
    span(winter, winter + dt.timedelta(days=11), holiday, "Winter break")
    add(_nth_weekday(y + 1, 1, MON, 3), holiday, "Martin Luther King Jr. Day")
    add(_nth_weekday(y + 1, 2, MON, 3), holiday, "Presidents' Day")
    spring = _nth_weekday(y + 1, 4, MON, 1)
    span(spring, spring + dt.timedelta(days=4), holiday, "Spring break")
    add(_last_weekday(y + 1, 5, MON), holiday, "Memorial Day")
    return days


def _district_today() -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(TIMEZONE)).date()


def _pool(rng: random.Random) -> str:
    return rng.choices(list(POOLS), weights=[p.weight for p in POOLS.values()])[0]


def _person_name(rng: random.Random) -> tuple[str, str]:
    names = POOLS[_pool(rng)]
    return rng.choice(names.first), rng.choice(names.last)


STREETS = (
    "Oak",
    "Cedar",
    "Walnut",
    "Olive",
    "Almond",
    "Sierra",
    "Valley View",
    "Orchard",
    "Mission",
    "Laurel",
    "Sycamore",
    "Canal",
    "Vineyard",
    "Manzanita",
    "Juniper",
)
SUFFIXES = ("Street", "Avenue", "Drive", "Lane", "Court", "Way")


def _address(seq: int) -> str:
    """A family's made-up mailing address (the truancy letters print it). Drawn from its own
    generator so that adding it left every other draw of the demo as it was."""
    local = random.Random(seq)
    street = f"{local.randint(100, 9899)} {local.choice(STREETS)} {local.choice(SUFFIXES)}"
    unit = f", Apt {local.randint(1, 40)}" if local.random() < 0.2 else ""
    return f"{street}{unit}\nCedar Valley, CA {local.choice(('93610', '93612', '93614'))}"


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


# ---------------------------------------------------------------------------------------------
# One school.


@dataclass(eq=False)
class _Family:
    pool: str
    last_name: str
    language: str
    kind: str  # the family's usual way home
    relative: str  # "Grandma Rosa", who picks up now and then
    guardians: list[Guardian] = field(default_factory=list)
    relationships: list[str] = field(default_factory=list)  # of each guardian to the kids
    kids: list["_Kid"] = field(default_factory=list)
    account: User | None = None
    route: BusRoute | None = None
    sign_in_shown: bool = False  # the family whose guardian's sign-in `make run` prints


@dataclass(eq=False)
class _Kid:
    student: Student
    family: _Family
    # planned, missing (no plan today), withdrawn, or future (enrolls after the board day)
    status: str = "planned"
    programs: int = 0  # weekday mask already taken by a program


class _SchoolBuilder:
    def __init__(self, district, *, number, profile, students, today, seed, password, name=None):
        self.rng = random.Random(seed)
        self.district = district
        self.number = number
        self.profile = profile
        self.n_students = students
        self.today = today
        self.password = password
        self.domain = f"{district.slug}.example.org"
        place = SCHOOL_PLACES[(number - 1) % len(SCHOOL_PLACES)]
        lap = (number - 1) // len(SCHOOL_PLACES)
        self.name = name or f"{place} {profile.suffix}" + (f" {lap + 1}" if lap else "")
        self.code = "".join(w[0] for w in place.split()) + profile.code + (str(lap + 1) * bool(lap))
        self.sign_ins: list[SignIn] = []
        self.families: list[_Family] = []
        self.kids: list[_Kid] = []

    # -- helpers -------------------------------------------------------------------------------

    def _between(self, first: dt.date, last: dt.date) -> dt.date:
        if last <= first:
            return first
        return first + dt.timedelta(days=self.rng.randint(0, (last - first).days))

    def _school_day(self, first: dt.date, last: dt.date) -> dt.date | None:
        """A random school day between `first` and `last`, or None if there is none."""
        date = self._between(first, last)
        for step in (1, -1):
            probe = date
            while first <= probe <= last:
                if self.calendar.is_school_day(probe):
                    return probe
                probe += dt.timedelta(days=step)
        return None

    def _person_name(self) -> tuple[str, str]:
        return _person_name(self.rng)

    def _pool(self) -> str:
        return _pool(self.rng)

    def _user(self, local: str, first: str, last: str) -> User:
        email = f"{local}@{self.domain}"
        return User(email=email, username=email, first_name=first, last_name=last,
                    password=self.password)  # fmt: skip

    def _staff_said(self) -> dict:
        return {"source": Source.STAFF, "set_by": self.rng.choice(self.office), "source_detail": ""}

    def _said_by_person(self, kid: _Kid, guardian_share: float) -> dict:
        """A guardian through the parent page where the school allows it, otherwise staff."""
        account = kid.family.account
        if account and self.profile.parent_editing and self.rng.random() < guardian_share:
            return {"source": Source.GUARDIAN, "set_by": account, "source_detail": ""}
        return self._staff_said()

    # -- build -------------------------------------------------------------------------------

    def build(self) -> tuple[School, list[SignIn]]:
        self._school()
        self._staff()
        self._routes()
        self._programs()
        self._families()
        self._pickup_lists()
        self._defaults()
        self._enrollments()
        self._changes()
        self._absences()
        return self.school, self.sign_ins

    def _school(self):
        p = self.profile
        dismissal = dict(zip(School.DISMISSAL_FIELDS, p.dismissal, strict=False))
        self.school = School.objects.create(
            district=self.district, name=self.name, code=self.code, timezone=TIMEZONE,
            office_phone=f"(559) 555-01{self.number % 100:02d}", tracker_enabled=True,
            parent_access=p.parent_access, parent_editing=p.parent_editing,
            same_day_cutoff=p.cutoff, **dismissal,
        )  # fmt: skip
        name, self.term_start, self.term_end = school_year(self.today)
        term = SchoolTerm.objects.create(
            school=self.school, name=name, starts_on=self.term_start, ends_on=self.term_end
        )
        days = [
            CalendarDay(school=self.school, date=date, kind=kind, dismissal_time=time, note=note)
            for date, (kind, time, note) in sorted(calendar_days(self.term_start).items())
            if self.term_start <= date <= self.term_end
        ]
        CalendarDay.objects.bulk_create(days)
        self.calendar = SchoolCalendar([term], days)
        # The board day: today if school meets, else the next school day.
        day = max(self.today, self.term_start)
        while not self.calendar.is_school_day(day) and day < self.term_end:
            day += dt.timedelta(days=1)
        self.day = day

    def _staff(self):
        p, rng = self.profile, self.rng
        per_grade = self.n_students / len(p.grades)
        rooms_per_grade = max(1, round(per_grade / p.homeroom_size))
        homerooms, self.rooms = [], {}
        for index, grade in enumerate(p.grades):
            label = "Kindergarten" if grade == "K" else f"Grade {grade}"
            base = 100 * (index + 1) if p.kind != "middle" else 100 * int(grade)
            rooms = [
                Homeroom(school=self.school, name=f"Room {base + n + 1} ({label})")
                for n in range(rooms_per_grade)
            ]
            homerooms += rooms
            self.rooms[grade] = rooms
        Homeroom.objects.bulk_create(homerooms)

        code, school = self.code.lower(), self.name
        principal, office, curb = (self._person_name() for _ in range(3))
        people = [
            (self._user(f"principal.{code}", *principal), Role.SCHOOL_ADMIN, None),
            (self._user(f"office.{code}", *office), Role.DISMISSAL_STAFF, None),
            (self._user(f"curb.{code}", *curb), Role.DISMISSAL_STAFF, None),
        ]
        taken = set()
        for n, room in enumerate(homerooms):
            first, last = self._person_name()
            local = f"teacher.{code}" if n == 0 else f"{_ascii(first)}.{_ascii(last)}.{code}"
            while local in taken:
                local += str(rng.randint(0, 9))
            taken.add(local)
            people.append((self._user(local, first, last), Role.TEACHER, room))
        users = User.objects.bulk_create([user for user, _, _ in people])
        memberships = StaffMembership.objects.bulk_create([
            StaffMembership(user=user, district=self.district, school=self.school, role=role)
            for user, role, _ in people
        ])  # fmt: skip
        StaffMembership.homerooms.through.objects.bulk_create([
            StaffMembership.homerooms.through(staffmembership=m, homeroom=room)
            for m, (_, _, room) in zip(memberships, people, strict=True)
            if room is not None
        ])  # fmt: skip
        self.office = users[:3]
        first_teacher = users[3]
        self.sign_ins += [
            (f"School admin — {school}", users[0].email, DEMO_PASSWORD),
            (f"Dismissal staff — {school}", users[1].email, DEMO_PASSWORD),
            (f"Teacher — {homerooms[0].name}, {school}", first_teacher.email, DEMO_PASSWORD),
        ]

    def _routes(self):
        count = min(60, max(3, round(self.n_students / 75)))
        start = 100 * (self.number - 1) + 1
        numbers = sorted(self.rng.sample(range(start, start + max(30, count * 3)), count))
        routes = [
            BusRoute(
                school=self.school,
                number=str(number),
                name=ROUTE_NAMES[n % len(ROUTE_NAMES)]
                + (f" {n // len(ROUTE_NAMES) + 1}" if n >= len(ROUTE_NAMES) else ""),
            )  # fmt: skip
            for n, number in enumerate(numbers)
        ]
        self.routes = BusRoute.objects.bulk_create(routes)

    def _season(self, season: str) -> tuple[dt.date, dt.date]:
        y = self.term_start.year
        winter = _winter_break(y)
        if season == "fall":
            return _nth_weekday(y, 9, MON, 2), winter - dt.timedelta(days=3)
        if season == "spring":
            return winter + dt.timedelta(days=14), self.term_end
        return self.term_start, self.term_end

    def _programs(self):
        scale = self.n_students / 500
        self.programs = []
        for spec in self.profile.programs:
            starts_on, ends_on = self._season(spec.season)
            program = Program(
                school=self.school, name=spec.name, kind=spec.kind,
                weekdays=weekdays.mask_of(spec.days), starts_on=starts_on, ends_on=ends_on,
                end_time=spec.end, capacity=max(8, round(spec.places * scale)),
                location=spec.location,
            )  # fmt: skip
            self.programs.append((spec, program))
        Program.objects.bulk_create([program for _, program in self.programs])

    # -- families ------------------------------------------------------------------------------

    def _new_family(self) -> _Family:
        rng = self.rng
        pool = self._pool()
        names = POOLS[pool]
        kind = rng.choices([k for k, _ in self.profile.mix], [w for _, w in self.profile.mix])[0]
        language = "es" if rng.random() < names.spanish else "en"
        last_name = rng.choice(names.last)
        title = rng.choice(RELATIVES_ES if pool == "hispanic" else RELATIVES)
        relative = title.format(
            first=rng.choice(names.first),
            last=last_name if rng.random() < 0.5 else rng.choice(names.last),
        )
        return _Family(pool, last_name, language, kind, relative,
                       route=rng.choice(self.routes))  # fmt: skip

    def _families(self):
        rng, p = self.rng, self.profile
        guardians: list[Guardian] = []
        students: list[Student] = []
        seq = Guardian.objects.count()
        remaining = self.n_students
        counters: dict[str, int] = defaultdict(int)
        while remaining > 0:
            family = self._new_family()
            size = min(rng.choices((1, 2, 3, 4), weights=(60, 29, 9, 2))[0], remaining)
            size = min(size, len(p.grades))
            names = POOLS[family.pool]
            # Guardians: most families have two, some a grandparent or other guardian.
            count = 2 if rng.random() < 0.65 else 1
            address = _address(seq)
            roles = (
                rng.choice((("Parent", "Parent"),) * 4 + (("Parent", "Stepparent"),
                            ("Parent", "Grandparent")))
                if count == 2
                else (rng.choice(("Parent", "Parent", "Parent", "Grandparent", "Legal guardian")),)
            )  # fmt: skip
            for n, relationship in enumerate(roles):
                seq += 1
                first = rng.choice(names.first)
                last = family.last_name if n == 0 or rng.random() < 0.8 else rng.choice(names.last)
                has_email = rng.random() < 0.9
                email = (
                    f"{_ascii(first)}.{_ascii(last)}{seq}@"
                    f"{rng.choice(('example.com', 'example.net', 'example.org'))}"
                )
                guardian = Guardian(
                    district=self.district, first_name=first, last_name=last,
                    email=email if has_email else "",
                    mobile=f"({rng.choice((209, 559, 661))}) 555-{rng.randint(100, 199):04d}"
                    if rng.random() < 0.85 else "",
                    language=family.language, source_id=f"C{self.number:02d}{seq:07d}",
                    mailing_address=address,
                )  # fmt: skip
                family.guardians.append(guardian)
                family.relationships.append(relationship)
                guardians.append(guardian)
            for grade in rng.sample(p.grades, size):
                counters[grade] += 1
                rooms = self.rooms[grade]
                first = rng.choice(names.first if rng.random() < 0.85 else POOLS["anglo"].first)
                student = Student(
                    school=self.school, sis_id=f"{self.number}{len(students) + 1:06d}",
                    first_name=first, last_name=family.last_name,
                    preferred_name=NICKNAMES.get(first, "") if rng.random() < 0.5 else "",
                    grade=grade, homeroom=rooms[counters[grade] % len(rooms)],
                    enrolled_on=self.term_start,
                )  # fmt: skip
                kid = _Kid(student, family)
                family.kids.append(kid)
                self.kids.append(kid)
                students.append(student)
            self.families.append(family)
            remaining -= size

        self._enrollment_statuses()
        self._accounts()
        Guardian.objects.bulk_create(guardians)
        Student.objects.bulk_create(students)
        GuardianLink.objects.bulk_create([
            GuardianLink(guardian_id=guardian.pk, student_id=kid.student.pk, relationship=rel)
            for family in self.families
            for kid in family.kids
            for guardian, rel in zip(family.guardians, family.relationships, strict=True)
        ])  # fmt: skip

    def _enrollment_statuses(self):
        """Most students start with the year; some transfer in, leave, or are not here yet.

        Exact shares, not chance: about 4% have no plan on the board day (a new arrival, an
        ended default, or never set), 1% withdrew, 0.6% enroll after the board day.
        """
        rng, n = self.rng, len(self.kids)
        yesterday = self.day - dt.timedelta(days=1)
        room = self.day > self.term_start + dt.timedelta(days=20)
        counts = {
            "missing": max(1, round(n * 0.04)),
            "withdrawn": round(n * 0.01) if room else 0,
            "future": round(n * 0.006),
            "transfer": round(n * 0.064) if room else 0,
        }
        shuffled = rng.sample(self.kids, n)
        for status, count in counts.items():
            chosen, shuffled = shuffled[:count], shuffled[count:]
            for kid in chosen:
                student = kid.student
                if status == "withdrawn":
                    kid.status = status
                    first = self.term_start + dt.timedelta(days=10)
                    student.withdrawn_on = self._between(first, yesterday)
                elif status == "future":
                    kid.status = status
                    student.enrolled_on = self.day + dt.timedelta(days=rng.randint(2, 12))
                elif status == "missing":
                    kid.status = status
                    if rng.random() < 0.4:
                        student.enrolled_on = max(
                            self.term_start, self.day - dt.timedelta(days=rng.randint(0, 5))
                        )
                else:  # transferred in during the year
                    first = self.term_start + dt.timedelta(days=1)
                    student.enrolled_on = self._between(first, yesterday)

    def _accounts(self):
        """Parent-page accounts for some families, where the school opened parent access."""
        if not self.profile.parent_access:
            return
        rng = self.rng
        families = [f for f in self.families if f.guardians[0].email and rng.random() < 0.3]
        if not families:
            return
        # The printed guardian: a family with two children at the school with plans, if any.
        shown = next(
            (f for f in families
             if len(f.kids) == 2 and all(kid.status == "planned" for kid in f.kids)),
            families[0],
        )  # fmt: skip
        shown.guardians[0].email = f"parent.{self.code.lower()}@example.com"
        emails = [f.guardians[0].email for f in families]
        taken = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
        users = []
        for family in families:
            guardian = family.guardians[0]
            if guardian.email in taken:
                continue
            family.account = User(
                email=guardian.email, username=guardian.email, first_name=guardian.first_name,
                last_name=guardian.last_name, password=self.password,
            )  # fmt: skip
            users.append(family.account)
        User.objects.bulk_create(users)
        for family in families:
            if family.account:
                family.guardians[0].user = family.account
        if shown.account:
            shown.sign_in_shown = True
            names = [kid.student.preferred_name or kid.student.first_name for kid in shown.kids]
            children = _children(names)
            self.sign_ins.append(
                (f"Guardian — parent of {children}, {self.name}", shown.account.email,
                 DEMO_PASSWORD)
            )  # fmt: skip

    # -- pickup lists and custody ------------------------------------------------------------

    RELATIONSHIPS = {"Grandma": "Grandmother", "Grandpa": "Grandfather", "Abuela": "Abuela",
                     "Abuelo": "Abuelo", "Tía": "Tía", "Tío": "Tío"}  # fmt: skip

    def _pickup_lists(self):
        """The relative who picks up now and then is on most pickup lists; staff checked half
        of them. One child of the printed family has a custody order on file."""
        rng = self.rng
        adults = []
        for family in self.families:
            if rng.random() > 0.6:
                continue
            title, _, rest = family.relative.partition(" ")
            if title in self.RELATIONSHIPS:
                first, last, relationship = (
                    rng.choice(POOLS[family.pool].first),
                    rest,
                    self.RELATIONSHIPS[title],
                )
            else:
                name, _, relation = family.relative.partition(" (")
                first, _, last = name.partition(" ")
                relationship = relation.rstrip(")").capitalize()
            phone = f"({rng.randint(200, 989)}) 555-01{rng.randint(0, 99):02d}"
            verified = rng.random() < 0.5
            for kid in family.kids:
                adults.append(AuthorizedAdult(
                    student=kid.student, first_name=first, last_name=last,
                    relationship=relationship, phone=phone, source=PickupSource.GUARDIAN,
                    verified_at=timezone.now() if verified else None,
                    verified_by=rng.choice(self.office) if verified else None,
                ))  # fmt: skip
        AuthorizedAdult.objects.bulk_create(adults)
        shown = next((f for f in self.families if f.account and f.sign_in_shown), None)
        if shown:
            kid = shown.kids[0]
            CustodyRestriction.objects.create(
                student=kid.student, person_name=f"{rng.choice(POOLS[shown.pool].first)} "
                f"{shown.last_name}", kind=RestrictionKind.DO_NOT_RELEASE,
                court_order_reference=f"FL-{self.day.year}-{rng.randint(1000, 9999)}",
                starts_on=self.term_start, recorded_by=self.office[0],
            )  # fmt: skip

    # -- long-term defaults ----------------------------------------------------------------

    def _plan(self, kid: _Kid, kind: str) -> PlanSpec:
        rng, family = self.rng, kid.family
        if kind == PlanType.BUS:
            return PlanSpec(PlanType.BUS, bus_route=family.route)
        if kind == PlanType.PICKUP:
            if rng.random() < 0.75:
                return PlanSpec(PlanType.PICKUP, pickup_guardian=rng.choice(family.guardians))
            return PlanSpec(PlanType.PICKUP, pickup_name=family.relative)
        if kind == PlanType.WALK:
            with_sibling = len(family.kids) > 1 and rng.random() < 0.3
            return PlanSpec(PlanType.WALK, note="Walks with sibling" if with_sibling else "")
        if kind == PlanType.BIKE:
            return PlanSpec(PlanType.BIKE)
        other = POOLS[self._pool()]
        note = rng.choice(OTHER_NOTES).format(family=rng.choice(other.last))
        return PlanSpec(PlanType.OTHER, note=note)

    def _week(self, kid: _Kid) -> dict[int, PlanSpec]:
        """The standing plan for Monday to Friday; about one in eight varies by weekday."""
        rng, family = self.rng, kid.family
        kind = family.kind if rng.random() < 0.85 else self._kind()
        if rng.random() >= 0.12:
            plan = self._plan(kid, kind)
            return dict.fromkeys(SCHOOL_WEEK, plan)
        relative = PlanSpec(PlanType.PICKUP, pickup_name=family.relative)
        parent = self._plan(kid, PlanType.PICKUP)
        pattern = rng.randrange(5)
        if pattern == 0:  # "bus 12 Mon–Wed, grandma picks up Thu–Fri"
            return self._split(self._plan(kid, PlanType.BUS), (MON, TUE, WED), relative)
        if pattern == 1:
            return self._split(self._plan(kid, PlanType.WALK), (MON, TUE, WED, THU), parent)
        if pattern == 2 and len(family.guardians) == 2:  # shared custody
            first, second = (PlanSpec(PlanType.PICKUP, pickup_guardian=g) for g in family.guardians)
            return self._split(first, (MON, TUE, WED), second)
        if pattern == 3:
            return self._split(self._plan(kid, PlanType.BUS), (MON, WED, FRI), relative)
        therapy = PlanSpec(PlanType.EARLY_DISMISSAL, dismiss_at=_t(13, 45),
                           note="Weekly therapy appointment")  # fmt: skip
        return self._split(parent, (MON, TUE, WED, THU), therapy)

    def _kind(self) -> str:
        mix = self.profile.mix
        return self.rng.choices([k for k, _ in mix], [w for _, w in mix])[0]

    @staticmethod
    def _split(plan: PlanSpec, on: tuple[int, ...], otherwise: PlanSpec) -> dict[int, PlanSpec]:
        return {day: plan if day in on else otherwise for day in SCHOOL_WEEK}

    def _who_set(self, kid: _Kid, week: dict[int, PlanSpec]) -> dict:
        rng = self.rng
        all_bus = all(plan.plan_type == PlanType.BUS for plan in week.values())
        if all_bus and rng.random() < 0.85:
            return {"source": Source.IMPORT, "set_by": None, "source_detail": BUS_FEED}
        if rng.random() < 0.06:
            return {"source": Source.SYSTEM, "set_by": None, "source_detail": ROLLOVER}
        return self._said_by_person(kid, guardian_share=0.6)

    def _defaults(self):
        rng = self.rng
        versions: list[tuple[LongTermDefault, dict[int, PlanSpec]]] = []

        def version(kid, week, starts_on, ends_on=None, **said):
            default = LongTermDefault(student=kid.student, starts_on=starts_on, ends_on=ends_on,
                                      **(said or self._who_set(kid, week)))  # fmt: skip
            versions.append((default, week))

        start, day = self.term_start, self.day
        history_room = day > start + dt.timedelta(days=14)
        for kid in self.kids:
            if kid.status == "missing":
                # An imported bus default that left the feed, ended before the board day.
                if history_room and rng.random() < 0.35:
                    ended = self._between(start + dt.timedelta(days=7), day - dt.timedelta(days=1))
                    version(kid, dict.fromkeys(SCHOOL_WEEK, self._plan(kid, PlanType.BUS)),
                            start, ended, source=Source.IMPORT, set_by=None,
                            source_detail=BUS_FEED)  # fmt: skip
                continue
            week = self._week(kid)
            if kid.status == "future":
                version(kid, week, kid.student.enrolled_on, **self._said_by_person(kid, 0.7))
                continue
            begins = kid.student.enrolled_on
            roll = rng.random()
            if roll < 0.12 and history_room and begins < day - dt.timedelta(days=7):
                # An earlier version ended when the family changed the standing plan.
                switch = self._between(begins + dt.timedelta(days=7), day)
                before = dict.fromkeys(SCHOOL_WEEK, self._plan(kid, self._kind()))
                version(kid, before, begins, switch - dt.timedelta(days=1))
                begins = switch
            if roll > 0.98 and kid.status == "planned":
                # A new version already entered, starting after the board day.
                later = day + dt.timedelta(days=rng.randint(1, 14))
                version(kid, week, begins, later - dt.timedelta(days=1))
                version(kid, dict.fromkeys(SCHOOL_WEEK, self._plan(kid, self._kind())), later,
                        **self._said_by_person(kid, 0.6))  # fmt: skip
                continue
            version(kid, week, begins)

        LongTermDefault.objects.bulk_create([default for default, _ in versions])
        # Plain ids rather than instances: 25,000 rows for 5,000 students, so it counts.
        fields = {}
        for _, week in versions:
            for plan in week.values():
                if id(plan) not in fields:
                    values = plan.fields()
                    route, guardian = values.pop("bus_route"), values.pop("pickup_guardian")
                    values["bus_route_id"] = route.pk if route else None
                    values["pickup_guardian_id"] = guardian.pk if guardian else None
                    fields[id(plan)] = values
        DefaultDay.objects.bulk_create([
            DefaultDay(default_id=default.pk, weekday=weekday, **fields[id(plan)])
            for default, week in versions
            for weekday, plan in week.items()
        ])  # fmt: skip

    # -- programs -----------------------------------------------------------------------------

    def _enrollments(self):
        rng = self.rng
        planned = [kid for kid in self.kids if kid.status == "planned"]
        enrollments = []
        for spec, program in self.programs:
            wanted = round(program.capacity * spec.fill)
            choices = spec.choices or (spec.days,)
            taken = 0
            for kid in rng.sample(planned, len(planned)):
                if taken >= wanted:
                    break
                mask = weekdays.mask_of(rng.choice(choices))
                if mask & kid.programs:
                    continue
                starts_on, ends_on = program.starts_on, None
                day, roll = self.day, rng.random()
                if roll < 0.2:  # joined after the program started
                    last = max(program.starts_on, min(day, program.ends_on))
                    starts_on = self._between(program.starts_on, last)
                elif roll < 0.25 and program.ends_on > day:  # joins later
                    starts_on = self._between(day + dt.timedelta(days=1), program.ends_on)
                elif roll < 0.3 and day > program.starts_on + dt.timedelta(days=14):  # left
                    ends_on = self._between(
                        program.starts_on + dt.timedelta(days=7),
                        min(day, program.ends_on) - dt.timedelta(days=1),
                    )
                if ends_on is None:  # a student is in one program per afternoon
                    kid.programs |= mask
                if spec.kind == "care" and rng.random() < 0.2:
                    said = {"source": Source.IMPORT, "set_by": None,
                            "source_detail": "After-school care roster (demo)"}  # fmt: skip
                else:
                    said = self._said_by_person(kid, guardian_share=0.3)
                enrollments.append(Enrollment(
                    program=program, student=kid.student, weekdays=mask, starts_on=starts_on,
                    ends_on=ends_on, **said,
                ))  # fmt: skip
                taken += 1
        Enrollment.objects.bulk_create(enrollments)

    # -- one-time and short-term changes -------------------------------------------------------

    def _change_plan(self, kid: _Kid) -> PlanSpec:
        rng, family = self.rng, kid.family
        roll = rng.random()
        if roll < 0.3:
            return PlanSpec(
                PlanType.PICKUP,
                pickup_name=family.relative,
                note=rng.choice(("", "Mom working late", "Parents travelling")),
            )
        if roll < 0.5:
            return PlanSpec(PlanType.PICKUP, pickup_guardian=rng.choice(family.guardians))
        if roll < 0.65:
            return PlanSpec(
                PlanType.BUS, bus_route=rng.choice(self.routes), note=rng.choice(FRIEND_NOTES)
            )
        if roll < 0.75:
            return PlanSpec(PlanType.WALK, note="Walking to the library with a cousin")
        if roll < 0.9:
            at = rng.choice((_t(11, 30), _t(12, 15), _t(12, 45), _t(13), _t(13, 15)))
            return PlanSpec(PlanType.EARLY_DISMISSAL, dismiss_at=at, note=rng.choice(EARLY_NOTES))
        return PlanSpec(PlanType.OTHER, note="Soccer team carpool picks up at the gym")

    def _changes(self):
        rng, day = self.rng, self.day
        start, end = self.term_start, self.term_end
        changes: list[PlanChange] = []

        def change(kid, first, last, mask=weekdays.ALL_DAYS, cancelled=False):
            said = self._said_by_person(kid, guardian_share=0.5)
            item = PlanChange(student=kid.student, starts_on=first, ends_on=last, weekdays=mask,
                              **said, **self._change_plan(kid).fields())  # fmt: skip
            if cancelled:
                item.cancelled_at = timezone.now()
                item.cancelled_by = rng.choice(self.office)
            changes.append(item)

        planned = [kid for kid in self.kids if kid.status == "planned"]
        n = len(planned)
        counts = [
            max(3, round(n * 0.03)),
            max(1, round(n * 0.01)),
            max(1, round(n * 0.008)),
            max(1, round(n * 0.008)),
            max(2, round(n * 0.004)),
            max(1, round(n * 0.003)),
        ]
        picked = rng.sample(planned, min(n, sum(counts)))
        groups, at = [], 0
        for count in counts:
            groups.append(picked[at : at + count])
            at += count
        today_single, today_range, weekly_today, weekly_other, overlap, cancelled = groups

        for kid in today_single:  # one date: the board day
            change(kid, day, day)
        for kid in today_range:  # a few days around it
            change(kid, max(start, day - dt.timedelta(days=rng.randint(0, 3))),
                   day + dt.timedelta(days=rng.randint(0, 4)))  # fmt: skip
        month_first = max(start, day.replace(day=1))
        month_last = min(end, _last_weekday(day.year, day.month, day.weekday()))
        for kid in weekly_today:  # "every Wednesday this month"
            change(kid, month_first, max(day, month_last), weekdays.bit(day.weekday()))
        other_day = FRI if day.weekday() != FRI else MON
        first, last = max(start, day - dt.timedelta(days=14)), day + dt.timedelta(days=28)
        for kid in weekly_other:  # "every Friday for six weeks"
            change(kid, first, last, weekdays.bit(other_day))
        for kid in overlap:  # two changes cover the day: the one entered last wins
            change(kid, max(start, day - dt.timedelta(days=2)), day + dt.timedelta(days=2))
            change(kid, day, day)
        for kid in cancelled:  # entered, then taken back
            change(kid, day, day, cancelled=True)

        for kid in rng.sample(planned, round(n * 0.03)):  # coming up
            first = self._school_day(day + dt.timedelta(days=1), day + dt.timedelta(days=21))
            if first is None:
                continue
            if rng.random() < 0.25:
                change(kid, first, first + dt.timedelta(days=27), weekdays.bit(first.weekday()))
            else:
                change(kid, first, first + dt.timedelta(days=rng.choice((0, 0, 0, 1, 4))))
        for kid in rng.sample(planned, round(n * 0.04)):  # already passed
            first = self._school_day(start, day - dt.timedelta(days=1))
            if first is None:
                break
            span = dt.timedelta(days=rng.choice((0, 0, 0, 2, 4)))
            change(kid, first, min(day - dt.timedelta(days=1), first + span))
        PlanChange.objects.bulk_create(changes)

    # -- attendance -------------------------------------------------------------------------

    def _absence(self, kid: _Kid, date: dt.date, *, early=False) -> Absence:
        rng = self.rng
        by_staff = rng.random() < 0.15
        common = {
            "student": kid.student, "date": date,
            "source": Source.STAFF if by_staff else Source.IMPORT,
            "source_detail": "" if by_staff else ATTENDANCE_FEED,
            "recorded_by": rng.choice(self.office) if by_staff else None,
            "external_id": f"ATT-{self.number}-{kid.student.sis_id}-{date:%Y%m%d}",
        }  # fmt: skip
        if early:
            at = rng.choice((_t(10, 45), _t(11, 30), _t(12, 15), _t(13)))
            return Absence(kind=Absence.Kind.EARLY_DEPARTURE, excused=True, departs_at=at,
                           reason=rng.choice(EARLY_NOTES), **common)  # fmt: skip
        excused = rng.random() < 0.6
        reason = rng.choice(EXCUSED_REASONS if excused else UNEXCUSED_REASONS)
        return Absence(excused=excused, reason=reason, **common)

    def _absences(self):
        rng, day = self.rng, self.day
        planned = [kid for kid in self.kids if kid.status == "planned"]
        n = len(planned)
        absences = []
        early = max(2, round(n * 0.005))
        for index, kid in enumerate(rng.sample(planned, min(n, max(2, round(n * 0.045)) + early))):
            absences.append(self._absence(kid, day, early=index < early))
        # The two school weeks before: attendance history.
        past, date = 0, day - dt.timedelta(days=1)
        taken = {(a.student_id, a.date) for a in absences}
        while past < 10 and date >= self.term_start:
            if self.calendar.is_school_day(date):
                present = [kid for kid in planned if kid.student.enrolled_on <= date]
                for kid in rng.sample(present, round(len(present) * 0.03)):
                    absences.append(self._absence(kid, date, early=rng.random() < 0.08))
                    taken.add((kid.student.pk, date))
                past += 1
            date -= dt.timedelta(days=1)
        absences += self._term_history(planned, taken)
        Absence.objects.bulk_create(absences)

    def _term_history(self, planned, taken) -> list[Absence]:
        """Since the term began, so that the truancy tracker has students at each letter and
        the chronic-absence page has every tier: a few students who miss school unexcused or
        come more than 30 minutes late, some with short tardies that never count, and some
        often absent with excuses."""
        rng = self.rng
        days = []
        date = self.term_start
        while date < self.day:
            if self.calendar.is_school_day(date):
                days.append(date)
            date += dt.timedelta(days=1)
        if len(days) < 5:
            return []
        rows = []

        def add(kid, date, **fields):
            if (kid.student.pk, date) in taken or date < kid.student.enrolled_on:
                return
            taken.add((kid.student.pk, date))
            rows.append(Absence(
                student=kid.student, date=date, source=Source.IMPORT,
                source_detail=ATTENDANCE_FEED,
                external_id=f"ATT-{self.number}-{kid.student.sis_id}-{date:%Y%m%d}", **fields,
            ))  # fmt: skip

        kids = rng.sample(planned, min(len(planned), round(len(planned) * 0.09)))
        third = len(kids) // 3
        for kid in kids[:third]:  # truant: unexcused days and long tardies, 3 to 11 of them
            for date in rng.sample(days, min(len(days), rng.randint(3, 11))):
                if rng.random() < 0.6:
                    add(kid, date, excused=False, reason=rng.choice(UNEXCUSED_REASONS))
                else:
                    add(kid, date, kind=Absence.Kind.TARDY, excused=False,
                        minutes=rng.randint(31, 95), reason="Arrived late")  # fmt: skip
        for kid in kids[third : 2 * third]:  # late now and then, never long enough to count
            for date in rng.sample(days, min(len(days), rng.randint(1, 5))):
                add(kid, date, kind=Absence.Kind.TARDY, excused=False,
                    minutes=rng.randint(5, 30), reason="Arrived late")  # fmt: skip
        for kid in kids[2 * third :]:  # often absent, excused: chronic absence, not truancy
            share = rng.choice((0.06, 0.12, 0.15, 0.25))
            for date in rng.sample(days, min(len(days), max(1, round(len(days) * share)))):
                add(kid, date, excused=True, reason=rng.choice(EXCUSED_REASONS))
        return rows


# ---------------------------------------------------------------------------------------------
# Public entry points.


class DemoError(Exception):
    pass


def create_district(
    *, name: str = DISTRICT_NAME, slug: str = DISTRICT_SLUG, seed: int = 2026
) -> District:
    """A district and its district admin: admin@<slug>.example.org with the demo password."""
    base, n = slug, 1
    while District.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}{n}"
    district = District.objects.create(name=name, slug=slug, timezone=TIMEZONE)
    first, last = _person_name(random.Random(seed))
    admin = User.objects.create_user(
        f"admin@{slug}.example.org", DEMO_PASSWORD, first_name=first, last_name=last
    )
    StaffMembership.objects.create(user=admin, district=district, role=Role.DISTRICT_ADMIN)
    return district


def _build(district, *, number, kind, students, today, seed, password, name=None):
    builder = _SchoolBuilder(
        district, number=number, profile=PROFILES[kind], students=students, today=today,
        seed=seed, password=password, name=name,
    )  # fmt: skip
    return builder.build()


def build_school(
    district,
    *,
    students: int,
    today: dt.date,
    seed: int,
    kind: str | None = None,
    name: str | None = None,
) -> School:
    """One school of `district` with `students` students and the demo's mix of plans.

    `kind` is "elementary", "k8" or "middle"; by default the district's schools take turns.
    """
    number = district.schools.count() + 1
    kind = kind or KIND_CYCLE[(number - 1) % len(KIND_CYCLE)]
    with transaction.atomic():
        school, _ = _build(
            district, number=number, kind=kind, students=students, today=today, seed=seed,
            password=_password_hash(district), name=name,
        )  # fmt: skip
    return school


def _password_hash(district) -> str:
    """The demo password, hashed once: every demo account of the district shares the hash."""
    admin = User.objects.filter(email=f"admin@{district.slug}.example.org").first()
    return admin.password if admin else make_password(DEMO_PASSWORD)


def _district_schools(district, *, sizes, today, seed) -> list[SignIn]:
    sign_ins: list[SignIn] = [
        ("District admin — every school", f"admin@{district.slug}.example.org", DEMO_PASSWORD)
    ]
    password = _password_hash(district)
    for index, students in enumerate(sizes):
        _, rows = _build(
            district, number=index + 1, kind=KIND_CYCLE[index % len(KIND_CYCLE)],
            students=students, today=today, seed=seed * 1000 + index, password=password,
        )  # fmt: skip
        sign_ins += rows
    return sign_ins


def build_district(
    *, schools: int, students_per_school: int, today: dt.date | None = None, seed: int = 2026
) -> District:
    """A district of `schools` schools (elementary, K-8, middle in turn) of equal size."""
    today = today or _district_today()
    with transaction.atomic():
        district = create_district(seed=seed)
        _district_schools(district, sizes=[students_per_school] * schools, today=today,
                          seed=seed)  # fmt: skip
    return district


def load_demo(
    *, today: dt.date | None = None, seed: int = 2026, students_per_school: int = 500
) -> list[SignIn]:
    """Fill an empty database with the demo district; return its sign-ins.

    Three schools of about `students_per_school` students each (the K-8 a little larger, the
    others a little smaller). The rows are (role, email, password).
    """
    if School.objects.exists():
        raise DemoError("The database already has schools; the demo loads only into an empty one.")
    today = today or _district_today()
    n = students_per_school
    sizes = [round(n * PROFILES[kind].size) for kind in KIND_CYCLE[:2]]
    sizes.append(max(1, 3 * n - sum(sizes)))
    with transaction.atomic():
        district = create_district(seed=seed)
        signins = _district_schools(district, sizes=sizes, today=today, seed=seed)
        _seed_history(district)
        return signins


def _seed_history(district) -> None:
    """Audit events for the demo's changes made by people, so History has something to show."""
    changes = (
        PlanChange.objects.filter(student__school__district=district, set_by__isnull=False)
        .select_related("student__school", "set_by", "bus_route", "pickup_guardian")
        .order_by("created_at", "id")
    )
    audit_records(
        [
            {
                "action": "plan.change.created",
                "actor": change.set_by,
                "via": Via.WEB,
                "district": district,
                "school": change.student.school,
                "student": change.student,
                "target": change,
                "label": f"Change for {change.student.full_name}, {change.span_label}",
                "after": change_snapshot(change),
            }
            for change in changes
        ]
    )


def demo_signins() -> list[SignIn]:
    """The sign-ins of a demo district already in the database, in load_demo's order.

    Lists the printed demo accounts that still exist (their password is not checked: someone
    may have changed it since).
    """
    wanted: list[tuple[str, str, School | None]] = []
    for district in District.objects.order_by("id"):
        domain = f"{district.slug}.example.org"
        wanted.append(("District admin — every school", f"admin@{domain}", None))
        for school in district.schools.order_by("id"):
            code = school.code.lower()
            wanted += [
                (f"School admin — {school.name}", f"principal.{code}@{domain}", school),
                (f"Dismissal staff — {school.name}", f"office.{code}@{domain}", school),
                ("Teacher", f"teacher.{code}@{domain}", school),
                ("Guardian", f"parent.{code}@example.com", school),
            ]
    users = User.objects.filter(email__in=[email for _, email, _ in wanted])
    users = {user.email: user for user in users.select_related("guardian")}
    rows: list[SignIn] = []
    for role, email, school in wanted:
        user = users.get(email)
        if user is None:
            continue
        if role == "Teacher":
            room = Homeroom.objects.filter(teachers__user=user).order_by("name").first()
            role = f"Teacher — {room.name}, {school.name}" if room else f"Teacher — {school.name}"
        elif role == "Guardian":
            guardian = getattr(user, "guardian", None)
            if guardian is None:
                continue
            names = [s.preferred_name or s.first_name for s in guardian.students.order_by("id")]
            role = f"Guardian — parent of {_children(names)}, {school.name}"
        rows.append((role, email, DEMO_PASSWORD))
    return rows


def _children(names: list[str]) -> str:
    """'Ana', 'Ana and Leo', 'Ana, Leo and Mia'."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if names[1:] else names)


def format_sign_ins(rows: list[SignIn]) -> str:
    """The sign-ins as a plain-text table, for the terminal."""
    header = ("Sign in as", "Email", "Password")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    rule = "  ".join("-" * width for width in widths)
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True))]
    lines.append(rule)
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)
