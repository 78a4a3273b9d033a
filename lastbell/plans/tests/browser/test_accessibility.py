"""The sign-in page and the staff tabs pass axe-core (no serious or critical violations) on a
desktop and on a 320 px phone, where they do not scroll sideways."""

import pytest
from playwright.sync_api import expect

from lastbell.testing_browser import DESKTOP, PHONE, assert_accessible, assert_fits_width

pytestmark = pytest.mark.browser

SIZES = {"desktop": DESKTOP, "phone": PHONE}
TABS = {"plans:dashboard": "Dashboard", "plans:roster": "Roster", "plans:students": "Students"}


@pytest.mark.parametrize("size", SIZES)
def test_the_sign_in_page_is_accessible(page, size, browser_errors):
    page.set_viewport_size(SIZES[size])
    page.goto("/accounts/sign-in/")

    assert_accessible(page)
    assert_fits_width(page)
    browser_errors.assert_none()


@pytest.mark.parametrize("size", SIZES)
def test_the_staff_tabs_are_accessible(page, sign_in, world, size, browser_errors):
    page.set_viewport_size(SIZES[size])
    sign_in(world.staff)
    tabs = page.get_by_role("navigation", name="School sections")
    for name, tab in TABS.items():
        page.goto(world.url(name))
        expect(tabs.locator("[aria-current=page]")).to_have_text(tab)

        assert_accessible(page)
        assert_fits_width(page)
    browser_errors.assert_none()
