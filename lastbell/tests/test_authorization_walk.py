"""The authorization walk (issue 7 §1): every URL and API route of the URL configuration, each
method it is walked with, requested by every role with real ids filled in.

EXPECT says who is let in, per route and method; everyone else must be refused before the view
looks at the data sent (an empty form, an empty JSON body): anonymous visitors (and API tokens,
which open no page) are sent to sign in, a signed-in person gets a 403 or 404, the API answers
401 to anyone without a valid token and 403 or 404 to a token out of its scope. A refused
request changes nothing: no audit event, no write to any table.

A route with no entry in EXPECT fails, and so does an entry whose route is gone: a new page
comes with its line here.
"""

import logging
from urllib.parse import urlparse

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from lastbell.tests import authz
from lastbell.tests.authz import (
    ANON,
    CROSS,
    DISTRICT_ADMIN,
    GUARDIAN,
    NOT_RECORDS,
    OFFICE,
    OTHER_DISTRICT_ADMIN,
    OTHER_GUARDIAN,
    OTHER_OFFICE,
    OTHER_TEACHER,
    ROLES,
    SCHOOL_ADMIN,
    SESSIONS,
    TEACHER,
    TOKEN,
    TOKEN_OTHER_DISTRICT,
    TOKEN_OTHER_SCHOOL,
    TOKENS,
)

# --- who is let in ---------------------------------------------------------------------------

PUBLIC = "public"  # anyone, signed in or not: sign-in, language, family sign-in links
NOBODY: frozenset = frozenset()
GUARDIANS = frozenset({GUARDIAN, OTHER_GUARDIAN})
FAMILY = frozenset({GUARDIAN})  # the student's own family
DISTRICT = frozenset({DISTRICT_ADMIN})
ADMINS = DISTRICT | {SCHOOL_ADMIN}
EDITORS = ADMINS | {OFFICE}  # office staff and administrators change plans and records
HOMEROOM = EDITORS | {TEACHER}  # a student's pages: teachers see their own homeroom's
STAFF = HOMEROOM | {OTHER_TEACHER}  # everyone who works at the school
ANY_STAFF = STAFF | {OTHER_OFFICE, OTHER_DISTRICT_ADMIN}
SIGNED_IN = ANY_STAFF | GUARDIANS
API_WRITERS = frozenset({TOKEN, TOKEN_OTHER_SCHOOL, TOKEN_OTHER_DISTRICT})
API_SCOPED = frozenset({TOKEN})  # our school's records


def both(who):
    return {"GET": who, "POST": who}


def get(who):
    return {"GET": who}


def post(who):
    return {"POST": who}


