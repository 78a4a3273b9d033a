"""District admins make, list and revoke tokens; nobody else can."""

import re

import pytest
from django.urls import reverse

from lastbell.api.models import ApiToken
from lastbell.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_district_admin_makes_a_token_seen_once_and_revokes_it(client, district, school,
                                                                 district_admin):  # fmt: skip
    client.force_login(district_admin)
    url = reverse("api_tokens:list", args=[district.pk])
    response = client.post(url, {"name": "SIS feed", "school": school.pk,
                                 "permissions": ["attendance:write", "board:read"]})  # fmt: skip
    assert response.status_code == 200
    secret = re.search(r'data-testid="secret">(lb_[^<]+)<', response.content.decode()).group(1)
    token = ApiToken.find(secret)
    assert token.school == school and token.permissions == ["attendance:write", "board:read"]
    assert secret not in client.get(url).content.decode(), "shown once"
    assert AuditEvent.objects.filter(action="api.token.created").exists()
    client.post(reverse("api_tokens:revoke", args=[district.pk, token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = client.get(f"/api/v1/schools/{school.pk}/board",
                     headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert api.status_code == 401


def test_a_token_form_without_permissions_or_name_says_so(client, district, district_admin):
    client.force_login(district_admin)
    response = client.post(reverse("api_tokens:list", args=[district.pk]), {"name": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Give the token a name" in page and "Tick at least one thing" in page
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("who", ["staff", "teacher", "guardian"])
def test_only_district_admins_see_tokens(client, district, who, request):
    user = request.getfixturevalue(who)
    client.force_login(user if who != "guardian" else user.user)
    assert client.get(reverse("api_tokens:list", args=[district.pk])).status_code == 404
    assert client.post(reverse("api_tokens:list", args=[district.pk]),
                       {"name": "x", "permissions": ["board:read"]}).status_code == 404  # fmt: skip
    assert not ApiToken.objects.exists()
