"""Adding a one-time or short-term change from a student's page."""

import re

import pytest
from django.contrib import messages
from django.contrib.messages import Message
from django.urls import reverse
from django.utils.html import escape
from pytest_django.asserts import assertContains, assertMessages, assertRedirects

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.plans import weekdays
from lastbell.plans.models import DefaultDay, Enrollment, LongTermDefault, PlanChange, Program

OTHER_ROUTE, OTHER_GUARDIAN = object(), object()  # filled in by the test


def _rows():
    models = [PlanChange, LongTermDefault, DefaultDay, Program, Enrollment, AuditEvent]
    return {m.__name__: m.objects.count() for m in models}


def _url(school, student):
    return reverse("plans:change_new", args=[school.id, student.id])


def _plan_now(response) -> str:
    """The plan of the chosen day, as the student page shows it at the top."""
    assert response.status_code == 200
    return re.search(r'<p class="bigplan">(.*?)</p>', response.content.decode(), re.S)[1]


def _stat(name, value):
    return f'<span class="num" data-testid="{name}">{value}</span>'


BAD = [
    pytest.param({"starts_on": "2026-11-20", "ends_on": "2026-11-19", "plan_type": "walk"},
                 "The last day of the change is before its first day.", id="ends-before-start"),
    pytest.param({"starts_on": "2026-11-17", "plan_type": "walk"},
                 "A change can't start in the past.", id="starts-in-the-past"),
    pytest.param({"starts_on": "2026-11-19", "ends_on": "2028-01-04", "plan_type": "walk"},
                 "A change can last a year at most; set a long-term default instead.",
                 id="longer-than-a-year"),
    pytest.param({"starts_on": "2026-11-19", "plan_type": "other"},
                 "Add a note that says how the student gets home.", id="other-without-note"),
    pytest.param({"starts_on": "2026-11-19", "plan_type": "bus"},
                 "Choose the bus route for a bus plan.", id="bus-without-route"),
    pytest.param({"starts_on": "2026-11-19", "plan_type": "bus", "bus_route": OTHER_ROUTE},
                 "Choose a bus route from this school's list.", id="bus-of-another-school"),
    pytest.param({"starts_on": "2026-11-19", "plan_type": "pickup", "pickup_name": "  "},
                 "Say who picks the student up: a guardian or another adult.",
                 id="pickup-without-person"),
    pytest.param({"starts_on": "2026-11-19", "plan_type": "pickup",
                  "pickup_guardian": OTHER_GUARDIAN},
                 "Choose one of this student's guardians.", id="pickup-by-another-family"),
    pytest.param({"starts_on": "2026-11-19", "plan_type": "early_dismissal"},
                 "Give the time of the early dismissal.", id="early-without-time"),
    pytest.param({"starts_on": "2026-11-19", "plan_type": "early_dismissal",
                  "dismiss_at": "half past one"},
                 "Enter a time such as 1:30 PM.", id="early-with-a-bad-time"),
    pytest.param({"starts_on": "2026-11-19", "plan_type": "absence"},
                 "Choose how the student gets home from the list.", id="absence-by-hand"),
    pytest.param({"starts_on": "2026-11-19", "plan_type": "program"},
                 "Choose how the student gets home from the list.", id="program-by-hand"),
    pytest.param({"starts_on": "2026-11-19"},
                 "Choose how the student gets home.", id="no-type"),
    pytest.param({"starts_on": "tomorrow", "plan_type": "walk"},
                 "Enter a date such as 2026-11-30.", id="malformed-start"),
    pytest.param({"starts_on": "2026-11-19", "ends_on": "2026-02-30", "plan_type": "walk"},
                 "Enter a date such as 2026-11-30.", id="malformed-end"),
    pytest.param({"plan_type": "walk"},
                 "Give the first day of the change.", id="no-start"),
    # Thu Nov 19 – Fri Nov 20 has no Monday.
    pytest.param({"starts_on": "2026-11-19", "ends_on": "2026-11-20", "weekdays": ["0"],
                  "plan_type": "walk"},
                 "None of the chosen weekdays falls between those dates.",
                 id="no-chosen-weekday-in-range"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "sentence"), BAD)
