"""The dismissal screens in Chromium, as the curb and a classroom use them together: a
family checked in at the curb shows on the classroom screen without a reload, the teacher
sends the student, the office releases them, and the counts follow.

pytest-django's live server speaks WSGI, which cannot hold the live stream open, so the pages
are served by uvicorn running lastbell.asgi in a thread of this process (as `lastbell serve`
runs it), sharing the test database and an in-memory channel layer; see
lastbell/live/tests/browser/test_live_pages.py, whose fixtures these repeat.
"""

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from lastbell import testing
from lastbell.dismissal.models import CustodyEvent
from lastbell.dismissal.tests.browser.support import _live, _open_as
from lastbell.testing_browser import assert_accessible, assert_fits_width

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings(
        "ignore:StreamingHttpResponse must consume synchronous iterators:Warning"
    ),
]


def test_a_family_goes_from_the_curb_to_the_classroom_and_home(
    page, browser, force_sign_in, live_server, asgi_server, world, browser_errors
):
    school = world.school
    base = f"{asgi_server}/schools/{school.id}/dismissal"
    force_sign_in(world.staff)

    # The teacher's classroom screen and the office's overview are open, following the day.
    classroom = _open_as(browser, browser_errors, live_server, world.teacher)
    classroom.goto(f"{base}/classroom/")
    expect(classroom.get_by_role("heading", name="Room 12: called")).to_be_visible()
    expect(classroom.get_by_text("Nobody called right now.")).to_be_visible()
    _live(classroom)
    assert_accessible(classroom)
    classroom.evaluate("window.marker = 1")
    overview = page.context.new_page()
    overview.on("pageerror", lambda exc: browser_errors.append(f"page error: {exc}"))
    overview.goto(f"{base}/")
    _live(overview)
    expect(overview.get_by_test_id("on-campus")).to_have_text("2")
    expect(overview.get_by_test_id("released")).to_have_text("0")
    assert_accessible(overview)

    # At the curb: tag 14 is typed in.
    page.goto(f"{base}/curb/?door=North")
    _live(page)
    assert_accessible(page)
    page.get_by_label("Car tag number").fill("14")
    page.locator("#tag-form").get_by_role("button", name="Check in").click()
    expect(page.get_by_text("Tag 14 checked in for Ana Rivera.")).to_be_visible()
    queue = page.get_by_test_id("queue")
    expect(queue).to_contain_text("Ana Rivera")
    expect(queue).to_contain_text("door North")
    expect(page.get_by_label("Car tag number")).to_be_focused()

    # The classroom hears of it without a reload, and the teacher sends Ana.
    called = classroom.get_by_test_id("called")
    expect(called).to_contain_text("Ana Rivera", timeout=2_000)
    expect(classroom.get_by_test_id("called-count")).to_have_text("1")
    assert classroom.evaluate("window.marker") == 1, "the classroom page reloaded"
    assert_accessible(classroom)
    classroom.get_by_role("button", name="Sent Ana Rivera").click()
    expect(classroom.get_by_text("Sent Ana Rivera to the door.")).to_be_visible()
    expect(classroom.get_by_test_id("sent")).to_contain_text("Ana Rivera")
    expect(classroom.get_by_text("Nobody called right now.")).to_be_visible()
    assert classroom.evaluate("window.marker") == 1, "Sent reloaded the classroom page"

    # The curb's queue follows, and the office releases Ana to her mother.
    expect(queue).to_contain_text("Sent to the door", timeout=2_000)
    page.get_by_role("link", name="Release Ana Rivera").click()
    expect(page.get_by_role("heading", name="Release Ana Rivera")).to_be_visible()
    expect(page.get_by_role("radio", name="Car tag")).to_be_checked()
    page.get_by_role("radio", name="Maria Lopez").check()
    assert_accessible(page)
    page.get_by_role("button", name="Release Ana").click()
    expect(page.get_by_text("Ana Rivera was released to Maria Lopez.")).to_be_visible()
    expect(page.get_by_role("button", name="Undo the release")).to_be_visible()
    event = CustodyEvent.objects.get(kind=CustodyEvent.Kind.RELEASED)
    assert (event.guardian_id, event.verification, event.by_id) == (
        world.guardian.pk, "car_tag", world.staff.pk)  # fmt: skip

    # The overview's counts follow, without a reload.
    expect(overview.get_by_test_id("released")).to_have_text("1", timeout=2_000)
    expect(overview.get_by_test_id("on-campus")).to_have_text("1")
    browser_errors.assert_none()


