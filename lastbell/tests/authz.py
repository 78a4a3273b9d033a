"""The authorization walk's world, roles and walker (test_authorization_walk.py holds the
table of expectations).

One district with two schools and a second district; one student of each kind of record the
URLs name (plan change, program enrollment, pickup adult with a photo, custody order with its
file, message, dismissal event, import runs, letter run and letter, calendar day, bus route,
API token), and a person or token for every role, each with its own signed-in client.
"""

import contextlib
import dataclasses
import datetime as dt
import re

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.api.models import ApiToken, Permission
from lastbell.attendance.models import Absence
from lastbell.audit.models import AuditEvent
from lastbell.dismissal.models import Arrival, CustodyEvent
from lastbell.dismissal.services import check_in, day_of
from lastbell.feeds.models import BusFeed
from lastbell.imports.models import ImportRun
from lastbell.messaging.models import Message
from lastbell.people.models import AuthorizedAdult, CustodyRestriction
from lastbell.plans import weekdays
from lastbell.plans.models import Enrollment, PlanChange, PlanType, Program, Source
from lastbell.schools.models import CalendarDay
from lastbell.truancy.models import Letter, LetterBatch

# 2:50 pm Pacific on a school-year Wednesday: the day's dismissal is about to start.
NOW = dt.datetime(2026, 11, 18, 22, 50, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 18)

# The smallest valid PNG and PDF: the photo and court order pages send real files.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4e90000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# The family's name, which no page or answer may show to anyone outside the student's scope.
FAMILY_NAME = "Zapatero"

# --- roles -----------------------------------------------------------------------------------

ANON = "anonymous"
GUARDIAN = "guardian"  # of the student's family
OTHER_GUARDIAN = "guardian of another family"  # whose child is at the other school
OFFICE = "office"  # dismissal staff of the school
OTHER_OFFICE = "office of another school"
TEACHER = "teacher"  # of the student's homeroom
OTHER_TEACHER = "teacher of another homeroom"
SCHOOL_ADMIN = "school admin"
DISTRICT_ADMIN = "district admin"
OTHER_DISTRICT_ADMIN = "district admin of another district"
TOKEN = "token"  # the district's, with every permission
TOKEN_OTHER_SCHOOL = "token of the other school"
TOKEN_OTHER_DISTRICT = "token of another district"
TOKEN_NO_PERMISSION = "token without permissions"
TOKEN_REVOKED = "revoked token"
# The same people at their own school's or district's address, with our records' ids in it:
# being allowed in at the front door must not open another school's records.
OTHER_OFFICE_OWN = "office of another school, at its own school's address"
OTHER_DISTRICT_ADMIN_OWN = "district admin of another district, at its own district's address"

TOKENS = (TOKEN, TOKEN_OTHER_SCHOOL, TOKEN_OTHER_DISTRICT, TOKEN_NO_PERMISSION, TOKEN_REVOKED)
SESSIONS = (
    GUARDIAN, OTHER_GUARDIAN, OFFICE, OTHER_OFFICE, TEACHER, OTHER_TEACHER, SCHOOL_ADMIN,
    DISTRICT_ADMIN, OTHER_DISTRICT_ADMIN, OTHER_OFFICE_OWN, OTHER_DISTRICT_ADMIN_OWN,
)  # fmt: skip
ROLES = (ANON, *SESSIONS, *TOKENS)
# Who a cross-address role stands in for, and which of the URL's ids are its own.
CROSS = {
    OTHER_OFFICE_OWN: (OFFICE, {"school_id"}),
    OTHER_DISTRICT_ADMIN_OWN: (DISTRICT_ADMIN, {"district_id"}),
}
# URL parts that name no record: a cross-address role may fill them in like anyone.
NOT_RECORDS = {"kind", "level", "language"}


@dataclasses.dataclass
class World:
    ids: dict  # URL keyword → id of our record
    own: dict  # cross-address role → {URL keyword: its own id}
    clients: dict  # role → Client
    headers: dict  # role → request headers (a token's Authorization)