def test_it_refuses_bad_input_and_saves_nothing(
    client, on_school_day, school, other_school, staff, student, guardian, data, sentence
):
    data = dict(data)
    if data.get("bus_route") is OTHER_ROUTE:
        data["bus_route"] = testing.make_route(other_school, "12").id
    if data.get("pickup_guardian") is OTHER_GUARDIAN:
        stranger = testing.make_student(school, first="Zed")
        data["pickup_guardian"] = testing.make_guardian(stranger, first="Olga").id
    before = _rows()
    client.force_login(staff)

    r = client.post(_url(school, student), data)

    assertContains(r, escape(sentence), status_code=400)
    assert _rows() == before


def test_it_shows_the_form(client, on_school_day, school, staff, student):
    client.force_login(staff)

    r = client.get(_url(school, student))

    assertContains(r, "Add a change for Ana Rivera")
    assertContains(r, 'value="2026-11-18"')  # starts today by default


def test_it_adds_a_one_day_change_for_today(client, on_school_day, school, staff, student):
    client.force_login(staff)
    dashboard = reverse("plans:dashboard", args=[school.id])
    assertContains(client.get(dashboard), _stat("missing", 1), html=True)

    r = client.post(
        _url(school, student),
        {"starts_on": "2026-11-18", "plan_type": "walk", "note": "with her brother"},
    )

    page = reverse("plans:student", args=[school.id, student.id])
    assertRedirects(r, page, fetch_redirect_response=False)
    change = PlanChange.objects.get(student=student)
    assert (change.starts_on.isoformat(), change.ends_on.isoformat()) == ("2026-11-18",) * 2
    assert change.set_by == staff
    assert (
        AuditEvent.objects.filter(
            action="plan.change.created", actor=staff, student=student
        ).count()
        == 1
    )
    r = client.get(page)
    assertContains(r, "Added a change for Ana Rivera: Wed Nov 18, 2026.")
    assert "Walks home — with her brother" in _plan_now(r)
    assertContains(r, "A change for this day overrides the usual plan; set by Dana Office")
    r = client.get(dashboard)
    assertContains(r, _stat("planned", 1), html=True)
    assertContains(r, _stat("missing", 0), html=True)


def test_it_adds_a_change_on_some_weekdays_of_a_range(
    client, on_school_day, school, staff, student
):
    client.force_login(staff)

    # Every Friday from Nov 20 to Dec 11.
    r = client.post(_url(school, student), {
        "starts_on": "2026-11-20", "ends_on": "2026-12-11", "weekdays": ["4"],
        "plan_type": "bike",
    })  # fmt: skip

    assertMessages(
        r,
        [Message(messages.SUCCESS, "Added a change for Ana Rivera: Nov 20 – Dec 11, 2026 (Fri).")],
    )
    change = PlanChange.objects.get(student=student)
    assert change.weekdays == weekdays.mask_of([4])
    dashboard = reverse("plans:dashboard", args=[school.id])
    assertContains(client.get(dashboard, {"date": "2026-11-27"}), _stat("planned", 1), html=True)
    # Not on a Monday inside the range, nor on a Friday after it.
    for other_day in ["2026-11-23", "2026-12-18"]:
        r = client.get(dashboard, {"date": other_day})
        assertContains(r, _stat("missing", 1), html=True)
    page = reverse("plans:student", args=[school.id, student.id])
    assert "Bikes home" in _plan_now(client.get(page, {"date": "2026-12-11"}))


def test_it_adds_a_bus_change_that_the_dashboard_counts(
    client, on_school_day, school, staff, student, route
):
    client.force_login(staff)

    client.post(_url(school, student),
                {"starts_on": "2026-11-18", "plan_type": "bus", "bus_route": route.id,
                 "pickup_name": "left over from another type"})  # fmt: skip

    change = PlanChange.objects.get(student=student)
    assert change.bus_route == route
    assert change.pickup_name == ""  # details of another type are dropped
    r = client.get(reverse("plans:dashboard", args=[school.id]))
    assertContains(
        r, '<tr><td>Bus 12</td><td>North loop</td><td class="num">1</td></tr>', html=True
    )
