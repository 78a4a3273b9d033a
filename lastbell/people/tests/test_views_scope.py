"""Who may open each pickup-and-custody URL, persona by persona (DESIGN.md §1).

A school or student outside the user's scope is a 404; a teacher may read the page of a
student in their homeroom but change nothing and open no photo or court order (403); an
anonymous visitor is sent to sign in; a guardian has no staff page at all.
"""

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.people import services
from lastbell.people.models import PickupSource
from lastbell.people.tests.uploads import PDF_BYTES, upload

READ, EDIT, FILE = "read", "edit", "file"
URLS = [
    ("people:pickup", "GET", READ),
    ("people:adult_add", "POST", EDIT),
    ("people:adult_remove", "POST", EDIT),
    ("people:adult_verify", "POST", EDIT),
    ("people:adult_photo", "GET", FILE),
    ("people:restriction_add", "POST", EDIT),
    ("people:restriction_end", "GET", EDIT),
    ("people:restriction_end", "POST", EDIT),
    ("people:court_order", "GET", FILE),
]
PERSONAS = [
    "anonymous", "staff", "school_admin", "district_admin", "other_staff",
    "admin_of_another_district", "teacher", "teacher_of_another_room", "guardian",
]  # fmt: skip


@pytest.fixture
def admin_of_another_district(db):
    return testing.make_district_admin(testing.make_district("Hillside Unified"))


@pytest.fixture
def teacher_of_another_room(school):
    from lastbell.accounts.models import Role

    return testing.make_staff(school, Role.TEACHER, homerooms=[testing.make_homeroom(school)])


def _objects(student):
    office = testing.make_staff(student.school)
    adult = services.adult_add(
        student=student, actor=office, source=PickupSource.STAFF, first_name="Rosa",
        last_name="Diaz", relationship="Aunt", phone="555-010-0123", photo=upload(),
    )  # fmt: skip
    restriction = services.restriction_record(
        student=student, actor=office, person_name="Victor Diaz", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=student.school.today(),
        court_order_file=upload("order.pdf", PDF_BYTES, "application/pdf"),
    )  # fmt: skip
    return {"student": student, "adult": adult, "restriction": restriction}


def _args(name, o):
    base = [o["student"].school_id, o["student"].id]
    if "adult_" in name and name != "people:adult_add":
        return [*base, o["adult"].id]
    if name in ("people:restriction_end", "people:court_order"):
        return [*base, o["restriction"].id]
    return base


def _data(name):
    """A valid form for each POST, so that only access decides the answer."""
    return {
        "people:adult_add": {"first_name": "Pablo", "last_name": "Cruz", "relationship": "Uncle",
                             "phone": "555-010-0144"},
        "people:restriction_add": {"person_name": "Ed Stone", "kind": "no_contact",
                                   "court_order_reference": "FL-9", "starts_on": "2026-11-18"},
        "people:restriction_end": {"reason": "Lifted by FL-2026-0107"},
    }.get(name, {})  # fmt: skip


def _sign_in(client, request, persona):
    if persona == "anonymous":
        return
    user = request.getfixturevalue(persona)
    client.force_login(getattr(user, "user", None) or user)


def _expected(persona, kind, method):
    if persona == "anonymous":
        return "sign-in"
    if persona in ("other_staff", "admin_of_another_district", "teacher_of_another_room",
                   "guardian"):  # fmt: skip
        return 404
    if persona == "teacher" and kind in (EDIT, FILE):
        return 403
    return 302 if method == "POST" else 200


CASES = [
    pytest.param(name, method, kind, persona, id=f"{name}-{method}-{persona}")
    for name, method, kind in URLS
    for persona in PERSONAS
]


@pytest.mark.parametrize(("name", "method", "kind", "persona"), CASES)
def test_it_answers_each_persona_as_the_access_rules_say(
    client, request, on_school_day, student, guardian, name, method, kind, persona
):
    objects = _objects(student)
    events = AuditEvent.objects.count()
    _sign_in(client, request, persona)
    url = reverse(name, args=_args(name, objects))

    r = client.get(url) if method == "GET" else client.post(url, _data(name))

    expected = _expected(persona, kind, method)
    if expected == "sign-in":
        assert r.status_code == 302
        assert r.url.startswith(reverse("accounts:login") + "?next=")
    else:
        assert r.status_code == expected, r.content[:500]
        if expected == 302:
            assert AuditEvent.objects.count() == events + 1  # the change happened
        if expected == 404:
            assert b"Lincoln Elementary" not in r.content
            assert b"Victor Diaz" not in r.content
    if expected in (403, 404, "sign-in"):
        assert AuditEvent.objects.count() == events  # nothing changed


NAMING_AN_OBJECT = [pytest.param(n, m, id=f"{n}-{m}") for n, m, _ in URLS]


@pytest.mark.parametrize(("name", "method"), NAMING_AN_OBJECT)
def test_it_hides_another_school_s_student_behind_a_404(
    client, on_school_day, school, other_school, staff, name, method
):
    """Lincoln staff who put a Washington student's ids in a Lincoln URL."""
    objects = _objects(testing.make_student(other_school, first="Ben"))
    client.force_login(staff)
    args = _args(name, objects)
    args[0] = school.id

    r = (
        client.get(reverse(name, args=args))
        if method == "GET"
        else client.post(reverse(name, args=args), _data(name))
    )

    assert r.status_code == 404


@pytest.mark.parametrize(
    "name", ["people:adult_remove", "people:adult_verify", "people:adult_photo",
             "people:restriction_end", "people:court_order"],
)  # fmt: skip
def test_it_hides_a_classmate_s_adult_or_restriction_behind_a_404(
    client, on_school_day, school, student, staff, name
):
    """The right school and student, but the adult or restriction of another student."""
    objects = _objects(testing.make_student(school, first="Ben"))
    events = AuditEvent.objects.count()
    client.force_login(staff)
    args = _args(name, objects)
    args[1] = student.id
    method = "get" if name in ("people:adult_photo", "people:court_order") else "post"

    r = getattr(client, method)(reverse(name, args=args), _data(name))

    assert r.status_code == 404
    assert AuditEvent.objects.count() == events
