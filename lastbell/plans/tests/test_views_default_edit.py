"""Setting a student's long-term default: the same every day, or different by weekday."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils.html import escape
from pytest_django.asserts import assertContains, assertRedirects

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.plans.models import DefaultDay, Enrollment, LongTermDefault, PlanChange, Program

OTHER_ROUTE = object()  # filled in by the test
NO_DAYS = {f"d{day}-plan_type": "" for day in range(5)}


def _rows():
    models = [PlanChange, LongTermDefault, DefaultDay, Program, Enrollment, AuditEvent]
    return {m.__name__: m.objects.count() for m in models}


def _url(school, student):
    return reverse("plans:default_edit", args=[school.id, student.id])


def _plan_on(client, school, date) -> str:
    """The plan cell of the only student on the students tab for `date`."""
    r = client.get(reverse("plans:students", args=[school.id]), {"date": date})
    assert r.status_code == 200
    cells = re.findall(r'<td data-label="Plan">(.*?)</td>', r.content.decode(), re.S)
    assert len(cells) == 1
    return cells[0]


def _old_default(student, plan_type="walk", starts_on=dt.date(2026, 9, 1), **days):
    default = LongTermDefault.objects.create(student=student, starts_on=starts_on)
    for weekday in range(5):
        DefaultDay.objects.create(
            default=default, weekday=weekday, plan_type=days.get(str(weekday), plan_type)
        )
    return default


# The plan fields themselves (bus without a route, "other" without a note…) are the same
# form as a change's and are covered by test_views_change_new.
BAD = [
    pytest.param({"pattern": "same", "starts_on": "2026-11-17", "all-plan_type": "walk"},
                 "A new default can start today or later; past days keep their plan.",
                 id="starts-yesterday"),
    pytest.param({"pattern": "by_day", "starts_on": "2026-11-18", **NO_DAYS},
                 "Choose a plan for at least one weekday.", id="by-weekday-all-empty"),
    pytest.param({"pattern": "same", "starts_on": "Nov 30", "all-plan_type": "walk"},
                 "Enter a date such as 2026-11-30.", id="malformed-date"),
    pytest.param({"pattern": "same", "all-plan_type": "walk"},
                 "Give the first day of the new default.", id="no-date"),
    pytest.param({"pattern": "same", "starts_on": "2026-11-18", "all-plan_type": "bus",
                  "all-bus_route": OTHER_ROUTE},
                 "Choose a bus route from this school's list.", id="bus-of-another-school"),
    pytest.param({"pattern": "same", "starts_on": "2026-11-18", "all-plan_type": "absence"},
                 "Choose how the student gets home from the list.", id="absence-by-hand"),
    pytest.param({"pattern": "same", "starts_on": "2026-11-18", "all-plan_type": "program"},
                 "Choose how the student gets home from the list.", id="program-by-hand"),
    pytest.param({"pattern": "by_day", "starts_on": "2026-11-18", **NO_DAYS,
                  "d0-plan_type": "walk", "d3-plan_type": "pickup"},
                 "Say who picks the student up: a guardian or another adult.",
                 id="by-weekday-pickup-without-person"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "sentence"), BAD)
def test_it_refuses_bad_input_and_saves_nothing(
    client, on_school_day, school, other_school, staff, student, data, sentence
):
    data = dict(data)
    if data.get("all-bus_route") is OTHER_ROUTE:
        data["all-bus_route"] = testing.make_route(other_school, "12").id
    before = _rows()
    client.force_login(staff)

    r = client.post(_url(school, student), data)

    assertContains(r, escape(sentence), status_code=400)
    assert _rows() == before


def test_it_refuses_to_replace_a_default_from_yesterday(
    client, on_school_day, school, staff, student
):
    old = _old_default(student)
    before = _rows()
    client.force_login(staff)

    r = client.post(
        _url(school, student),
        {"pattern": "same", "starts_on": "2026-11-17", "all-plan_type": "bike"},
    )

    assert r.status_code == 400
    assert _rows() == before
    old.refresh_from_db()
    assert old.ends_on is None


def test_it_shows_the_editor_starting_today(client, on_school_day, school, staff, student):
    client.force_login(staff)

    r = client.get(_url(school, student))

    assertContains(r, "Long-term default for Ana Rivera")
    assertContains(r, 'name="starts_on" value="2026-11-18"')


def test_it_opens_a_by_weekday_default_as_by_weekday(client, on_school_day, school, staff, student):
    _old_default(student, "walk", **{"4": "bike"})
    client.force_login(staff)

    r = client.get(_url(school, student))

    assert re.search(
        r'<input type="radio" name="pattern" value="by_day"[^>]*checked', r.content.decode()
    )


def test_it_sets_the_same_plan_every_day(client, on_school_day, school, staff, student):
    client.force_login(staff)

    r = client.post(
        _url(school, student),
        {"pattern": "same", "starts_on": "2026-11-18", "all-plan_type": "walk"},
    )

    assertRedirects(
        r, reverse("plans:student", args=[school.id, student.id]), fetch_redirect_response=False
    )
    default = LongTermDefault.objects.get(student=student)
    assert default.starts_on == dt.date(2026, 11, 18)
    assert default.set_by == staff
    assert sorted(default.days.values_list("weekday", "plan_type")) == [
        (day, "walk") for day in range(5)
    ]
    assert AuditEvent.objects.filter(action="plan.default.set", student=student).count() == 1
    for date in ["2026-11-18", "2026-11-20", "2026-11-23"]:
        assert "Walks home" in _plan_on(client, school, date)


def test_it_sets_a_plan_by_weekday(client, on_school_day, school, staff, student, route):
    client.force_login(staff)
    bus = {"plan_type": "bus", "bus_route": route.id}
    grandma = {"plan_type": "pickup", "pickup_name": "Grandma Rose"}
    data = {"pattern": "by_day", "starts_on": "2026-11-18"}
    for day, plan in enumerate([bus, bus, bus, grandma, grandma]):
        data.update({f"d{day}-{field}": value for field, value in plan.items()})

    r = client.post(_url(school, student), data)

    assert r.status_code == 302
    # Wed Nov 18 to Wed Nov 25: Mon–Wed the bus, Thu–Fri Grandma.
    days = {"2026-11-18": "Bus 12 — North loop", "2026-11-19": "Picked up by Grandma Rose",
            "2026-11-20": "Picked up by Grandma Rose", "2026-11-23": "Bus 12 — North loop",
            "2026-11-24": "Bus 12 — North loop", "2026-11-25": "Bus 12 — North loop",
            "2026-11-26": "Picked up by Grandma Rose"}  # fmt: skip
    for date, detail in days.items():
        assert detail in _plan_on(client, school, date), date


def test_it_leaves_a_weekday_without_a_plan_when_asked(
    client, on_school_day, school, staff, student
):
    client.force_login(staff)

    client.post(_url(school, student), {
        "pattern": "by_day", "starts_on": "2026-11-18", **NO_DAYS,
        "d0-plan_type": "walk", "d1-plan_type": "walk", "d2-plan_type": "walk",
        "d3-plan_type": "walk",
    })  # fmt: skip

    assert "Walks home" in _plan_on(client, school, "2026-11-19")
    assert "No plan yet" in _plan_on(client, school, "2026-11-20")


def test_it_starts_a_new_version_and_keeps_the_old_one_before_it(
    client, on_school_day, school, staff, student
):
    old = _old_default(student, "walk")
    client.force_login(staff)

    r = client.post(
        _url(school, student),
        {"pattern": "same", "starts_on": "2026-11-23", "all-plan_type": "bike"},
    )

    assert r.status_code == 302
    old.refresh_from_db()
    assert old.ends_on == dt.date(2026, 11, 22)
    assert "Walks home" in _plan_on(client, school, "2026-11-20")
    assert "Bikes home" in _plan_on(client, school, "2026-11-23")
