"""Repeated failed sign-ins lock that email out from that address for a while (django-axes)."""

import datetime as dt

from django.core.management import call_command
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from lastbell import testing

PACIFIC = dt.timezone(dt.timedelta(hours=-8))


def _sign_in(client, email, password=testing.PASSWORD, address="203.0.113.7"):
    return client.post(
        reverse("accounts:login"),
        {"username": email, "password": password},
        REMOTE_ADDR=address,
    )


def _fail(client, email, times, address="203.0.113.7"):
    return [_sign_in(client, email, "wrong horse", address).status_code for _ in range(times)]


def test_it_locks_an_email_out_after_five_failures_and_says_until_when(client, staff, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 18, 14, 30, tzinfo=PACIFIC), tick=False)

    assert _fail(client, staff.email, 4) == [200, 200, 200, 200]
    assert _fail(client, staff.email, 1) == [429]

    r = _sign_in(client, staff.email)  # the right password, during the lock
    assert r.status_code == 429
    assertContains(r, "Too many sign-ins with this email failed", status_code=429)
    assertContains(r, "paused for 15 minutes on this device", status_code=429)
    assertContains(r, "Try again at 2:45 p.m.", status_code=429)
    assert "_auth_user_id" not in client.session


def test_it_lets_the_email_in_again_after_the_cool_off(client, on_school_day, staff, time_machine):
    _fail(client, staff.email, 5)
    time_machine.shift(dt.timedelta(minutes=14))
    assert _sign_in(client, staff.email).status_code == 429

    time_machine.shift(dt.timedelta(minutes=16))  # 15 minutes after the last try
    r = _sign_in(client, staff.email)

    assertRedirects(r, reverse("schools:home"), fetch_redirect_response=False)
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_it_locks_only_that_email_from_that_address(client, staff, other_staff):
    _fail(client, staff.email, 5)

    assert _sign_in(client, other_staff.email).status_code == 302
    client.logout()
    assert _sign_in(client, staff.email, address="198.51.100.20").status_code == 302


def test_a_success_forgets_earlier_failures(client, staff):
    _fail(client, staff.email, 4)
    assert _sign_in(client, staff.email).status_code == 302
    client.logout()

    assert _fail(client, staff.email, 4) == [200, 200, 200, 200]


def test_an_admin_unlocks_an_email_with_the_reset_command(client, staff):
    _fail(client, staff.email, 5)
    assert _sign_in(client, staff.email).status_code == 429

    call_command("axes_reset_username", staff.email)

    assert _sign_in(client, staff.email).status_code == 302
