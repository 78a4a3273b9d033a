"""Make the README screenshots: docs/dashboard.png (desktop) and docs/students-phone.png.

    .venv/bin/python docs/make_screenshots.py [--extra DIR]

Builds a realistic school in a throwaway SQLite database (the demo generator when it is there,
otherwise ~40 students from the test factories), serves it on a local port, signs in as the
school's dismissal staff in Debian's Chromium and saves the pictures. `--extra DIR` also saves
a few more views there (phone dashboard, a student, the keyboard focus on the tabs) for review.
Nothing here touches the project's own database.
"""

import argparse
import contextlib
import datetime as dt
import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def setup_django(data_dir: str):
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "lastbell.settings"
    os.environ["LASTBELL_DATA_DIR"] = data_dir
    os.environ["LASTBELL_TESTING"] = "1"  # plain static files, no manifest to build
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_with_demo():
    """The demo generator's elementary school, signed in as its dismissal staff."""
    from lastbell.demo import generator

    today = generator._district_today()
    district = generator.create_district()
    school = generator.build_school(district, students=420, today=today, seed=2026,
                                    kind="elementary")  # fmt: skip
    email = next(
        email for role, email, _ in generator.demo_signins()
        if role.startswith("Dismissal staff") and school.name in role
    )  # fmt: skip
    return school, email, generator.DEMO_PASSWORD


def build_with_factories():
    """About forty students with a realistic mix of plans, from the test factories."""
    import random

    from lastbell import testing
    from lastbell.accounts.models import Role
    from lastbell.plans import services
    from lastbell.plans.models import PlanType

    rng = random.Random(2026)
    district = testing.make_district("Cedar Valley Unified")
    probe = testing.make_school(district, "Probe", term=None)
    today = probe.today()
    probe.delete()
    school = testing.make_school(
        district, "Lincoln Elementary",
        term=(today - dt.timedelta(days=100), today + dt.timedelta(days=200)),
    )  # fmt: skip
    staff = testing.make_staff(school, Role.DISMISSAL_STAFF, first="Dana", last="Okafor")
    rooms = [testing.make_homeroom(school, f"Room {n}") for n in (4, 7, 12, 15, 21)]
    routes = [testing.make_route(school, n, name) for n, name in
              [("3", "Oak Hills"), ("7", "River Road"), ("12", "North Loop")]]  # fmt: skip
    firsts = ["Sofía", "Liam", "Mateo", "Ava", "Noah", "Camila", "Minh", "Priya", "Omar", "Zoe",
              "Diego", "Emma", "Kai", "Lucía", "Ethan", "Amara", "Yuna", "Leo", "Isabella",
              "Aarav"]  # fmt: skip
    lasts = ["García", "Nguyen", "Smith", "Patel", "Kim", "Hernández", "Okafor", "Johnson",
             "Rivera", "Haddad", "Chen", "López", "Williams", "Singh", "Martínez"]  # fmt: skip
    kinds = [PlanType.BUS] * 14 + [PlanType.PICKUP] * 12 + [PlanType.WALK] * 6 + [
        PlanType.BIKE] * 2 + [PlanType.EARLY_DISMISSAL] + [None] * 5  # fmt: skip
    for i, kind in enumerate(kinds):
        room = rooms[i % len(rooms)]
        student = testing.make_student(
            school, first=rng.choice(firsts), last=rng.choice(lasts), grade=str(i % 6 or "K"),
            homeroom=room, enrolled_on=today - dt.timedelta(days=90),
        )  # fmt: skip
        if kind is None:
            continue
        spec = services.PlanSpec(
            plan_type=kind,
            bus_route=rng.choice(routes) if kind == PlanType.BUS else None,
            pickup_name=f"{rng.choice(['Grandma', 'Uncle', 'Aunt'])} {student.last_name}"
            if kind == PlanType.PICKUP else "",
            dismiss_at=dt.time(13, 30) if kind == PlanType.EARLY_DISMISSAL else None,
        )  # fmt: skip
        services.default_set(student=student, starts_on=today,
                             days=dict.fromkeys(range(7), spec), actor=staff)  # fmt: skip
    return school, staff.email, testing.PASSWORD


