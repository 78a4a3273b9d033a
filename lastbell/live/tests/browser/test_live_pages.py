"""Today's dashboard and students table follow absences as they are posted, corrected and
deleted, without a reload (DESIGN §2 "Absences in real time").

pytest-django's live server speaks WSGI, which cannot hold a stream open, so these pages are
served by uvicorn running lastbell.asgi in a thread of this process, as `lastbell serve` runs
it. The thread shares the test database (SQLite's shared in-memory test database; a test
database on PostgreSQL is shared anyway) and the in-memory channel layer, so an absence
written here in the test's thread reaches the open page through the real fan-out.
"""

import datetime as dt
import socket
import threading
import time
import uuid

import pytest
import uvicorn
from channels.layers import channel_layers
from django.db import transaction
from playwright.sync_api import expect

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.plans import services
from lastbell.plans.models import PlanType
from lastbell.schools.models import CalendarDay, School
from lastbell.testing_browser import assert_accessible

pytestmark = [
    pytest.mark.browser,
    # WhiteNoise serves static files with a synchronous iterator, which Django under ASGI
    # consumes with this warning (`lastbell serve` logs it too); not what these tests check.
    pytest.mark.filterwarnings(
        "ignore:StreamingHttpResponse must consume synchronous iterators:Warning"
    ),
]


