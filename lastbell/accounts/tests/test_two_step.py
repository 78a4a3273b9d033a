"""Two-step sign-in: staff add a code from an authenticator app to their password; a district
can require it; guardians and API tokens are never asked."""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.asserts import assertContains, assertRedirects

from lastbell import testing
from lastbell.accounts import services
from lastbell.audit.models import AuditEvent


def _code(device) -> str:
    return f"{totp(device.bin_key):06d}"


def _wrong(device) -> str:
    return f"{(int(_code(device)) + 1) % 1_000_000:06d}"


def _sign_in(client, user):
    r = client.post(reverse("accounts:login"), {"username": user.email,
                                               "password": testing.PASSWORD})  # fmt: skip
    assert r.status_code == 302
    return r


@pytest.fixture
def requiring(district):
    district.require_two_factor = True
    district.save()
    return district


@pytest.fixture
def app(staff):
    return TOTPDevice.objects.create(user=staff, name="Authenticator app", confirmed=True)


def _dashboard(school):
    return reverse("plans:dashboard", args=[school.id])


def test_staff_without_an_app_are_sent_to_set_one_up_when_the_district_requires_it(
    client, on_school_day, requiring, school, staff
):
    _sign_in(client, staff)

    r = client.get(_dashboard(school))

    enrol = reverse("accounts:two_step_enrol")
    assertRedirects(r, f"{enrol}?next={_dashboard(school).replace('/', '%2F')}",
                    fetch_redirect_response=False)  # fmt: skip
    page = client.get(r.url)
    assertContains(page, "Your district requires a code")
    assertContains(page, 'src="data:image/svg+xml')
    assert client.get(reverse("plans:students", args=[school.id])).status_code == 302


def test_staff_sign_in_with_their_password_alone_when_not_required(
    client, on_school_day, school, staff
):
    _sign_in(client, staff)

    assert client.get(_dashboard(school)).status_code == 200


def test_setting_up_an_app_takes_its_code_and_lets_them_in(
    client, on_school_day, requiring, school, staff, time_machine
):
    _sign_in(client, staff)
    client.get(reverse("accounts:two_step_enrol"))
    device = TOTPDevice.objects.get(user=staff, confirmed=False)

    wrong = client.post(reverse("accounts:two_step_enrol"), {"code": _wrong(device)})
    assertContains(wrong, "not the one your app shows now", status_code=400)
    assert client.get(_dashboard(school)).status_code == 302
    # django-otp makes each try after a wrong code wait longer: 1 s after the first.
    r = client.post(reverse("accounts:two_step_enrol"), {"code": _code(device)})
    assertContains(r, "Too many wrong codes. Wait 1 second", status_code=400)
    time_machine.shift(2)

    r = client.post(
        reverse("accounts:two_step_enrol"), {"code": _code(device), "next": _dashboard(school)}
    )

    assertRedirects(r, _dashboard(school), fetch_redirect_response=False)
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(_dashboard(school)).status_code == 200
    event = AuditEvent.objects.get(action="account.two_step.enrolled")
    assert event.actor == staff and event.district == requiring


def test_staff_with_an_app_give_its_code_before_any_page(client, on_school_day, school, staff, app):
    _sign_in(client, staff)

    r = client.get(_dashboard(school))

    verify = reverse("accounts:two_step_verify")
    assert r.status_code == 302 and r.url.startswith(verify)
    for name in ("plans:students", "dismissal:curb"):
        assert client.get(reverse(name, args=[school.id])).status_code == 302
    assert client.get(reverse("accounts:account")).status_code == 302


def test_a_wrong_code_is_refused(client, on_school_day, school, staff, app):
    _sign_in(client, staff)

    r = client.post(reverse("accounts:two_step_verify"), {"code": _wrong(app)})

    assertContains(r, "not the one your app shows now", status_code=400)
    assert client.get(_dashboard(school)).status_code == 302
    r = client.post(reverse("accounts:two_step_verify"), {"code": "12ab56"})
    assertContains(r, "Enter the 6 digits your authenticator app shows", status_code=400)


def test_the_right_code_lets_them_in(client, on_school_day, school, staff, app):
    _sign_in(client, staff)

    r = client.post(
        reverse("accounts:two_step_verify"), {"code": _code(app), "next": _dashboard(school)}
    )

    assertRedirects(r, _dashboard(school), fetch_redirect_response=False)
    assert client.get(_dashboard(school)).status_code == 200


def test_a_code_is_good_once(client, on_school_day, school, staff, app):
    code = _code(app)
    _sign_in(client, staff)
    client.post(reverse("accounts:two_step_verify"), {"code": code})
    client.logout()
    _sign_in(client, staff)

    r = client.post(reverse("accounts:two_step_verify"), {"code": code})

    assert r.status_code == 400


