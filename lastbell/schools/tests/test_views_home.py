"""Where a signed-in user lands: their school, a choice of schools, or the district."""

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from lastbell import testing
from lastbell.accounts.models import Role, StaffMembership


def test_it_sends_an_anonymous_visitor_to_sign_in(client, db):
    r = client.get(reverse("schools:home"))

    assertRedirects(r, reverse("accounts:login") + "?next=/", fetch_redirect_response=False)


@pytest.mark.parametrize("persona", ["staff", "teacher"])
def test_it_opens_the_only_school(client, on_school_day, request, school, persona):
    client.force_login(request.getfixturevalue(persona))

    r = client.get(reverse("schools:home"))

    assertRedirects(r, reverse("plans:dashboard", args=[school.id]), fetch_redirect_response=False)


def test_it_opens_the_district_for_a_district_admin(
    client, on_school_day, district, district_admin
):
    client.force_login(district_admin)

    r = client.get(reverse("schools:home"))

    assertRedirects(
        r, reverse("schools:district", args=[district.id]), fetch_redirect_response=False
    )


def test_it_offers_a_choice_of_the_users_schools(
    client, on_school_day, district, school, other_school, staff
):
    StaffMembership.objects.create(
        user=staff, district=district, school=other_school, role=Role.TEACHER
    )
    testing.make_school(district, "Jefferson High")
    client.force_login(staff)

    r = client.get(reverse("schools:home"))

    assertContains(r, "Choose a school")
    assertContains(r, reverse("plans:dashboard", args=[school.id]))
    assertContains(r, reverse("plans:dashboard", args=[other_school.id]))
    assertNotContains(r, "Jefferson High")


def test_it_sends_a_parent_to_the_family_pages(client, on_school_day, guardian):
    client.force_login(guardian.user)

    r = client.get(reverse("schools:home"))

    assert r.status_code == 302 and r["Location"] == reverse("family:home")
    # and the staff school picker still turns them away
    r = client.get(reverse("schools:pick"))
    assertContains(r, "This account has no staff access to any school.", status_code=403)
