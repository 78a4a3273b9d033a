import datetime as dt

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.audit.models import AuditEvent
from lastbell.plans.board import day_board
from lastbell.schools.models import BusRoute, CalendarDay, School

pytestmark = pytest.mark.django_db


@pytest.fixture
def school_admin(school):
    return testing.make_staff(school, Role.SCHOOL_ADMIN, first="Sam", last="Principal")


def settings_data(school, **changes):
    data = {
        "name": school.name, "code": "", "office_phone": "(555) 010-0100",
        "timezone": school.timezone, "dismissal_mon": "15:00", "dismissal_tue": "15:00",
        "dismissal_wed": "13:30", "dismissal_thu": "15:00", "dismissal_fri": "15:00",
        "late_grace_minutes": "10", "checkin_opens_minutes": "30", "same_day_cutoff": "13:00",
        "parent_access": "on",
    }  # fmt: skip
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_it_saves_settings_with_an_audit_event(client, school, school_admin):
    client.force_login(school_admin)
    response = client.post(reverse("schools:settings", args=[school.id]), settings_data(school))
    assert response.status_code == 302
    school.refresh_from_db()
    assert school.dismissal_wed == dt.time(13, 30)
    assert school.parent_access and not school.parent_editing
    event = AuditEvent.objects.get(action="school.settings.updated")
    assert event.before["dismissal_wed"] == "15:00" and event.after["dismissal_wed"] == "13:30"


def test_it_refuses_parent_editing_without_parent_access(client, school, school_admin):
    client.force_login(school_admin)
    data = settings_data(school, parent_access=None, parent_editing="on")
    response = client.post(reverse("schools:settings", args=[school.id]), data)
    assert response.status_code == 400
    assert "only change plans if they can see them" in response.content.decode()
    school.refresh_from_db()
    assert not school.parent_editing
    assert not AuditEvent.objects.exists()


def test_it_refuses_a_malformed_time(client, school, school_admin):
    client.force_login(school_admin)
    data = settings_data(school, dismissal_mon="quarter past three")
    response = client.post(reverse("schools:settings", args=[school.id]), data)
    assert response.status_code == 400
    assert "Enter a time such as 3:05 PM." in response.content.decode()
    assert School.objects.get(pk=school.pk).dismissal_mon == dt.time(15, 0)


def test_it_adds_a_holiday_that_empties_the_board(
    client, school, school_admin, student, on_school_day
):
    client.force_login(school_admin)
    friday = on_school_day + dt.timedelta(days=2)
    assert day_board(school, friday).missing_count == 1
    response = client.post(
        reverse("schools:calendar_day_add", args=[school.id]),
        {"date": friday.isoformat(), "kind": "holiday", "note": "Staff day"},
    )
    assert response.status_code == 302
    board = day_board(school, friday)
    assert not board.is_school_day and board.missing_count == 0
    assert board.no_school_reason == "No school: Staff day."


def test_it_requires_a_time_for_an_early_release_day(client, school, school_admin, on_school_day):
    client.force_login(school_admin)
    response = client.post(
        reverse("schools:calendar_day_add", args=[school.id]),
        {"date": on_school_day.isoformat(), "kind": "early_release"},
    )
    assert response.status_code == 400
    assert "Give the dismissal time of the early-release day." in response.content.decode()
    assert not CalendarDay.objects.exists()


def test_it_gives_an_early_release_day_its_own_time(client, school, school_admin, on_school_day):
    client.force_login(school_admin)
    client.post(
        reverse("schools:calendar_day_add", args=[school.id]),
        {"date": on_school_day.isoformat(), "kind": "early_release", "dismissal_time": "12:15"},
    )
    assert school.dismissal_time_on(on_school_day) == dt.time(12, 15)
    assert school.dismissal_time_on(on_school_day + dt.timedelta(days=1)) == dt.time(15, 0)


def test_it_refuses_a_duplicate_bus_number(client, school, school_admin, route):
    client.force_login(school_admin)
    response = client.post(
        reverse("schools:bus_route_add", args=[school.id]),
        {"number": route.number, "name": "Again"},
    )
    assert response.status_code == 400
    assert f"Bus {route.number} already exists at this school." in response.content.decode()
    assert BusRoute.objects.count() == 1


def test_it_takes_a_route_out_of_service(client, school, school_admin, route):
    client.force_login(school_admin)
    client.post(reverse("schools:bus_route_toggle", args=[school.id, route.id]))
    route.refresh_from_db()
    assert not route.active
    assert AuditEvent.objects.filter(action="school.bus_route.updated").count() == 1


@pytest.mark.parametrize("persona", ["staff", "teacher"])
def test_it_refuses_settings_to_non_admins(client, school, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("schools:settings", args=[school.id])).status_code == 403
    response = client.post(reverse("schools:bus_route_add", args=[school.id]), {"number": "99"})
    assert response.status_code == 403
    assert not BusRoute.objects.exists()


def test_it_hides_another_schools_settings(client, school, other_school):
    admin_b = testing.make_staff(other_school, Role.SCHOOL_ADMIN)
    client.force_login(admin_b)
    assert client.get(reverse("schools:settings", args=[school.id])).status_code == 404


def test_it_lets_the_district_admin_in(client, school, district_admin):
    client.force_login(district_admin)
    response = client.get(reverse("schools:settings", args=[school.id]))
    assert response.status_code == 200
    assert "Dismissal time" in response.content.decode()


def test_it_runs_a_weekday_plan_on_a_weekend_school_day(
    client, school, school_admin, student, staff, route, on_school_day
):
    from lastbell.plans.services import PlanSpec, default_set

    default_set(
        student=student,
        starts_on=on_school_day,
        actor=staff,
        days={0: PlanSpec("bus", bus_route=route), 1: PlanSpec("walk")},
    )
    saturday = on_school_day + dt.timedelta(days=3)
    client.force_login(school_admin)
    refused = client.post(
        reverse("schools:calendar_day_add", args=[school.id]),
        {"date": saturday.isoformat(), "kind": "school_day"},
    )
    assert refused.status_code == 400
    assert "Choose which weekday" in refused.content.decode()
    client.post(
        reverse("schools:calendar_day_add", args=[school.id]),
        {"date": saturday.isoformat(), "kind": "school_day", "follows_weekday": "0"},
    )
    [row] = day_board(school, saturday).rows
    assert (row.plan_type, row.bus_number) == ("bus", "12")