@pytest.mark.parametrize("viewport", ["phone"])
def test_the_screens_fit_a_phone(page, force_sign_in, world, browser_errors, viewport):
    force_sign_in(world.staff)
    base = f"/schools/{world.school.id}/dismissal"
    for path in ("/", "/curb/?q=rivera", "/classroom/", f"/release/{world.ana.pk}/", "/groups/",
                 "/late/", f"/students/{world.ana.pk}/timeline/"):  # fmt: skip
        page.goto(base + path)
        expect(page.get_by_role("navigation", name="Dismissal screens")).to_be_visible()
        assert_fits_width(page)
        assert_accessible(page)
    browser_errors.assert_none()


def test_a_custody_order_stops_the_release_with_an_alert(
    page, force_sign_in, world, browser_errors
):
    from lastbell.people.models import CustodyRestriction

    father = testing.make_guardian(world.ana, first="Carlos", last="Rivera", with_user=False)
    CustodyRestriction.objects.create(
        student=world.ana, person_name="Carlos Rivera", kind="do_not_release",
        court_order_reference="FL-2026-0042", starts_on=world.school.today(),
    )  # fmt: skip
    force_sign_in(world.staff)
    page.goto(f"/schools/{world.school.id}/dismissal/release/{world.ana.pk}/")
    page.get_by_role("radio", name="Carlos Rivera").check()
    page.get_by_role("radio", name="Photo ID").check()
    page.get_by_role("button", name="Release Ana").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Do not release Ana")
    expect(alert).to_contain_text("FL-2026-0042")
    expect(alert).to_contain_text("Nothing was released.")
    assert not CustodyEvent.objects.filter(kind=CustodyEvent.Kind.RELEASED).exists()
    # The refused release answers 409, which the browser reports on its console.
    assert [e.split(" (")[0] for e in browser_errors.take()] == [
        "console error: Failed to load resource: the server responded with a status of 409"
    ]
    assert_accessible(page)
    # The mother may take her.
    page.get_by_role("radio", name="Maria Lopez").check()
    page.get_by_role("button", name="Release Ana").click()
    expect(page.get_by_text("Ana Rivera was released to Maria Lopez.")).to_be_visible()
    assert CustodyEvent.objects.get(kind=CustodyEvent.Kind.RELEASED).guardian_id != father.pk
    browser_errors.assert_none()


