"""Creating and editing an after-school program."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils.html import escape
from pytest_django.asserts import assertContains

from lastbell.audit.models import AuditEvent
from lastbell.plans import weekdays
from lastbell.plans.models import DefaultDay, Enrollment, LongTermDefault, PlanChange, Program

CHESS = {"name": "Chess Club", "kind": "club", "meets_on": ["0", "2"],
         "starts_on": "2026-11-18", "ends_on": "2027-06-11", "end_time": "17:30",
         "capacity": "", "location": "Library"}  # fmt: skip


def _rows():
    models = [PlanChange, LongTermDefault, DefaultDay, Program, Enrollment, AuditEvent]
    return {m.__name__: m.objects.count() for m in models}


def _program(school, name="Chess Club", **fields):
    values = {
        "weekdays": weekdays.mask_of([0, 2]),
        "starts_on": dt.date(2026, 11, 18),  # not met yet: every field may still change
        "ends_on": dt.date(2027, 6, 11),
        "end_time": dt.time(17, 30),
        **fields,
    }
    return Program.objects.create(school=school, name=name, **values)


def test_it_shows_an_empty_form(client, on_school_day, school, staff):
    client.force_login(staff)

    r = client.get(reverse("plans:program_new", args=[school.id]))

    assertContains(r, "New program")
    assertContains(r, 'value="2026-11-18"')


def test_it_creates_a_program(client, on_school_day, school, staff):
    client.force_login(staff)

    r = client.post(reverse("plans:program_new", args=[school.id]), CHESS, follow=True)

    program = Program.objects.get(school=school)
    assert r.redirect_chain == [(reverse("plans:program", args=[school.id, program.id]), 302)]
    assertContains(r, "Saved Chess Club.")
    assert (program.name, program.kind, program.days_label) == ("Chess Club", "club", "Mon, Wed")
    assert (program.end_time, program.capacity) == (dt.time(17, 30), None)
    assert AuditEvent.objects.filter(action="program.created", actor=staff).count() == 1


def test_it_allows_the_same_name_at_another_school(
    client, on_school_day, school, other_school, staff
):
    _program(other_school)
    client.force_login(staff)

    r = client.post(reverse("plans:program_new", args=[school.id]), CHESS)

    assert r.status_code == 302
    assert Program.objects.filter(school=school, name="Chess Club").exists()


def test_it_edits_a_program(client, on_school_day, school, staff):
    program = _program(school)
    client.force_login(staff)

    r = client.post(
        reverse("plans:program_edit", args=[school.id, program.id]),
        {**CHESS, "meets_on": ["0", "1", "2", "3", "4"], "capacity": "20"},
    )

    assert r.status_code == 302
    program.refresh_from_db()
    assert (program.days_label, program.capacity) == ("Mon–Fri", 20)
    event = AuditEvent.objects.get(action="program.updated")
    assert (event.before["days"], event.after["days"]) == ("Mon, Wed", "Mon–Fri")


def test_it_shows_the_program_being_edited(client, on_school_day, school, staff):
    program = _program(school)
    client.force_login(staff)

    r = client.get(reverse("plans:program_edit", args=[school.id, program.id]))

    assertContains(r, "Edit Chess Club")
    assertContains(r, 'value="Chess Club"')


BAD = [
    pytest.param({"starts_on": "2027-01-10", "ends_on": "2026-12-01"},
                 "The last day is before the first day.", id="ends-before-start"),
    pytest.param({"name": "chess club"},
                 "This school already has a program with that name.", id="duplicate-name"),
    pytest.param({"meets_on": []}, "Choose the days the program meets.", id="no-days"),
    pytest.param({"name": ""}, "Give the program a name.", id="no-name"),
    pytest.param({"starts_on": "next week"}, "Enter a date such as 2026-11-30.",
                 id="malformed-date"),
    pytest.param({"end_time": "after school"}, "Enter a time such as 5:30 PM.",
                 id="malformed-time"),
    pytest.param({"ends_on": ""}, "Give the program's last day.", id="no-last-day"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "sentence"), BAD)
def test_it_refuses_a_bad_new_program(client, on_school_day, school, staff, changes, sentence):
    _program(school)
    before = _rows()
    client.force_login(staff)

    r = client.post(reverse("plans:program_new", args=[school.id]), {**CHESS, **changes})

    assertContains(r, escape(sentence), status_code=400)
    assert _rows() == before


def test_it_refuses_to_rename_a_program_to_another_ones_name(client, on_school_day, school, staff):
    _program(school)
    robotics = _program(school, "Robotics")
    before = _rows()
    client.force_login(staff)

    r = client.post(
        reverse("plans:program_edit", args=[school.id, robotics.id]),
        {**CHESS, "name": "CHESS CLUB"},
    )

    assertContains(r, "This school already has a program with that name.", status_code=400)
    assertContains(r, "<h1>Edit Robotics</h1>", status_code=400)  # not the refused name
    assert _rows() == before
    robotics.refresh_from_db()
    assert robotics.name == "Robotics"


def test_it_keeps_a_programs_own_name_when_editing(client, on_school_day, school, staff):
    program = _program(school)
    client.force_login(staff)

    r = client.post(
        reverse("plans:program_edit", args=[school.id, program.id]), {**CHESS, "location": "Room 4"}
    )

    assert r.status_code == 302
    program.refresh_from_db()
    assert program.location == "Room 4"