def build_world() -> World:
    district = testing.make_district("Riverside Unified")
    other_district = testing.make_district("Lakeview County")
    testing.make_school(other_district, "Lakeview High")
    school = testing.make_school(
        district, "Lincoln Elementary", parent_access=True, parent_editing=True
    )
    other_school = testing.make_school(district, "Washington Middle", parent_access=True)
    room, other_room = testing.make_homeroom(school, "Room 12"), testing.make_homeroom(school)
    route = testing.make_route(school, "12", "North loop")
    student = testing.make_student(school, first="Ana", last=FAMILY_NAME, homeroom=room)
    family = testing.make_guardian(student, first="Maria", last=FAMILY_NAME)
    elsewhere = testing.make_student(other_school, first="Omar", last="Haddad")
    other_family = testing.make_guardian(elsewhere, first="Lina", last="Haddad")

    people = {
        GUARDIAN: family.user,
        OTHER_GUARDIAN: other_family.user,
        OFFICE: testing.make_staff(school, Role.DISMISSAL_STAFF),
        OTHER_OFFICE: testing.make_staff(other_school, Role.DISMISSAL_STAFF),
        TEACHER: testing.make_staff(school, Role.TEACHER, homerooms=[room]),
        OTHER_TEACHER: testing.make_staff(school, Role.TEACHER, homerooms=[other_room]),
        SCHOOL_ADMIN: testing.make_staff(school, Role.SCHOOL_ADMIN),
        DISTRICT_ADMIN: testing.make_district_admin(district),
        OTHER_DISTRICT_ADMIN: testing.make_district_admin(other_district),
    }
    people[OTHER_OFFICE_OWN] = people[OTHER_OFFICE]
    people[OTHER_DISTRICT_ADMIN_OWN] = people[OTHER_DISTRICT_ADMIN]
    office = people[OFFICE]

    every = list(Permission.values)
    secrets = {}
    for role, fields in {
        TOKEN: {"district": district, "permissions": every},
        TOKEN_OTHER_SCHOOL: {"district": district, "school": other_school, "permissions": every},
        TOKEN_OTHER_DISTRICT: {"district": other_district, "permissions": every},
        TOKEN_NO_PERMISSION: {"district": district, "permissions": []},
        TOKEN_REVOKED: {"district": district, "permissions": every, "revoked_at": NOW},
    }.items():
        # Used just now: a request records its use at most once a minute, so it writes nothing.
        token, secrets[role] = ApiToken.issue(name=role, last_used_at=NOW, **fields)
    spare_token, _ = ApiToken.issue(name="Bus vendor", district=district, permissions=every)

    change = PlanChange.objects.create(
        student=student, starts_on=TODAY + dt.timedelta(days=7), ends_on=TODAY
        + dt.timedelta(days=7), weekdays=weekdays.ALL_DAYS, source=Source.GUARDIAN,
        plan_type=PlanType.WALK,
    )  # fmt: skip
    program = Program.objects.create(
        school=school, name="Chess Club", weekdays=weekdays.mask_of([0, 2]),
        starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 6, 11), end_time=dt.time(17, 30),
    )  # fmt: skip
    enrollment = Enrollment.objects.create(
        program=program, student=student, weekdays=weekdays.mask_of([0, 2]),
        starts_on=dt.date(2026, 9, 1), source=Source.STAFF,
    )  # fmt: skip
    adult = AuthorizedAdult.objects.create(
        student=student, first_name="Tía", last_name="Carmen", relationship="Aunt",
        phone="555-0101", source="guardian",
    )  # fmt: skip
    adult.photo.save("carmen.png", ContentFile(PNG))
    restriction = CustodyRestriction.objects.create(
        student=student, person_name=f"Tom {FAMILY_NAME}", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=dt.date(2026, 1, 1),
    )  # fmt: skip
    restriction.court_order_file.save("order.pdf", ContentFile(PDF))
    message = Message.objects.create(
        school=school, student=student, guardian=family, channel="email", to=family.email,
        subject="Pickup", body="Ana's plan changed.", status="failed",
    )  # fmt: skip
    calendar_day = CalendarDay.objects.create(
        school=school, date=dt.date(2026, 11, 26), kind=CalendarDay.Kind.HOLIDAY,
        note="Thanksgiving",
    )  # fmt: skip
    day = day_of(school, TODAY)
    check_in(day, actor=office, method=Arrival.Method.NAME, guardian=family)
    event = CustodyEvent.objects.get(day=day, student=student)
    Absence.objects.create(student=student, date=dt.date(2026, 11, 2), external_id="SIS-1")
    school_run = ImportRun.objects.create(
        district=district, school=school, kind="attendance", mode="check", status="done",
        file_name="year.csv", token="walk-school", created_by=office,
    )  # fmt: skip
    roster_run = ImportRun.objects.create(
        district=district, kind="oneroster", mode="check", status="done",
        file_name="roster.zip", token="walk-roster", created_by=people[DISTRICT_ADMIN],
    )  # fmt: skip
    for run in (school_run, roster_run):
        run.rows_path.write_text("row,outcome\n1,created\n")
    batch = LetterBatch.objects.create(
        district=district, school=school, level=1, level_name="First letter", issued=1,
        status=LetterBatch.Status.DONE, pdf_name="walk.pdf", created_by=office,
    )  # fmt: skip
    batch.pdf_path.write_bytes(PDF)
    letters = [
        Letter.objects.create(
            student=student, school=school, level=level, year_starts_on=dt.date(2026, 7, 1),
            issued_at=NOW, batch=batch if level == 1 else None, issued_by=office,
        )
        for level in (1, 2, 3)  # a conference is about a letter 2, a referral a letter 3
    ]  # fmt: skip
    for each in (school, other_school):
        BusFeed.objects.create(school=each, folder=str(settings.DATA_DIR / "bus-feed"))
    # Today's dismissal at the other school, as its staff's first screen made it.
    day_of(other_school, TODAY)

    clients, headers = {}, {}
    for role in ROLES:
        clients[role] = Client()
        headers[role] = {}
        if role in people:
            clients[role].force_login(people[role])
        if role in secrets:
            headers[role] = {"Authorization": f"Bearer {secrets[role]}"}
    return World(
        ids={
            "school_id": school.pk, "district_id": district.pk, "student_id": student.pk,
            "change_id": change.pk, "program_id": program.pk, "enrollment_id": enrollment.pk,
            "message_id": message.pk, "adult_id": adult.pk, "restriction_id": restriction.pk,
            "day_id": calendar_day.pk, "route_id": route.pk, "event_id": event.pk,
            "batch_id": batch.pk, "letter_id": letters[0].pk,
            "letter_2": letters[1].pk, "letter_3": letters[2].pk, "token_id": spare_token.pk,
            "level": 1, "language": "en", "kind": "attendance",
            "school_run": school_run.pk, "roster_run": roster_run.pk,
            "user_id": office.pk,
        },
        own={
            OTHER_OFFICE_OWN: {"school_id": other_school.pk},
            OTHER_DISTRICT_ADMIN_OWN: {"district_id": other_district.pk},
        },
        clients=clients,
        headers=headers,
    )  # fmt: skip