EXPECT: dict[str, dict] = {
    # Signing in and out, the language, the family's sign-in links: anyone.
    "accounts:login": both(PUBLIC),
    "accounts:logout": post(PUBLIC),
    # One's own account and its two-step sign-in: staff (a guardian is sent to the family's
    # pages); a district's sign-in rules and a staff member's reset: its district admin.
    "accounts:account": both(SIGNED_IN),
    # Staff without an app set up (nobody here has one) get a 404; guardians are sent on to
    # their family's pages.
    "accounts:two_step_remove": post(GUARDIANS),
    "accounts:two_step_verify": both(SIGNED_IN),
    "accounts:two_step_enrol": both(SIGNED_IN),
    "accounts:district_sign_in": both(DISTRICT),
    "accounts:two_step_reset": post(DISTRICT),
    # A student's records for a records request: the school's and district's admins; erasing
    # a departed student and the district's retention: its district admin.
    "privacy:student": both(ADMINS),
    "privacy:export": post(ADMINS),
    "privacy:erase": both(DISTRICT),
    "privacy:retention": both(DISTRICT),
    "set_language": both(PUBLIC),
    "family:link": get(PUBLIC),
    "family:link_child": get(PUBLIC),
    "family:link_request": both(PUBLIC),
    # Where a signed-in person lands, and the school switch.
    "schools:home": both(SIGNED_IN),
    "schools:pick": both(ANY_STAFF),
    # The district's pages.
    "schools:district": both(DISTRICT),
    "schools:tracker": post(DISTRICT),
    "api_tokens:list": both(DISTRICT),
    "api_tokens:revoke": post(DISTRICT),
    "attendance:codes": both(DISTRICT),
    "imports:roster": both(DISTRICT),
    "imports:roster_run": both(DISTRICT),
    "imports:roster_run_apply": post(DISTRICT),
    "imports:roster_run_rows": both(DISTRICT),
    "truancy:district": both(DISTRICT),
    "truancy:district_policy": both(DISTRICT),
    "truancy:district_issue": both(DISTRICT),
    "truancy:district_batches": get(DISTRICT),
    "truancy:district_batch": get(DISTRICT),
    "truancy:district_batch_pdf": get(DISTRICT),
    "truancy:district_batch_retry": post(DISTRICT),
    "truancy:district_letters": get(DISTRICT),
    "truancy:district_letters_csv": get(DISTRICT),
    "truancy:district_review": get(DISTRICT),
    "truancy:district_followup": get(DISTRICT),
    "truancy:district_chronic": get(DISTRICT),
    "truancy:district_templates": get(DISTRICT),
    "truancy:district_template": both(DISTRICT),
    # A school's settings: its administrators.
    "schools:settings": both(ADMINS),
    "schools:calendar_day_add": post(ADMINS),
    "schools:calendar_day_delete": post(ADMINS),
    "schools:term_add": post(ADMINS),
    "schools:bus_route_add": post(ADMINS),
    "schools:bus_route_toggle": post(ADMINS),
    "truancy:school_policy": both(ADMINS),
    "feeds:page": {"GET": EDITORS, "POST": ADMINS},
    "feeds:pull": post(EDITORS),
    # Plans: everyone at the school reads the board; a teacher only their homeroom's students.
    "plans:dashboard": both(STAFF),
    "plans:roster": both(STAFF),
    "plans:students": both(STAFF),
    "plans:export": both(STAFF),
    "plans:student": both(HOMEROOM),
    "plans:default_edit": both(EDITORS),
    "plans:default_end": post(EDITORS),
    "plans:change_new": both(EDITORS),
    "plans:change_cancel": post(EDITORS),
    "plans:programs": both(EDITORS),
    "plans:program_new": both(EDITORS),
    "plans:program": both(EDITORS),
    "plans:program_edit": both(EDITORS),
    "plans:enrollment_end": post(EDITORS),
    "attendance:edit": both(EDITORS),
    "audit:history": both(EDITORS),
    "live:stream": both(STAFF),
    # Pickup people and custody orders: teachers see their students' list, files are the office's.
    "people:pickup": get(HOMEROOM),
    "people:adult_add": post(EDITORS),
    "people:adult_remove": post(EDITORS),
    "people:adult_verify": post(EDITORS),
    "people:adult_photo": get(EDITORS),
    "people:restriction_add": post(EDITORS),
    "people:restriction_end": both(EDITORS),
    "people:court_order": get(EDITORS),
    # Messages and family invitations.
    "messaging:list": both(EDITORS),
    "messaging:detail": both(EDITORS),
    "messaging:retry": post(EDITORS),
    "families:missing_message": both(EDITORS),
    "families:invite": post(EDITORS),
    "families:invite_all": both(EDITORS),
    # Imports of a school.
    "imports:school": both(EDITORS),
    "imports:template": both(EDITORS),
    "imports:school_run": both(EDITORS),
    "imports:school_run_apply": post(EDITORS),
    "imports:school_run_rows": both(EDITORS),
    # Dismissal: classroom screens for teachers (their homerooms), the rest for the office.
    "dismissal:overview": get(STAFF),
    "dismissal:classroom": get(STAFF),
    "dismissal:late": get(STAFF),
    "dismissal:sent": post(HOMEROOM),
    "dismissal:timeline": get(HOMEROOM),
    "dismissal:curb": get(EDITORS),
    "dismissal:check_in": post(EDITORS),
    "dismissal:release_search": get(EDITORS),
    "dismissal:release": both(EDITORS),
    "dismissal:groups": get(EDITORS),
    "dismissal:group_release": post(EDITORS),
    "dismissal:group_undo": both(EDITORS),
    "dismissal:undo": both(EDITORS),
    "dismissal:tags": get(EDITORS),
    "dismissal:tags_assign": post(EDITORS),
    "dismissal:tags_pdf": get(EDITORS),
    "dismissal:emergency": get(EDITORS),
    "dismissal:emergency_start": both(ADMINS),
    "dismissal:emergency_end": both(ADMINS),
    "dismissal:emergency_desk": get(EDITORS),
    "dismissal:emergency_student": both(EDITORS),
    "dismissal:emergency_account": post(EDITORS),
    "dismissal:emergency_undo": post(EDITORS),
    "dismissal:emergency_log_csv": get(EDITORS),
    "dismissal:emergency_log_pdf": get(EDITORS),
    "dismissal:reports": get(EDITORS),
    "dismissal:reports_pickups": get(EDITORS),
    "dismissal:reports_completion_csv": get(EDITORS),
    "dismissal:reports_late_csv": get(EDITORS),
    "dismissal:reports_emergencies_csv": get(EDITORS),
    "dismissal:reports_pickups_csv": get(EDITORS),
    # Truancy letters: the office and administrators.
    "truancy:school": both(EDITORS),
    "truancy:school_issue": both(EDITORS),
    "truancy:school_batches": get(EDITORS),
    "truancy:school_batch": get(EDITORS),
    "truancy:school_batch_pdf": get(EDITORS),
    "truancy:school_batch_retry": post(EDITORS),
    "truancy:school_letters": get(EDITORS),
    "truancy:school_letters_csv": get(EDITORS),
    "truancy:school_review": get(EDITORS),
    "truancy:school_followup": get(EDITORS),
    "truancy:school_chronic": get(EDITORS),
    "truancy:school_letter": get(EDITORS),
    "truancy:school_letter_void": post(EDITORS),
    "truancy:school_letter_keep": post(EDITORS),
    "truancy:school_letter_conference": post(EDITORS),
    "truancy:school_letter_referral": post(EDITORS),
    # A family's pages: its own children only.
    "family:home": both(GUARDIANS),
    "family:account": both(GUARDIANS),
    "family:child": both(FAMILY),
    "family:usual": both(FAMILY),
    "family:change_new": both(FAMILY),
    "family:change_remove": post(FAMILY),
    "family:month": both(FAMILY),
    "family:adults": both(FAMILY),
    "family:adult_remove": post(FAMILY),
    "family:adult_photo": both(FAMILY),
    "family:check_in": post(FAMILY),
    "family:check_in_status": get(FAMILY),
    # The API: tokens only, each in its scope. The OpenAPI document is public.
    "api-v1:api-root": {},
    "api-v1:openapi-json": both(PUBLIC),
    "api-v1:openapi-view": both(PUBLIC),
    "api-v1:board": get(API_SCOPED),
    # Attendance names its students in the body: any token that may write it, each of whose
    # events is checked against the token's scope.
    "api-v1:attendance_event": post(API_WRITERS),
    "api-v1:attendance_edfi": post(API_WRITERS),
    "api-v1:attendance_event_correct": {"PUT": API_SCOPED},
    "api-v1:attendance_event_delete": {"DELETE": API_SCOPED},
    "api-v1:bus_assignments": {"PUT": API_SCOPED},
    "api-v1:people_upsert": post(API_SCOPED),
}

