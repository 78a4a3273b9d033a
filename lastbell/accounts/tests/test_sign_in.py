"""Signing in with email and password, and signing out."""

from django.urls import reverse
from django.utils.html import escape
from pytest_django.asserts import assertContains, assertRedirects

from lastbell import testing


def _sign_in(client, email, password=testing.PASSWORD, **extra):
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password, **extra}
    )


def test_it_shows_the_sign_in_form(client, db):
    r = client.get(reverse("accounts:login"))

    assertContains(r, "Sign in")
    assertContains(r, 'type="email" name="username"')
    assertContains(r, 'type="password" name="password"')


def test_it_signs_in_with_email_and_password(client, on_school_day, school, staff):
    r = _sign_in(client, staff.email)

    assertRedirects(r, reverse("schools:home"), fetch_redirect_response=False)
    assert client.session["_auth_user_id"] == str(staff.pk)
    r = client.get(reverse("schools:home"), follow=True)
    assertContains(r, "Dana Office")


def test_it_goes_back_to_the_page_asked_for(client, on_school_day, school, staff):
    dashboard = reverse("plans:dashboard", args=[school.id])

    r = _sign_in(client, staff.email, next=dashboard)

    assertRedirects(r, dashboard, fetch_redirect_response=False)


def test_it_does_not_follow_a_next_to_another_site(client, on_school_day, staff):
    r = _sign_in(client, staff.email, next="https://evil.example/steal")

    assertRedirects(r, reverse("schools:home"), fetch_redirect_response=False)


def test_it_says_so_when_the_password_is_wrong(client, staff):
    r = _sign_in(client, staff.email, password="wrong horse")

    assertContains(r, escape("That email and password don't match an account."))
    assertContains(r, "ask your school office to reset your password.")
    assert "_auth_user_id" not in client.session


def test_it_says_so_for_an_unknown_email(client, db):
    r = _sign_in(client, "nobody@example.org")

    assertContains(r, escape("That email and password don't match an account."))


def test_it_asks_for_an_email_address(client, staff):
    r = _sign_in(client, "Dana Office")

    assertContains(r, "Enter a valid email address.")
    assert "_auth_user_id" not in client.session


def test_it_turns_away_a_disabled_account(client, staff):
    staff.is_active = False
    staff.save()

    r = _sign_in(client, staff.email)

    assert r.status_code == 200
    assert "_auth_user_id" not in client.session


def test_it_skips_the_form_when_already_signed_in(client, on_school_day, staff):
    client.force_login(staff)

    r = client.get(reverse("accounts:login"))

    assertRedirects(r, reverse("schools:home"), fetch_redirect_response=False)
