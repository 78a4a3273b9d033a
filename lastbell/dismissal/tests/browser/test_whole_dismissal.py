"""A whole small dismissal, each person on their own screen (issue 5 §10): the guardian taps
"I'm here" on a phone, the classroom screen shows the call, the teacher sends the student, the
office releases her, and the guardian's phone shows the release, none of them reloading."""

import pytest
from playwright.sync_api import expect

from lastbell.dismissal.models import CustodyEvent
from lastbell.dismissal.tests.browser.support import _live, _open_as
from lastbell.testing_browser import assert_accessible, assert_fits_width

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings(
        "ignore:StreamingHttpResponse must consume synchronous iterators:Warning"
    ),
]


def _phone(browser, browser_errors, live_server, user):
    tab = _open_as(browser, browser_errors, live_server, user)
    tab.set_viewport_size({"width": 375, "height": 740})
    return tab


def test_from_the_guardian_s_phone_to_the_classroom_and_back(
    page,
    browser,
    force_sign_in,
    live_server,
    asgi_server,
    world,
    browser_errors,
):
    school, ana = world.school, world.ana
    school.parent_access = True
    school.save()
    base = f"{asgi_server}/schools/{school.id}/dismissal"

    classroom = _open_as(browser, browser_errors, live_server, world.teacher)
    classroom.goto(f"{base}/classroom/")
    _live(classroom)
    expect(classroom.get_by_text("Nobody called right now.")).to_be_visible()

    # Maria, in the pickup line, taps "I'm here" on her phone.
    phone = _phone(browser, browser_errors, live_server, world.guardian.user)
    phone.goto(f"{asgi_server}/family/")
    phone.get_by_role("button", name="I'm here").click()
    expect(phone.get_by_test_id("checkin")).to_contain_text("We told the school you're here.")
    status = phone.get_by_test_id(f"pickup-{ana.pk}")
    expect(status).to_contain_text("Waiting to be called")
    assert_fits_width(phone)
    phone.evaluate("window.marker = 1")

    # Room 12 sees the call at once, and the teacher sends Ana to the door.
    expect(classroom.get_by_test_id("called")).to_contain_text("Ana Rivera", timeout=2_000)
    classroom.get_by_role("button", name="Sent Ana Rivera").click()
    expect(classroom.get_by_text("Sent Ana Rivera to the door.")).to_be_visible()
    expect(status).to_contain_text("On the way", timeout=12_000)

    # The office hands her over to Maria, checked as signed in on the parent page.
    force_sign_in(world.staff)
    page.goto(f"{base}/release/{ana.pk}/")
    page.get_by_role("radio", name="Maria Lopez").check()
    page.get_by_role("radio", name="Known to staff").check()
    page.get_by_role("button", name="Release Ana").click()
    expect(page.get_by_text("Ana Rivera was released to Maria Lopez.")).to_be_visible()
    event = CustodyEvent.objects.get(kind=CustodyEvent.Kind.RELEASED)
    assert (event.student_id, event.guardian_id, event.by_id) == (
        ana.pk, world.guardian.pk, world.staff.pk)  # fmt: skip

    # Maria's phone says so, without a reload.
    expect(status).to_contain_text("Released to Maria Lopez at", timeout=12_000)
    assert phone.evaluate("window.marker") == 1, "the guardian's page reloaded"
    assert_accessible(phone)
    kinds = list(CustodyEvent.objects.filter(student=ana).values_list("kind", flat=True))
    assert kinds == ["checked_in", "sent", "released"]
    browser_errors.assert_none()
