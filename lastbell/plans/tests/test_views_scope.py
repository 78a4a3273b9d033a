"""Who may open which school page (DESIGN.md §1): every staff URL for every persona.

The rules: a school outside the user's memberships is a 404 (ids in URLs reveal nothing),
a teacher may look but not change (403), a district admin covers every school of the
district, and an anonymous visitor is sent to sign in.
"""

import datetime as dt

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.plans import weekdays
from lastbell.plans.models import Enrollment, PlanChange, Program

TODAY = dt.date(2026, 11, 18)
TOMORROW = TODAY + dt.timedelta(days=1)

VIEW, EDIT = "view", "edit"  # a teacher may open the first kind, not the second
PAGES = [
    ("plans:dashboard", "GET", VIEW),
    ("plans:roster", "GET", VIEW),
    ("plans:students", "GET", VIEW),
    ("plans:student", "GET", VIEW),
    ("plans:export", "GET", VIEW),
    ("plans:default_edit", "GET", EDIT),
    ("plans:default_edit", "POST", EDIT),
    ("plans:default_end", "POST", EDIT),
    ("plans:change_new", "GET", EDIT),
    ("plans:change_new", "POST", EDIT),
    ("plans:change_cancel", "POST", EDIT),
    ("plans:programs", "GET", EDIT),
    ("plans:program_new", "GET", EDIT),
    ("plans:program_new", "POST", EDIT),
    ("plans:program", "GET", EDIT),
    ("plans:program", "POST", EDIT),
    ("plans:program_edit", "GET", EDIT),
    ("plans:program_edit", "POST", EDIT),
    ("plans:enrollment_end", "POST", EDIT),
    ("audit:history", "GET", EDIT),
]
PERSONAS = [
    "anonymous", "staff", "other_staff", "district_admin", "admin_of_another_district",
    "teacher", "guardian",
]  # fmt: skip


@pytest.fixture
def admin_of_another_district(db):
    return testing.make_district_admin(testing.make_district("Hillside Unified"))


def _objects(school, student):
    """A change, a program and an enrollment, for the URLs that name them."""
    change = PlanChange.objects.create(
        student=student, starts_on=TOMORROW, ends_on=TOMORROW, plan_type="walk"
    )
    program = Program.objects.create(
        school=school, name="Chess Club", weekdays=weekdays.SCHOOL_WEEK, starts_on=TODAY,
        ends_on=dt.date(2027, 6, 11), end_time=dt.time(17, 30),
    )  # fmt: skip
    # A classmate is enrolled already, so that `student` can be enrolled by the POST.
    classmate = testing.make_student(school, first="Cleo")
    enrollment = Enrollment.objects.create(
        program=program, student=classmate, weekdays=weekdays.mask_of([0]), starts_on=TODAY
    )
    return {"school": school, "student": student, "change": change, "program": program,
            "enrollment": enrollment}  # fmt: skip


def _args(name, o):
    s, st, p = o["school"].id, o["student"].id, o["program"].id
    return {
        "plans:student": [s, st],
        "plans:default_edit": [s, st],
        "plans:default_end": [s, st],
        "plans:change_new": [s, st],
        "plans:change_cancel": [s, st, o["change"].id],
        "plans:program": [s, p],
        "plans:program_edit": [s, p],
        "plans:enrollment_end": [s, p, o["enrollment"].id],
    }.get(name, [s])


def _data(name, o):
    """A valid form for each POST, so that only access decides the answer."""
    program = {"kind": "club", "meets_on": ["0", "2"], "starts_on": TODAY.isoformat(),
               "ends_on": "2027-06-11", "end_time": "17:30"}  # fmt: skip
    return {
        "plans:default_edit": {"pattern": "same", "starts_on": TODAY.isoformat(),
                               "all-plan_type": "walk"},
        "plans:change_new": {"starts_on": TOMORROW.isoformat(), "plan_type": "bike"},
        "plans:program_new": {**program, "name": "Robotics"},
        "plans:program_edit": {**program, "name": "Chess Club"},
        "plans:program": {"student": o["student"].id, "days": ["2"],
                          "starts_on": TODAY.isoformat()},
    }.get(name, {})  # fmt: skip


def _request(client, name, method, objects):
    url = reverse(name, args=_args(name, objects))
    if method == "GET":
        return client.get(url)
    return client.post(url, _data(name, objects))


def _sign_in(client, request, persona):
    if persona == "anonymous":
        return
    user = request.getfixturevalue(persona)
    if persona == "guardian":
        user = user.user
    client.force_login(user)


def _expected(persona, kind, method):
    if persona == "anonymous":
        return "sign-in"
    if persona in ("other_staff", "admin_of_another_district", "guardian"):
        return 404
    if persona == "teacher" and kind == EDIT:
        return 403
    return 200 if method == "GET" else 302


CASES = [
    pytest.param(name, method, kind, persona, id=f"{name}-{method}-{persona}")
    for name, method, kind in PAGES
    for persona in PERSONAS
]


@pytest.mark.parametrize(("name", "method", "kind", "persona"), CASES)
def test_it_answers_each_persona_as_the_access_rules_say(
    client, request, on_school_day, school, student, name, method, kind, persona
):
    objects = _objects(school, student)
    _sign_in(client, request, persona)

    r = _request(client, name, method, objects)

    expected = _expected(persona, kind, method)
    sign_in = reverse("accounts:login")
    if expected == "sign-in":
        assert r.status_code == 302
        assert r.url.startswith(sign_in + "?next=")
    else:
        assert r.status_code == expected
        if expected == 302:
            assert not r.url.startswith(sign_in)
        if expected == 404:
            assert b"Lincoln Elementary" not in r.content  # the id reveals nothing


@pytest.mark.parametrize(
    ("name", "method"), [pytest.param(n, m, id=f"{n}-{m}") for n, m, _ in PAGES]
)
def test_it_lets_a_district_admin_into_every_school_of_the_district(
    client, on_school_day, district_admin, other_school, name, method
):
    pupil = testing.make_student(other_school, first="Ben")
    objects = _objects(other_school, pupil)
    client.force_login(district_admin)

    r = _request(client, name, method, objects)

    assert r.status_code == (200 if method == "GET" else 302)


NAMING_AN_OBJECT = [
    pytest.param(n, m, id=f"{n}-{m}") for n, m, _ in PAGES
    if n in ("plans:student", "plans:default_edit", "plans:default_end", "plans:change_new",
             "plans:change_cancel", "plans:program", "plans:program_edit",
             "plans:enrollment_end")
]  # fmt: skip


@pytest.mark.parametrize(("name", "method"), NAMING_AN_OBJECT)
def test_it_hides_a_student_of_another_school_behind_a_404(
    client, on_school_day, school, other_school, staff, name, method
):
    """Staff of Lincoln who put a Washington student's or program's id in a Lincoln URL."""
    pupil = testing.make_student(other_school, first="Ben")
    objects = _objects(other_school, pupil)
    objects["school"] = school
    client.force_login(staff)

    r = _request(client, name, method, objects)

    assert r.status_code == 404