def board_day(school) -> dt.date:
    """The first school day from today, so a weekend run still pictures a real day."""
    day = school.today()
    for _ in range(30):
        if school.is_school_day(day):
            return day
        day += dt.timedelta(days=1)
    return school.today()


def serve():
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def shoot(base, school, email, password, day, extra: Path | None):
    from playwright.sync_api import expect, sync_playwright

    query = "" if day == school.today() else f"?date={day.isoformat()}"
    dashboard = f"/schools/{school.id}/{query}"
    students = f"/schools/{school.id}/students/{query}"
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def signed_in(**options):
            context = browser.new_context(base_url=base, locale="en-US", **options)
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto("/accounts/sign-in/")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator(".signout")).to_be_visible()
            return context, page

        context, page = signed_in(viewport={"width": 1280, "height": 900})
        page.goto(dashboard)
        expect(page.get_by_test_id("total")).to_be_visible()
        page.screenshot(path=DOCS / "dashboard.png")
        if extra:
            page.screenshot(path=extra / "dashboard-full.png", full_page=True)
            page.goto(f"/schools/{school.id}/roster/{query}")
            page.screenshot(path=extra / "roster.png")
            page.goto(students)
            page.locator("#results tbody tr th a").first.click()
            page.screenshot(path=extra / "student.png", full_page=True)
            page.get_by_role("link", name="Add a change").click()
            page.get_by_label("How home").select_option("pickup")
            page.screenshot(path=extra / "change-form.png", full_page=True)
            page.goto(dashboard)
            for _ in range(4):
                page.keyboard.press("Tab")
            page.screenshot(path=extra / "tab-focus.png", clip={"x": 0, "y": 0, "width": 640,
                                                                "height": 160})  # fmt: skip
        context.close()

        context, page = signed_in(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        page.goto(students)
        expect(page.locator("#results .resultcount")).to_be_visible()
        page.screenshot(path=DOCS / "students-phone.png")
        if extra:
            page.goto(dashboard)
            page.screenshot(path=extra / "dashboard-phone.png", full_page=True)
            page.goto(f"/schools/{school.id}/history/")
            page.screenshot(path=extra / "history-phone.png", full_page=True)
        context.close()
        browser.close()
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=Path, help="also save review screenshots here")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        sys.exit(f"Chromium is not installed at {CHROMIUM}.")
    if args.extra:
        args.extra.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lastbell-shots-") as data_dir:
        setup_django(data_dir)
        try:
            school, email, password = build_with_demo()
            source = "the demo generator"
        except ImportError:
            school, email, password = build_with_factories()
            source = "the test factories"
        day = board_day(school)
        # On a weekend, picture the coming school day as "today", at 9:30 in the morning at
        # the school. A script, not a test: moving every thread's clock (the server's) is fine.
        clock = contextlib.nullcontext()
        if day != school.today():
            try:
                import time_machine
            except ImportError:
                pass
            else:
                morning = dt.datetime.combine(day, dt.time(9, 30), tzinfo=school.tz)
                clock = time_machine.travel(morning, tick=True)
        server, base = serve()
        # Playwright's sync API runs an event loop in this thread; the database work is done.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
        try:
            with clock:
                errors = shoot(base, school, email, password, day, args.extra)
        finally:
            server.shutdown()
            server.server_close()
    print(f"Saved {DOCS / 'dashboard.png'} and {DOCS / 'students-phone.png'} "
          f"({school.name}, built with {source}, pictured on {day:%A %B %-d}).")  # fmt: skip
    if errors:
        print("The pages reported errors:", *errors, sep="\n  ")
        sys.exit(1)


if __name__ == "__main__":
    main()
