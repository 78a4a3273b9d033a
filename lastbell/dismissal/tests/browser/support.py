"""What the dismissal's browser tests share: the page served by uvicorn in a thread (the live
stream needs ASGI), a school whose check-in is open now, and pages signed in as someone else."""

import dataclasses
import datetime as dt
import socket
import threading
import time

import pytest
import uvicorn
from channels.layers import channel_layers
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.dismissal.models import CarTag, TagStudent
from lastbell.plans import services as plan_services
from lastbell.plans.models import PlanType
from lastbell.schools.models import CalendarDay, School


@pytest.fixture
def in_memory_layer(settings):
    channel_layers.backends.pop("default", None)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.pop("default", None)
    yield
    channel_layers.backends.pop("default", None)


@pytest.fixture
def asgi_server(transactional_db, in_memory_layer, page):
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
    # Leave the pages first: a stream cut by the server is an error in the browser.
    for tab in page.context.browser.contexts:
        for open_page in tab.pages:
            open_page.goto("about:blank")
    server.should_exit = True
    thread.join(10)
    sock.close()


@dataclasses.dataclass
class World:
    school: School
    staff: object
    teacher: object
    ana: object
    guardian: object
    tag: CarTag


@pytest.fixture
def world(transactional_db) -> World:
    """A school whose dismissal is in a few minutes (check-in is open now), with Ana in Room
    12 (walks home), her guardian Maria Lopez, and the family's car tag 14."""
    district = testing.make_district()
    today = School(timezone="America/Los_Angeles").today()
    now = timezone.now().astimezone(School(timezone="America/Los_Angeles").tz)
    soon = now + dt.timedelta(minutes=10)
    dismiss_at = soon.time().replace(second=0, microsecond=0) if soon.date() == today else (
        dt.time(23, 59))  # fmt: skip
    school = testing.make_school(
        district, "Lincoln Elementary",
        term=(today - dt.timedelta(days=100), today + dt.timedelta(days=200)),
        **dict.fromkeys(School.DISMISSAL_FIELDS, dismiss_at),
    )  # fmt: skip
    if not school.is_school_day(today):
        CalendarDay.objects.create(school=school, date=today, kind="school_day",
                                   note="Make-up day")  # fmt: skip
    room = testing.make_homeroom(school, "Room 12")
    staff = testing.make_staff(school, Role.DISMISSAL_STAFF, first="Dana", last="Office")
    teacher = testing.make_staff(school, Role.TEACHER, homerooms=[room], first="Tess",
                                 last="Teacher")  # fmt: skip
    enrolled = today - dt.timedelta(days=100)
    ana = testing.make_student(school, first="Ana", last="Rivera", homeroom=room,
                               enrolled_on=enrolled)  # fmt: skip
    ben = testing.make_student(school, first="Ben", last="Okafor", homeroom=room,
                               enrolled_on=enrolled)  # fmt: skip
    walk = plan_services.PlanSpec(plan_type=PlanType.WALK)
    for kid in (ana, ben):
        plan_services.default_set(student=kid, starts_on=today,
                                  days=dict.fromkeys(range(7), walk), actor=staff)  # fmt: skip
    guardian = testing.make_guardian(ana, first="Maria", last="Lopez")
    tag = CarTag.objects.create(school=school, number=14)
    TagStudent.objects.create(tag=tag, student=ana)
    return World(school, staff, teacher, ana, guardian, tag)


def _open_as(browser, browser_errors, live_server, user):
    """A page in a context of its own, signed in as `user`, its errors collected."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    tab = context.new_page()
    tab.on("console", lambda msg: browser_errors.append(f"console {msg.type}: {msg.text}")
           if msg.type == "error" else None)  # fmt: skip
    tab.on("pageerror", lambda exc: browser_errors.append(f"page error: {exc}"))
    return tab


def _live(tab):
    expect(tab.get_by_role("status").filter(has_text="Live")).to_have_text("Live")