# Ids that depend on the route: two kinds of import run; the API's attendance event id.
ROUTE_IDS = {
    "imports:school_run": {"run_id": "school_run"},
    "imports:school_run_apply": {"run_id": "school_run"},
    "imports:school_run_rows": {"run_id": "school_run"},
    "imports:roster_run": {"run_id": "roster_run"},
    "imports:roster_run_apply": {"run_id": "roster_run"},
    "imports:roster_run_rows": {"run_id": "roster_run"},
    "truancy:school_letter_conference": {"letter_id": "letter_2"},
    "truancy:school_letter_referral": {"letter_id": "letter_3"},
}

# What a form always carries, so a POST reaches its checks (the rest stays empty, or names
# our student): route → (data from our ids, the record ids the data names).
FORMS = {
    "dismissal:check_in": (lambda ids: {"method": "tag"}, set()),
    "dismissal:sent": (lambda ids: {"student": ids["student_id"]}, {"student_id"}),
    # The student goes to Chess Club on Wednesdays: the program is their group.
    "dismissal:group_release": (
        lambda ids: {"group": f"program:{ids['program_id']}"},
        {"program_id"},
    ),
    "dismissal:group_undo": (lambda ids: {"group": f"program:{ids['program_id']}"}, {"program_id"}),
    "imports:school": (lambda ids: {"kind": "attendance"}, set()),
    "imports:roster": (lambda ids: {"kind": "oneroster"}, set()),
}


