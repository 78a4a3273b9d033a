"""Setting up the two-step sign-in in a real browser: the QR code shows under the strict
policy (no error reported), the page is accessible and fits a phone, and the code lets in."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from lastbell.testing_browser import assert_accessible, assert_fits_width

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", ["phone"])
def test_staff_set_up_their_app_when_the_district_requires_it(
    page, sign_in, district, school, staff, browser_errors
):
    district.require_two_factor = True
    district.save()

    sign_in(staff)

    expect(page).to_have_url(re.compile(r"/accounts/two-step/set-up/"))
    qr = page.get_by_role("img", name="QR code to add Last Bell to your authenticator app")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0  # drawn, not refused by the policy
    assert_accessible(page)
    assert_fits_width(page)

    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    page.get_by_label("Code from your authenticator app").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Turn on two-step sign-in").click()

    expect(page.get_by_text("Two-step sign-in is on.")).to_be_visible()
    browser_errors.assert_none()
