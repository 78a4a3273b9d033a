"""Staff sessions end after a while unused; a dismissal screen's stream counts as use while
dismissal is on; none of it costs a request a query or a session write in between."""

import datetime as dt
from importlib import import_module

from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from lastbell.accounts import signin
from lastbell.dismissal import services
from lastbell.dismissal.models import CarTag, TagStudent

PACIFIC = dt.timezone(dt.timedelta(hours=-8))


def at(hour, minute=0):
    return dt.datetime(2026, 11, 18, hour, minute, tzinfo=PACIFIC)  # a Wednesday, 3 pm dismissal


def _home(client):
    return client.get(reverse("plans:dashboard", args=[client.school.id]))


def _signed_in(client, user, school):
    client.force_login(user)
    client.school = school
    return client


def test_an_idle_staff_session_ends(client, school, staff, time_machine):
    time_machine.move_to(at(9), tick=False)
    _signed_in(client, staff, school)
    assert _home(client).status_code == 200

    time_machine.move_to(at(10, 1), tick=False)
    r = _home(client)

    dashboard = reverse("plans:dashboard", args=[school.id])
    assertRedirects(
        r, reverse("accounts:login") + f"?next={dashboard.replace('/', '%2F')}",
        fetch_redirect_response=False,
    )  # fmt: skip
    assert "_auth_user_id" not in client.session
    assertContains(client.get(r.url), "signed out after 60 minutes without use")


def test_an_active_staff_session_stays(client, school, staff, time_machine):
    time_machine.move_to(at(9), tick=False)
    _signed_in(client, staff, school)
    for minutes in range(0, 4 * 60, 50):  # four hours, a page every 50 minutes
        time_machine.move_to(at(9) + dt.timedelta(minutes=minutes), tick=False)
        assert _home(client).status_code == 200


def test_the_idle_time_is_a_setting(client, school, staff, time_machine):
    time_machine.move_to(at(9), tick=False)
    _signed_in(client, staff, school)
    _home(client)
    time_machine.move_to(at(9, 50), tick=False)
    with override_settings(LASTBELL_STAFF_IDLE_MINUTES=45):
        assert _home(client).status_code == 302


def test_a_guardian_has_no_idle_timeout(client, school, guardian, time_machine):
    time_machine.move_to(at(9), tick=False)
    client.force_login(guardian.user)
    assert client.get(reverse("family:home")).status_code == 200

    time_machine.move_to(at(13), tick=False)

    assert client.get(reverse("family:home")).status_code == 200


def _stored(client):
    return import_module(settings.SESSION_ENGINE).SessionStore(client.session.session_key)


def test_an_open_screen_keeps_its_session_during_dismissal(client, school, staff, time_machine):
    time_machine.move_to(at(14), tick=False)
    _signed_in(client, staff, school)
    assert _home(client).status_code == 200

    # Nobody touches the screen; its stream beats every few minutes through dismissal.
    for minutes in range(30, 100, 5):  # 2:30 (families may check in) to 3:35
        time_machine.move_to(at(14) + dt.timedelta(minutes=minutes), tick=False)
        assert signin.stream_touch(staff, _stored(client), school)

    assert _home(client).status_code == 200  # 3:35, 95 minutes after the last request


def test_an_abandoned_screen_ends_after_dismissal(client, school, staff, time_machine):
    time_machine.move_to(at(15, 30), tick=False)
    _signed_in(client, staff, school)
    assert _home(client).status_code == 200

    for minutes in range(5, 125, 5):  # to 5:30, long after the late flag at 3:10
        time_machine.move_to(at(15, 30) + dt.timedelta(minutes=minutes), tick=False)
        alive = signin.stream_touch(staff, _stored(client), school)

    assert not alive
    assert _home(client).status_code == 302


def test_a_stream_does_not_renew_a_session_outside_dismissal(client, school, staff, time_machine):
    time_machine.move_to(at(9), tick=False)
    _signed_in(client, staff, school)
    _home(client)
    for minutes in range(5, 70, 5):  # to 10:05
        time_machine.move_to(at(9) + dt.timedelta(minutes=minutes), tick=False)
        signin.stream_touch(staff, _stored(client), school)

    assert _home(client).status_code == 302


def test_a_check_in_costs_no_query_for_the_session_checks(
    client, school, staff, guardian, student, time_machine
):
    time_machine.move_to(at(14, 50), tick=False)
    tags = []
    for number in (1, 2, 3):
        tag = CarTag.objects.create(school=school, number=number)
        TagStudent.objects.create(tag=tag, student=student if number == 1 else _kid(school))
        tags.append(tag)
    services.day_of(school, at(14, 50).date())
    _signed_in(client, staff, school)
    check_in = reverse("dismissal:check_in", args=[school.id])
    assert client.post(check_in, {"method": "tag", "number": "1"}).status_code in (200, 302)

    time_machine.move_to(at(14, 53), tick=False)  # within the few minutes between touches
    with CaptureQueriesContext(connection) as checked:
        client.post(check_in, {"method": "tag", "number": "2"})
    without = [m for m in settings.MIDDLEWARE if m != "lastbell.accounts.signin.SignInMiddleware"]
    with override_settings(MIDDLEWARE=without), CaptureQueriesContext(connection) as unchecked:
        client.post(check_in, {"method": "tag", "number": "3"})

    assert len(checked) == len(unchecked), [q["sql"] for q in checked]
    assert not [
        q
        for q in checked
        if q["sql"].startswith(("UPDATE", "INSERT")) and "django_session" in q["sql"]
    ]


def _kid(school):
    from lastbell import testing

    return testing.make_student(school, first="Kid")