@pytest.fixture
def asgi_server(transactional_db, in_memory_layer, page):
    """lastbell.asgi under uvicorn on a free port; its address (on localhost, so the
    session cookie force_sign_in gives the live server's address goes there too)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        "lastbell.asgi:application", lifespan="off", log_level="warning",
        timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://localhost:{sock.getsockname()[1]}"
    # Leave the page first: a stream cut by the server is an error in the browser.
    page.goto("about:blank")
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def school_today(transactional_db):
    """A school whose today is a school day, with Ana (no plan yet) and Ben (walks)."""
    district = testing.make_district()
    today = School(timezone="America/Los_Angeles").today()
    school = testing.make_school(
        district, "Lincoln Elementary",
        term=(today - dt.timedelta(days=100), today + dt.timedelta(days=200)),
    )  # fmt: skip
    if not school.is_school_day(today):
        CalendarDay.objects.create(school=school, date=today, kind="school_day",
                                   note="Make-up day")  # fmt: skip
    staff = testing.make_staff(school, first="Dana", last="Office")
    enrolled = today - dt.timedelta(days=100)
    ana = testing.make_student(school, first="Ana", last="Rivera", enrolled_on=enrolled)
    ben = testing.make_student(school, first="Ben", last="Okafor", enrolled_on=enrolled)
    walk = services.PlanSpec(plan_type=PlanType.WALK)
    services.default_set(student=ben, starts_on=today, days=dict.fromkeys(range(7), walk),
                         actor=staff)  # fmt: skip
    return school, staff, today, ana


LIVE_POLL_MS = 30_000  # app.js


def _absence(student, today) -> Absence:
    with transaction.atomic():
        return Absence.objects.create(student=student, date=today, reason="Sick")


def test_an_absence_shows_on_the_dashboard_without_a_reload(
    page, force_sign_in, asgi_server, school_today, browser_errors
):
    school, staff, today, ana = school_today
    force_sign_in(staff)
    page.goto(f"{asgi_server}/schools/{school.id}/")
    planned, missing = page.get_by_test_id("planned"), page.get_by_test_id("missing")
    expect(planned).to_have_text("1")
    expect(missing).to_have_text("1")
    expect(page.locator("#missinghead + ul")).to_contain_text("Rivera, Ana")
    status = page.get_by_role("status").filter(has_text="Live")
    expect(status).to_have_text("Live")  # the stream is open
    page.evaluate("window.marker = 1")

    started = time.monotonic()
    absence = _absence(ana, today)
    expect(missing).to_have_text("0", timeout=2_000)
    arrived = time.monotonic() - started
    expect(planned).to_have_text("2")
    expect(page.get_by_text("Every student has a plan.")).to_be_visible()

    with transaction.atomic():
        absence.delete()
    expect(missing).to_have_text("1", timeout=2_000)
    expect(planned).to_have_text("1")
    assert page.evaluate("window.marker") == 1, "the page reloaded"
    assert_accessible(page)
    browser_errors.assert_none()
    print(f"absence on the dashboard {arrived * 1000:.0f} ms after commit")


def test_the_students_table_follows_and_keeps_the_search(
    page, force_sign_in, asgi_server, school_today, browser_errors
):
    school, staff, today, ana = school_today
    force_sign_in(staff)
    page.goto(f"{asgi_server}/schools/{school.id}/students/")
    expect(page.get_by_role("status").filter(has_text="Live")).to_have_text("Live")
    page.get_by_label("Search by name or student id").fill("Rivera")
    results = page.locator("#results")
    expect(results.locator(".resultcount")).to_have_text("1 student of 2")
    expect(results.get_by_role("row", name="Rivera, Ana")).to_contain_text("No plan yet")
    page.evaluate("window.marker = 1")

    _absence(ana, today)
    ana_row = results.get_by_role("row", name="Rivera, Ana")
    expect(ana_row).to_contain_text("Absent", timeout=2_000)
    expect(results.locator(".resultcount")).to_have_text("1 student of 2")
    expect(page.get_by_label("Search by name or student id")).to_have_value("Rivera")
    assert page.evaluate("window.marker") == 1, "the page reloaded"
    browser_errors.assert_none()


def test_a_page_that_cannot_connect_refreshes_every_30_seconds(
    page, force_sign_in, school_today, browser_errors
):
    school, staff, _, _ = school_today
    force_sign_in(staff)
    # pytest-django's live server is WSGI only: Django answers the stream's address with
    # 204, and the browser stops trying without an error.
    page.goto(f"/schools/{school.id}/roster/")
    expect(page.get_by_role("status").filter(has_text="Refreshing")).to_have_text(
        "Refreshing every 30 s"
    )
    browser_errors.assert_none()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_while_redis_is_down_a_page_refreshes_and_is_live_again_once_it_is_back(
    page, force_sign_in, asgi_server, school_today, settings, browser_errors
):
    school, staff, today, ana = school_today
    live = settings.CHANNEL_LAYERS
    # Redis down: nothing listens where the layer points, so the stream is refused (503).
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{_free_port()}/0"}],
                   "prefix": f"test-{uuid.uuid4().hex}"},
    }}  # fmt: skip
    channel_layers.backends.pop("default", None)
    page.clock.install()
    force_sign_in(staff)
    page.goto(f"{asgi_server}/schools/{school.id}/students/")
    status = page.locator("#live-status")
    expect(status).to_have_text("Refreshing every 30 s")
    ana_row = page.locator("#results").get_by_role("row", name="Rivera, Ana")
    expect(ana_row).to_contain_text("No plan yet")

    _absence(ana, today)  # announced to nobody: the layer is down
    settings.CHANNEL_LAYERS = live  # and back
    channel_layers.backends.pop("default", None)
    page.clock.run_for(LIVE_POLL_MS + 1_000)

    expect(ana_row).to_contain_text("Absent")  # the 30 s refresh
    expect(status).to_have_text("Live")  # and the stream, tried again
    _absence(testing.make_student(school, first="Cy", last="Later"), today)
    page.clock.run_for(1_000)  # app.js spreads refreshes over a few hundred ms
    expect(page.locator("#results").get_by_role("row", name="Later, Cy")).to_contain_text("Absent")
    # The browser's console notes each refused stream (503); nothing else went wrong.
    errors = browser_errors.take()
    assert errors and all("status of 503" in error for error in errors), errors


def test_other_days_are_not_live(page, force_sign_in, asgi_server, school_today):
    school, staff, today, _ = school_today
    force_sign_in(staff)
    page.goto(f"{asgi_server}/schools/{school.id}/?date={today + dt.timedelta(days=1)}")
    expect(page.get_by_test_id("missing")).to_be_visible()
    assert page.locator("[data-live]").count() == 0
    assert page.locator("#live-status").count() == 0
