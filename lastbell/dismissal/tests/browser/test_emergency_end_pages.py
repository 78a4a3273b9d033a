"""The all clear in Chromium: the page that ends an emergency passes axe-core and fits a 320 px
phone; an accountability board left open hears the end without a reload and drops its
emergency actions; and the family's "I'm here" comes back."""

import pytest
from playwright.sync_api import expect

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.dismissal import services
from lastbell.dismissal.tests.browser.support import _live, _open_as
from lastbell.testing_browser import DESKTOP, PHONE, assert_accessible, assert_fits_width

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings(
        "ignore:StreamingHttpResponse must consume synchronous iterators:Warning"
    ),
]


@pytest.fixture
def admin(world):
    return testing.make_staff(world.school, Role.SCHOOL_ADMIN, first="Sam", last="Principal")


@pytest.fixture
def emergency(world, admin):
    day = services.day_of(world.school)
    services.emergency_start(day, actor=admin, message="Go to the church lot.",
                             site="St. Mark's, 12 Elm St")  # fmt: skip
    return day


def test_an_open_board_hears_the_all_clear(page, browser, force_sign_in, live_server, asgi_server,
                                           world, admin, emergency, browser_errors):  # fmt: skip
    world.school.parent_access = True
    world.school.save(update_fields=["parent_access"])
    base = f"{asgi_server}/schools/{world.school.id}/dismissal"
    board = _open_as(browser, browser_errors, live_server, world.staff)
    board.goto(f"{base}/emergency/")
    _live(board)
    expect(board.get_by_role("button", name="Missing Ana Rivera")).to_be_visible()
    family = _open_as(browser, browser_errors, live_server, world.guardian.user)
    family.goto(f"{asgi_server}/family/")
    expect(family.get_by_role("button", name="I'm here")).to_have_count(0)

    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        force_sign_in(admin)
        page.goto(f"{base}/emergency/end/")
        assert_accessible(page)
        assert_fits_width(page)
    page.get_by_label("What guardians are told now").fill("Pick up at the front office.")
    page.get_by_label("The incident commander gave the all clear").check()
    page.get_by_role("button", name="End the emergency and send the all clear").click()
    expect(page.get_by_text("The emergency is over.")).to_be_visible()

    # The board open elsewhere follows: the end is said, the status buttons are gone.
    expect(board.get_by_test_id("emergency-ended")).to_contain_text("all clear")
    expect(board.get_by_role("button", name="Missing Ana Rivera")).to_have_count(0)
    assert_accessible(board)
    family.reload()
    expect(family.get_by_role("button", name="I'm here")).to_be_visible()
    browser_errors.assert_none()