# --- the walk --------------------------------------------------------------------------------

ROUTES = {route.name: route for route in authz.routes()}
WALKED: list[int] = []


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module, in a transaction rolled back at its end."""
    from django.db import transaction

    data = tmp_path_factory.mktemp("walk")
    quiet = logging.getLogger("django.request")  # thousands of expected 403s and 404s
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    with (
        django_db_blocker.unblock(),
        time_machine.travel(authz.NOW, tick=False),
        override_settings(DATA_DIR=data, MEDIA_ROOT=data / "media"),
        transaction.atomic(),
    ):
        yield authz.build_world()
        transaction.set_rollback(True)
    quiet.setLevel(level)


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    yield
    if WALKED:
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print(
                f"\nAuthorization walk: {len(ROUTES)} routes, {len(WALKED)} route × method "
                f"pairs, {sum(WALKED)} requests ({len(ROLES)} roles)."
            )
        WALKED.clear()  # pytest-django runs the table's own tests apart, after the walk


def allowed_for(route, method, role):
    """Who is let in for this route and method (None: the method is not accepted)."""
    expected = EXPECT[route.name].get(method)
    if expected is None or expected == PUBLIC:
        return expected
    if role in CROSS:
        stand_in, own = CROSS[role]
        keywords = (set(route.keywords) | authz.FORMS.get(route.name, ((), set()))[1]) - NOT_RECORDS
        plain = OTHER_OFFICE if stand_in == OFFICE else OTHER_DISTRICT_ADMIN
        if not keywords & own:
            return frozenset({role}) if plain in expected else NOBODY
        # Our records behind the role's own school or district: never.
        return frozenset({role}) if stand_in in expected and not keywords - own else NOBODY
    return expected


def outcome(answer) -> str:
    if answer.status >= 500:
        return f"error {answer.status}"
    if answer.status == 302 and urlparse(answer.location).path == reverse("accounts:login"):
        return "sign-in"
    return {401: "unauthorized", 403: "refused", 404: "refused", 405: "no such method"}.get(
        answer.status, "allowed"
    )


def refusal(route, role) -> str:
    if route.is_api:
        return "refused" if role in TOKENS and role != authz.TOKEN_REVOKED else "unauthorized"
    return "sign-in" if role == ANON or role in TOKENS else "refused"


# Who may ever see the student's family: everyone else gets no page that names it, whether
# let in (a teacher of another homeroom on the school's board) or refused.
IN_SCOPE = frozenset({GUARDIAN, OFFICE, TEACHER, SCHOOL_ADMIN, DISTRICT_ADMIN, TOKEN})


def check(route, method, role, answer) -> str | None:
    """What is wrong with the answer, or None."""
    if answer.names_the_family and role not in IN_SCOPE:
        return f"shows the student's family ({authz.FAMILY_NAME}) to {role} ({answer.status})"
    got = outcome(answer)
    allowed = allowed_for(route, method, role)
    if allowed == PUBLIC:
        return None if not got.startswith("error") else got
    if allowed is not None and role in allowed:
        if got == "allowed":
            return None
        return f"expected to be let in, got {got} ({answer.status} {answer.location})"
    if allowed is None:
        wrong = got in ("allowed",) or got.startswith("error")
    else:
        wrong = got != refusal(route, role)
    if wrong:
        expected = "refused" if allowed is not None else "no such method (405) or refused"
        return f"expected {expected} ({refusal(route, role)}), got {got} ({answer.status})"
    if answer.writes or answer.audit_events:
        return f"refused but wrote: {answer.audit_events} audit events, {answer.writes}"
    return None


def roles_for(route, method) -> tuple[str, ...]:
    """Every role for a method the route accepts; on a page, one token stands for all (a page
    reads no token: each is an anonymous visitor there). For a method the route does not
    accept, the people let in by its other methods, and an anonymous visitor. A public route
    has a visitor, a guardian, a staff member and a token."""
    roles = ROLES if route.is_api else tuple(r for r in ROLES if r not in TOKENS or r == TOKEN)
    if EXPECT[route.name].get(method) == PUBLIC:
        return (ANON, GUARDIAN, OFFICE, TOKEN)  # open to all: one of each kind answers for all
    if method in EXPECT[route.name]:
        return roles
    others = [who for m, who in EXPECT[route.name].items() if m != method]
    if not others or PUBLIC in others:
        return roles
    return (ANON, *(r for r in roles if any(r in who for who in others)))


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_every_role_gets_what_the_table_says(name, world, db):
    assert name in EXPECT, f"{name} has no line in EXPECT: say who may use it."
    route = ROUTES[name]
    unknown = set(EXPECT[name]) - set(authz.methods_of(route))
    assert not unknown, f"{name}: the walk sends no {unknown} (authz.methods_of)"
    problems = []
    for method in authz.methods_of(route):
        roles = roles_for(route, method)
        for role in roles:
            answer = authz.send(route, method, role, world)
            problem = check(route, method, role, answer)
            if problem:
                problems.append(f"{method} as {role}: {problem}")
        WALKED.append(len(roles))
    assert not problems, f"{name} ({route.pattern}):\n  " + "\n  ".join(problems)


def test_the_table_names_only_routes_that_exist():
    gone = set(EXPECT) - set(ROUTES)
    assert not gone, f"EXPECT names routes that no longer exist: {sorted(gone)}"


def test_the_table_names_only_known_roles():
    known = set(ROLES)
    for name, methods in EXPECT.items():
        for method, who in methods.items():
            assert who == PUBLIC or set(who) <= known, (name, method, set(who) - known)
    assert set(SESSIONS) | set(TOKENS) | {ANON} == known
