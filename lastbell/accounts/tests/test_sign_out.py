"""Signing out is a POST from the top bar's form; a link could be triggered by any page."""

from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects


def test_it_signs_out_by_post(client, on_school_day, staff):
    client.force_login(staff)

    r = client.post(reverse("accounts:logout"))

    assertRedirects(r, reverse("accounts:login"), fetch_redirect_response=False)
    assert "_auth_user_id" not in client.session
    r = client.get(reverse("schools:home"))
    assert r.url.startswith(reverse("accounts:login"))


def test_it_does_not_sign_out_by_get(client, on_school_day, staff):
    client.force_login(staff)

    r = client.get(reverse("accounts:logout"))

    assert r.status_code == 405
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_it_offers_a_sign_out_form_on_every_page(client, on_school_day, school, staff):
    client.force_login(staff)

    r = client.get(reverse("plans:dashboard", args=[school.id]))

    assertContains(r, f'<form class="signout" method="post" action="{reverse("accounts:logout")}">')
    assertContains(r, 'name="csrfmiddlewaretoken"')


def test_it_needs_the_csrf_token_to_sign_out(on_school_day, staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)

    r = client.post(reverse("accounts:logout"))

    assert r.status_code == 403
    assert client.session["_auth_user_id"] == str(staff.pk)
