"""The shared browser fixtures and the axe-core check (lastbell/testing_browser.py), on the
pages every visitor can reach: the sign-in page and the error pages."""

import re

import pytest
from playwright.sync_api import expect

from lastbell.testing_browser import assert_accessible, assert_fits_width

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", ["desktop", "phone", "phone_large"])
def test_it_signs_in_at_every_size(page, sign_in, staff, viewport, browser_errors):
    page.goto("/accounts/sign-in/")
    assert_accessible(page)
    assert_fits_width(page)

    sign_in(staff)

    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert_fits_width(page)
    browser_errors.assert_none()


@pytest.mark.parametrize("browser_locale", ["es-MX"])
@pytest.mark.parametrize("viewport", ["phone"])
def test_it_shows_the_sign_in_page_in_the_browsers_spanish(page, browser_errors):
    page.goto("/accounts/sign-in/")

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Iniciar sesión")
    expect(page.get_by_label("Correo electrónico")).to_be_visible()
    assert_accessible(page)
    assert_fits_width(page)
    expect(page.get_by_label("Correo electrónico")).to_be_focused()
    expect(page.get_by_role("link", name="Saltar al contenido")).to_have_attribute("href", "#main")
    browser_errors.assert_none()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_not_found_page_is_accessible(page, viewport, browser_errors):
    response = page.goto("/no-such-page/")

    assert response.status == 404
    assert [e.split(" (")[0] for e in browser_errors.take()] == [
        "console error: Failed to load resource: the server responded with a status of 404"
    ]
    expect(page.get_by_role("heading", level=1)).to_have_text("We couldn't find that page")
    assert_accessible(page)
    assert_fits_width(page)
    browser_errors.assert_none()


def test_it_signs_in_without_the_form(page, force_sign_in, school, staff, browser_errors):
    force_sign_in(staff)

    page.goto("/")

    expect(page).to_have_url(re.compile(rf"/schools/{school.id}/$"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    browser_errors.assert_none()


def test_it_lists_each_violation_readably(page, browser_errors):
    page.goto("/accounts/sign-in/")
    # What a careless template might add: an unnamed image and an unnamed button.
    page.evaluate(
        """() => {
          const img = document.createElement('img');
          img.src = '/static/lastbell/bell.svg';
          img.className = 'careless';
          const button = document.createElement('button');
          button.id = 'nameless';
          document.querySelector('main').append(img, button);
        }"""
    )

    with pytest.raises(AssertionError) as failure:
        assert_accessible(page)

    report = str(failure.value)
    assert "serious or critical accessibility violation(s)" in report
    assert "- image-alt (critical): Images must have alternative text" in report
    assert '.careless  <img src="/static/lastbell/bell.svg" class="careless">' in report
    assert "Fix any of the following: Element does not have an alt attribute;" in report
    assert "- button-name (critical)" in report
    assert "#nameless" in report
    # Rules can be let through by id, with a reason, by the test that allows them.
    assert_accessible(page, allow=("image-alt", "button-name"))
    # Injecting and running axe broke nothing under the page's strict policy.
    browser_errors.assert_none()
