"""The History tab: the school's audit log, filtered by student, person and dates."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from lastbell import testing
from lastbell.audit.models import Via
from lastbell.audit.services import audit_event, audit_redact_student, audit_saved
from lastbell.plans import services
from lastbell.plans.services import PlanSpec

PACIFIC = dt.timezone(dt.timedelta(hours=-8))


@pytest.fixture
def events(on_school_day, time_machine, school, other_school, staff, district_admin, student):
    """Dana changed Ana's plan on Nov 2; Dee changed Ben's on Nov 18; Washington has one too."""
    ben = testing.make_student(school, first="Ben", last="Okafor")
    # Written on Nov 2 (audit events cannot be back-dated afterwards).
    time_machine.move_to(dt.datetime(2026, 11, 2, 23, 30, tzinfo=PACIFIC), tick=False)
    services.change_create(
        student=student, starts_on=on_school_day, ends_on=None, plan=PlanSpec("walk"), actor=staff
    )
    time_machine.move_to(dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC), tick=False)
    services.change_create(
        student=ben,
        starts_on=on_school_day,
        ends_on=None,
        plan=PlanSpec("bike"),
        actor=district_admin,
    )
    elsewhere = testing.make_student(other_school, first="Zed", last="Elsewhere")
    services.change_create(
        student=elsewhere,
        starts_on=on_school_day,
        ends_on=None,
        plan=PlanSpec("walk"),
        actor=district_admin,
    )
    return student, ben


def _people(response) -> list[str]:
    """Whose plan each listed event changed, newest first."""
    return re.findall(r"Change for (\w+ \w+),", response.content.decode())


def _get(client, school, **params):
    return client.get(reverse("audit:history", args=[school.id]), params)


def test_it_lists_the_schools_events_newest_first(client, school, staff, events):
    client.force_login(staff)

    r = _get(client, school)

    assert _people(r) == ["Ben Okafor", "Ana Rivera"]
    assertContains(r, "Added a change")
    assertContains(r, "Dee Admin")
    assertContains(r, reverse("plans:student", args=[school.id, events[0].id]))
    assertNotContains(r, "Zed Elsewhere")


@pytest.mark.parametrize(("params", "found"), [
    ({"student": "okafor"}, ["Ben Okafor"]),
    ({"student": "ana rivera"}, ["Ana Rivera"]),
    ({"person": "dana"}, ["Ana Rivera"]),
    ({"date_from": "2026-11-03"}, ["Ben Okafor"]),
    ({"date_to": "2026-11-02"}, ["Ana Rivera"]),  # 11:30 pm Pacific is still Nov 2
    ({"date_from": "2026-11-02", "date_to": "2026-11-18"}, ["Ben Okafor", "Ana Rivera"]),
    ({"student": "nobody"}, []),
])  # fmt: skip
def test_it_filters_the_events(client, school, staff, events, params, found):
    client.force_login(staff)

    r = _get(client, school, **params)

    assert r.status_code == 200
    assert _people(r) == found


def test_it_finds_a_student_by_id(client, school, staff, events):
    client.force_login(staff)

    r = _get(client, school, student=events[1].sis_id)

    assert _people(r) == ["Ben Okafor"]


def test_it_says_when_to_is_before_from(client, school, staff, events):
    client.force_login(staff)

    r = _get(client, school, date_from="2026-11-18", date_to="2026-11-01")

    assertContains(r, "The end date is before the start date.")
    assert _people(r) == []


def test_it_says_when_a_date_is_not_one(client, school, staff, events):
    client.force_login(staff)

    r = _get(client, school, date_from="last week")

    assertContains(r, "Enter a date such as 2026-11-30.")
    assert _people(r) == []


def test_it_answers_htmx_with_the_results_only(client, school, staff, events):
    client.force_login(staff)

    r = client.get(
        reverse("audit:history", args=[school.id]), {"student": "okafor"}, HTTP_HX_REQUEST="true"
    )

    html = r.content.decode()
    assert html.lstrip().startswith('<div id="results"')
    assert "<html" not in html
    assert _people(r) == ["Ben Okafor"]


def test_it_pages_fifty_events_at_a_time(client, school, staff, events):
    audit_saved(
        audit_event(action="plan.change.created", actor=None, via=Via.IMPORT,
                    district_id=school.district_id, school_id=school.pk, target_type="PlanChange",
                    target_id="", label=f"Change for Kid {n},")
        for n in range(60)
    )  # fmt: skip
    client.force_login(staff)

    first, second = _get(client, school), _get(client, school, page="2")

    assertContains(first, "Page 1 of 2")
    assert first.content.decode().count("<li>") == 50
    assert second.content.decode().count("<li>") == 12


def test_a_redacted_event_shows_what_kind_of_change_it_was_without_the_details(
    client, school, staff, events
):
    ana, ben = events
    audit_redact_student(student_id=ana.pk)
    client.force_login(staff)

    r = _get(client, school)

    assertContains(r, "Personal details removed", count=2)  # who and whose
    assertContains(r, "Added a change", count=2)  # Ana's and Ben's
    assertContains(r, "(removed)")
    assertContains(
        r, "Removed a student&#x27;s personal details from the history — 1 event redacted"
    )
    assert "Ana Rivera" not in r.content.decode()
    assert _people(r) == ["Ben Okafor"]