def test_a_guardian_is_never_asked(client, on_school_day, requiring, guardian, school):
    r = client.post(reverse("accounts:login"), {"username": guardian.user.email,
                                               "password": testing.PASSWORD})  # fmt: skip
    assert r.status_code == 302

    assert client.get(reverse("family:home")).status_code == 200
    assert client.get(reverse("accounts:two_step_enrol")).status_code == 302
    assert not TOTPDevice.objects.filter(user=guardian.user).exists()


def test_an_api_token_is_not_asked(client, on_school_day, requiring, school, staff, app):
    from lastbell.api.models import ApiToken, Permission

    _, secret = ApiToken.issue(district=requiring, name="SIS",
                               permissions=[p.value for p in Permission])  # fmt: skip
    _sign_in(client, staff)  # a session that still owes its code, beside the token

    r = client.get(f"/api/v1/schools/{school.pk}/board",
                   headers={"Authorization": f"Bearer {secret}"})  # fmt: skip

    assert r.status_code == 200


def test_turning_it_off_takes_a_code(client, on_school_day, school, staff, app, time_machine):
    _sign_in(client, staff)
    client.post(reverse("accounts:two_step_verify"), {"code": _code(app)})

    r = client.post(reverse("accounts:two_step_remove"), {"code": _wrong(app)})
    assertContains(r, "not the one your app shows now", status_code=400)
    assert TOTPDevice.objects.filter(user=staff).exists()
    time_machine.shift(30)  # the next code: the one used to sign in is good only once

    r = client.post(reverse("accounts:two_step_remove"), {"code": _code(app)})

    assertRedirects(r, reverse("accounts:account"), fetch_redirect_response=False)
    assert not TOTPDevice.objects.filter(user=staff).exists()
    assert AuditEvent.objects.filter(action="account.two_step.removed", actor=staff).exists()


def test_a_district_admin_requires_it_audited(client, on_school_day, district, district_admin):
    client.force_login(district_admin)
    page = reverse("accounts:district_sign_in", args=[district.id])

    r = client.post(page, {"require_two_factor": "on"})

    assertRedirects(r, page, fetch_redirect_response=False)
    district.refresh_from_db()
    assert district.require_two_factor
    event = AuditEvent.objects.get(action="district.two_step.required")
    assert event.before == {"require_two_factor": False}
    assert event.after == {"require_two_factor": True}


def test_only_the_districts_admins_see_its_sign_in_page(
    client, on_school_day, district, staff, school
):
    other_admin = testing.make_district_admin(testing.make_district("Elsewhere"))
    for user in (staff, other_admin):
        client.force_login(user)
        page = reverse("accounts:district_sign_in", args=[district.id])
        assert client.get(page).status_code == 404
        assert client.post(page, {"require_two_factor": "on"}).status_code == 404
    district.refresh_from_db()
    assert not district.require_two_factor


def test_a_district_admin_resets_a_lost_app(
    client, on_school_day, district, requiring, district_admin, school, staff, app, time_machine
):
    # The admin gives a code of their own first, since the district requires it.
    admin_app = TOTPDevice.objects.create(user=district_admin, name="App", confirmed=True)
    client.force_login(district_admin)
    client.post(reverse("accounts:two_step_verify"), {"code": _code(admin_app)})
    page = reverse("accounts:district_sign_in", args=[district.id])
    assertContains(client.get(page), staff.email)

    r = client.post(reverse("accounts:two_step_reset", args=[district.id, staff.id]))

    assertRedirects(r, page, fetch_redirect_response=False)
    assert not TOTPDevice.objects.filter(user=staff).exists()
    event = AuditEvent.objects.get(action="account.two_step.reset")
    assert event.actor == district_admin and event.target_id == str(staff.pk)
    client.logout()
    _sign_in(client, staff)
    assert client.get(_dashboard(school)).url.startswith(reverse("accounts:two_step_enrol"))


def test_a_reset_reaches_an_open_session_within_minutes(
    client, on_school_day, requiring, school, staff, app, time_machine
):
    _sign_in(client, staff)
    client.post(reverse("accounts:two_step_verify"), {"code": _code(app)})
    assert client.get(_dashboard(school)).status_code == 200

    assert services.two_step_reset(district=requiring, user=staff, actor=None)
    time_machine.shift(300)

    assert client.get(_dashboard(school)).url.startswith(reverse("accounts:two_step_enrol"))


def test_no_one_resets_staff_of_another_district(client, on_school_day, district_admin, app):
    client.force_login(district_admin)
    elsewhere = testing.make_district("Elsewhere")
    stranger = testing.make_staff(testing.make_school(elsewhere))
    TOTPDevice.objects.create(user=stranger, name="App", confirmed=True)

    r = client.post(reverse("accounts:two_step_reset", args=[elsewhere.id, stranger.id]))
    assert r.status_code == 404
    district_id = district_admin.memberships.get().district_id
    r = client.post(reverse("accounts:two_step_reset", args=[district_id, stranger.id]))
    assert r.status_code == 404
    assert TOTPDevice.objects.filter(user=stranger).exists()
