"""A district admin turns the dismissal tracker on or off per school; off shows none of it."""

import datetime as dt

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.plans import weekdays
from lastbell.plans.models import DefaultDay, Enrollment, LongTermDefault, PlanChange, Program

OFF = "The dismissal tracker is off for Lincoln Elementary"


@pytest.fixture
def admin_of_another_district(db):
    return testing.make_district_admin(testing.make_district("Hillside Unified"))


@pytest.fixture
def tracker_off(school):
    school.tracker_enabled = False
    school.save()
    return school


@pytest.fixture
def things(school, student):
    change = PlanChange.objects.create(
        student=student,
        starts_on=dt.date(2026, 11, 19),
        ends_on=dt.date(2026, 11, 19),
        plan_type="walk",
    )
    program = Program.objects.create(
        school=school, name="Chess Club", weekdays=weekdays.SCHOOL_WEEK,
        starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 6, 11), end_time=dt.time(17, 30),
    )  # fmt: skip
    enrollment = Enrollment.objects.create(
        program=program,
        student=student,
        weekdays=weekdays.SCHOOL_WEEK,
        starts_on=dt.date(2026, 9, 1),
    )
    default = LongTermDefault.objects.create(student=student, starts_on=dt.date(2026, 9, 1))
    DefaultDay.objects.create(default=default, weekday=2, plan_type="bike")
    return {"school": school.id, "student": student.id, "change": change.id,
            "program": program.id, "enrollment": enrollment.id}  # fmt: skip


def _rows():
    models = [PlanChange, LongTermDefault, DefaultDay, Program, Enrollment, AuditEvent]
    state = {m.__name__: m.objects.count() for m in models}
    state["ends"] = list(LongTermDefault.objects.values_list("ends_on", flat=True))
    state["cancelled"] = list(PlanChange.objects.values_list("cancelled_at", flat=True))
    state["enrollment_ends"] = list(Enrollment.objects.values_list("ends_on", flat=True))
    return state


def _toggle(client, district, school, enabled):
    data = {"enabled": "on"} if enabled else {}
    return client.post(reverse("schools:tracker", args=[district.id, school.id]), data)


def test_it_turns_the_tracker_off(client, on_school_day, district, school, district_admin):
    client.force_login(district_admin)

    r = _toggle(client, district, school, enabled=False)

    assertRedirects(
        r, reverse("schools:district", args=[district.id]), fetch_redirect_response=False
    )
    school.refresh_from_db()
    assert school.tracker_enabled is False
    event = AuditEvent.objects.get(action="school.tracker.disabled")
    assert (event.actor, event.school) == (district_admin, school)
    r = client.get(reverse("schools:district", args=[district.id]))
    assertContains(r, "The dismissal tracker is off for Lincoln Elementary.")
    assertContains(r, "Tracker off")


def test_it_turns_the_tracker_back_on(client, on_school_day, district, tracker_off, district_admin):
    client.force_login(district_admin)

    _toggle(client, district, tracker_off, enabled=True)

    tracker_off.refresh_from_db()
    assert tracker_off.tracker_enabled is True
    assert AuditEvent.objects.filter(action="school.tracker.enabled").count() == 1
    r = client.get(reverse("plans:dashboard", args=[tracker_off.id]))
    assertContains(r, "How students go home")


@pytest.mark.parametrize(
    "persona", ["staff", "teacher", "other_staff", "guardian", "admin_of_another_district"]
)
def test_it_lets_only_the_districts_admin_switch_it(
    client, on_school_day, request, district, school, persona
):
    user = request.getfixturevalue(persona)
    client.force_login(getattr(user, "user", None) or user)

    r = _toggle(client, district, school, enabled=False)

    assert r.status_code == 404
    school.refresh_from_db()
    assert school.tracker_enabled is True
    assert not AuditEvent.objects.exists()


def test_it_refuses_a_school_of_another_district(client, on_school_day, district, district_admin):
    outside = testing.make_school(testing.make_district("Hillside Unified"), "Hill Elementary")
    client.force_login(district_admin)

    r = _toggle(client, district, outside, enabled=False)

    assert r.status_code == 404
    outside.refresh_from_db()
    assert outside.tracker_enabled is True


def test_it_switches_only_by_post(client, on_school_day, district, school, district_admin):
    client.force_login(district_admin)

    r = client.get(reverse("schools:tracker", args=[district.id, school.id]))

    assert r.status_code == 405


def test_it_sends_an_anonymous_visitor_to_sign_in(client, district, school):
    r = _toggle(client, district, school, enabled=False)

    assert r.status_code == 302
    assert r.url.startswith(reverse("accounts:login"))
    school.refresh_from_db()
    assert school.tracker_enabled is True


PAGES = [
    ("plans:dashboard", ["school"]),
    ("plans:roster", ["school"]),
    ("plans:students", ["school"]),
    ("plans:student", ["school", "student"]),
    ("plans:export", ["school"]),
    ("plans:default_edit", ["school", "student"]),
    ("plans:change_new", ["school", "student"]),
    ("plans:programs", ["school"]),
    ("plans:program_new", ["school"]),
    ("plans:program", ["school", "program"]),
    ("plans:program_edit", ["school", "program"]),
    ("audit:history", ["school"]),
]


@pytest.mark.parametrize(("name", "args"), PAGES, ids=[name for name, _ in PAGES])
def test_it_shows_none_of_the_tracker_when_off(
    client, on_school_day, tracker_off, staff, things, name, args
):
    client.force_login(staff)

    r = client.get(reverse(name, args=[things[a] for a in args]))

    assertContains(r, OFF)
    assertContains(r, "Nothing of the tracker shows until a district admin turns it on.")


POSTS = [
    ("plans:default_edit", ["school", "student"],
     {"pattern": "same", "starts_on": "2026-11-18", "all-plan_type": "walk"}),
    ("plans:default_end", ["school", "student"], {}),
    ("plans:change_new", ["school", "student"], {"starts_on": "2026-11-19", "plan_type": "bike"}),
    ("plans:change_cancel", ["school", "student", "change"], {}),
    ("plans:program_new", ["school"],
     {"name": "Robotics", "kind": "club", "meets_on": ["0"], "starts_on": "2026-11-18",
      "ends_on": "2027-06-11", "end_time": "17:30"}),
    ("plans:program", ["school", "program"],
     {"student": "student", "days": ["0"], "starts_on": "2026-11-18"}),
    ("plans:enrollment_end", ["school", "program", "enrollment"], {}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "data"), POSTS, ids=[name for name, _, _ in POSTS])
def test_it_changes_nothing_while_the_tracker_is_off(
    client, on_school_day, tracker_off, staff, things, name, args, data
):
    data = {k: things[v] if v == "student" else v for k, v in data.items()}
    before = _rows()
    client.force_login(staff)

    r = client.post(reverse(name, args=[things[a] for a in args]), data)

    assert _rows() == before
    assertContains(r, OFF)


def test_it_offers_a_district_admin_the_way_to_turn_it_on(
    client, on_school_day, district, tracker_off, district_admin
):
    client.force_login(district_admin)

    r = client.get(reverse("plans:dashboard", args=[tracker_off.id]))

    assertContains(r, OFF)
    assertContains(r, reverse("schools:district", args=[district.id]))