def _qr_video(path, text: str, width=640, height=480, module=8):
    """A Y4M video of `text` as a QR code, for Chromium's fake camera."""
    import segno

    matrix = segno.make(text, error="m", micro=False).matrix
    size = len(matrix) * module
    left, top = (width - size) // 2, (height - size) // 2
    luma = bytearray(b"\xff" * (width * height))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(module):
                    start = (top + y * module + dy) * width + left + x * module
                    luma[start : start + module] = b"\x00" * module
    chroma = b"\x80" * (width // 2 * (height // 2)) * 2
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _frame in range(3):
            out.write(b"FRAME\n" + bytes(luma) + chroma)


def test_the_camera_reads_a_family_s_qr_code(browser, browser_errors, live_server, world, tmp_path):
    """Chromium's fake camera shows the hang tag's QR code (the curb screen's address with
    the tag's code); the page reads it with jsQR under the strict CSP and checks the family
    in. (Chromium on Linux has no BarcodeDetector, so this is the jsQR path.)"""
    from lastbell.testing_browser import CHROMIUM, CHROMIUM_ARGS

    video = tmp_path / "qr.y4m"
    _qr_video(video, f"{live_server.url}/schools/{world.school.id}/dismissal/curb/?code="
                     f"{world.tag.code}")  # fmt: skip
    camera = browser.browser_type.launch(executable_path=CHROMIUM, args=[
        *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ])  # fmt: skip
    try:
        client = Client()
        client.force_login(world.staff)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context = camera.new_context(base_url=live_server.url, permissions=["camera"])
        context.add_cookies([{"name": cookie.key, "value": cookie.value,
                              "url": live_server.url}])  # fmt: skip
        tab = context.new_page()
        tab.on("console", lambda msg: browser_errors.append(f"console {msg.type}: {msg.text}")
               if msg.type == "error" else None)  # fmt: skip
        tab.on("pageerror", lambda exc: browser_errors.append(f"page error: {exc}"))
        tab.goto(f"/schools/{world.school.id}/dismissal/curb/")
        tab.get_by_role("button", name="Scan with the camera").click()
        expect(tab.get_by_text("Tag 14 checked in for Ana Rivera.")).to_be_visible()
        expect(tab.get_by_test_id("queue")).to_contain_text("QR code scanned")
        context.close()
    finally:
        camera.close()
    browser_errors.assert_none()


def test_screens_of_one_homeroom_skip_the_steps_of_others(
    page, browser, force_sign_in, live_server, asgi_server, world, browser_errors
):
    """A classroom screen, and the release page of one student, fetch nothing when a family of
    another homeroom checks in; they follow a step of their own homeroom at once."""
    from lastbell.dismissal import services
    from lastbell.dismissal.models import Arrival, CarTag, TagStudent

    school = world.school
    base = f"{asgi_server}/schools/{school.id}/dismissal"
    other_room = testing.make_homeroom(school, "Room 14")
    cody = testing.make_student(school, first="Cody", last="Banks", homeroom=other_room,
                                enrolled_on=world.ana.enrolled_on)  # fmt: skip
    other_tag = CarTag.objects.create(school=school, number=15)
    TagStudent.objects.create(tag=other_tag, student=cody)
    day = services.day_of(school)

    classroom = _open_as(browser, browser_errors, live_server, world.teacher)
    classroom.goto(f"{base}/classroom/")
    _live(classroom)
    force_sign_in(world.staff)
    page.goto(f"{base}/release/{world.ana.pk}/")
    _live(page)
    overview = page.context.new_page()
    overview.goto(f"{base}/")
    _live(overview)
    fetched = {"classroom": 0, "release": 0}
    classroom.on("request", lambda r: fetched.__setitem__(
        "classroom", fetched["classroom"] + ("hx-request" in r.headers)))  # fmt: skip
    page.on("request", lambda r: fetched.__setitem__(
        "release", fetched["release"] + ("hx-request" in r.headers)))  # fmt: skip

    services.check_in(day, actor=world.staff, method=Arrival.Method.TAG, tag=other_tag)
    # The overview follows every step: once it shows Cody's, every screen has heard it.
    expect(overview.get_by_test_id("at-curb")).to_have_text("1", timeout=3_000)
    page.wait_for_timeout(800)  # longer than a screen waits before it fetches (app.js)
    assert fetched == {"classroom": 0, "release": 0}

    services.check_in(day, actor=world.staff, method=Arrival.Method.TAG, tag=world.tag)
    expect(classroom.get_by_test_id("called")).to_contain_text("Ana Rivera", timeout=3_000)
    expect(page.locator("#live")).not_to_contain_text("Nobody has checked in", timeout=3_000)
    # Both got their region down the stream (live/push.py), without asking.
    assert fetched == {"classroom": 0, "release": 0}
    browser_errors.assert_none()


def test_a_sent_that_does_not_go_through_says_so_and_changes_nothing(
    browser, live_server, asgi_server, world, browser_errors
):
    """The classroom's "Sent" is posted by htmx and the page stays: when the network drops it
    or the server fails it, the teacher is told, and can press again."""
    from lastbell.dismissal import services
    from lastbell.dismissal.models import Arrival

    base = f"{asgi_server}/schools/{world.school.id}/dismissal"
    day = services.day_of(world.school)
    services.check_in(day, actor=world.staff, method=Arrival.Method.TAG, tag=world.tag)
    classroom = _open_as(browser, browser_errors, live_server, world.teacher)
    classroom.goto(f"{base}/classroom/")
    _live(classroom)
    classroom.evaluate("window.marker = 1")
    sent = classroom.get_by_role("button", name="Sent Ana Rivera")

    classroom.route("**/classroom/sent/", lambda route: route.abort())
    sent.click()
    expect(classroom.locator("#messages")).to_have_text(
        "Last Bell could not be reached, so nothing was changed. Check the connection and press "
        "again."
    )
    classroom.unroute("**/classroom/sent/")
    classroom.route("**/classroom/sent/", lambda route: route.fulfill(status=500, body="boom"))
    sent.click()
    expect(classroom.locator("#messages")).to_have_text(
        "That did not go through. The screen now shows what is true: check it and press again."
    )
    expect(classroom.get_by_test_id("called")).to_contain_text("Ana Rivera")
    assert not CustodyEvent.objects.filter(kind=CustodyEvent.Kind.SENT).exists()

    classroom.unroute("**/classroom/sent/")
    sent.click()
    expect(classroom.locator("#messages")).to_have_text("Sent Ana Rivera to the door.")
    expect(classroom.get_by_text("Nobody called right now.")).to_be_visible()
    assert classroom.evaluate("window.marker") == 1, "the page reloaded"
    assert CustodyEvent.objects.filter(kind=CustodyEvent.Kind.SENT).count() == 1
    # The two failures were said on the page; the browser's own log of them is expected.
    said = ("ERR_FAILED", "500", "htmx:sendError", "htmx:afterRequest", "htmx:responseError")
    browser_errors[:] = [e for e in browser_errors if not any(s in e for s in said)]
    browser_errors.assert_none()