# --- routes ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    pattern: str
    keywords: tuple[str, ...]
    api_methods: tuple[str, ...]  # an API operation's declared methods; () for a page

    @property
    def is_api(self) -> bool:
        return self.name.startswith("api-v1:")


def _api_methods() -> dict[str, tuple[str, ...]]:
    from lastbell.api.v1 import api

    methods: dict[str, tuple[str, ...]] = {}
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                name = f"api-v1:{operation.view_func.__name__}"
                methods[name] = tuple(operation.methods)
    return methods


def routes() -> list[Route]:
    """Every named URL pattern of the URL configuration, the API's among them."""
    api_methods = _api_methods()
    found = []

    def walk(resolver, prefix, namespace):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                assert pattern.name, f"Every URL needs a name to be walked: {prefix}{pattern}"
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                text = prefix + str(pattern.pattern)
                keywords = tuple(re.findall(r"<(?:\w+:)?(\w+)>", text))
                found.append(Route(name, text, keywords, api_methods.get(name, ("GET",))
                                   if name.startswith("api-v1:") else ()))  # fmt: skip

    walk(get_resolver(), "", None)
    return found


def methods_of(route: Route) -> tuple[str, ...]:
    """GET and POST everywhere (what browsers and htmx send), and an API operation's own."""
    return tuple(dict.fromkeys(("GET", "POST", *route.api_methods)))


# --- requests --------------------------------------------------------------------------------


def url_for(route: Route, role: str, world: World) -> str:
    ids = dict(world.ids)
    for keyword, key in ROUTE_IDS.get(route.name, {}).items():
        ids[keyword] = ids[key]
    if route.name.startswith("api-v1:attendance_event_"):
        ids["event_id"] = "SIS-1"
    ids.update(world.own.get(role, {}))
    return reverse(route.name, kwargs={k: ids[k] for k in route.keywords})


AUDIT_TABLE = AuditEvent._meta.db_table


class Writes:
    """Every statement that would change a table, but the session's own row and a token's
    last-used time (which a request records at most once a minute)."""

    HARMLESS = re.compile(r'^\s*(UPDATE|INSERT INTO|DELETE FROM)\s+"?(django_session)"?', re.I)
    WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)

    def __init__(self):
        self.seen: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        if self.WRITE.match(sql) and not self.HARMLESS.match(sql):
            self.seen.append(sql[:120])
        return execute(sql, params, many, context)


@dataclasses.dataclass
class Answer:
    status: int
    location: str
    writes: list[str]
    audit_events: int
    names_the_family: bool  # a page, CSV or JSON answer with the family's name in it


def send(route: Route, method: str, role: str, world: World) -> Answer:
    """One request, undone afterwards (whoever sent it, the next role finds the same world)."""
    client = world.clients[role]
    url = url_for(route, role, world)
    cookies = client.cookies  # signing out or switching language must not last
    client.cookies = type(cookies)(cookies)
    writes = Writes()
    with contextlib.ExitStack() as stack:
        stack.enter_context(transaction.atomic())
        stack.enter_context(connection.execute_wrapper(writes))
        if route.is_api:
            response = client.generic(
                method, url, "{}", content_type="application/json", headers=world.headers[role]
            )
        elif method == "POST":
            data = FORMS[route.name][0](world.ids) if route.name in FORMS else {}
            response = client.post(url, data, headers=world.headers[role])
        elif route.name in FORMS:  # a GET with the form's fields in its query
            response = client.get(url, FORMS[route.name][0](world.ids), headers=world.headers[role])
        else:
            response = client.generic(method, url, headers=world.headers[role])
        transaction.set_rollback(True)
    client.cookies = cookies
    # Audit events counted from the statements seen: two COUNT queries a request cost more.
    audit_events = sum(AUDIT_TABLE in sql for sql in writes.seen)
    named = not response.streaming and FAMILY_NAME.encode() in response.content
    return Answer(
        response.status_code, response.get("Location", ""), writes.seen, audit_events, named
    )
