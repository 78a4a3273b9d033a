import datetime as dt

import pytest
from django.utils import translation

from lastbell import testing
from lastbell.accounts.models import Role

# Playwright fixtures (browser, page, sign_in, force_sign_in) and the axe-core check.
pytest_plugins = ["lastbell.testing_browser"]

# A Wednesday in the school year; tests that care about "today" travel here.
SCHOOL_DAY = dt.date(2026, 11, 18)


@pytest.fixture(scope="session", autouse=True)
def _no_stray_connections(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end the connections other threads left open:
    the live-update tests serve the real ASGI app from a thread, whose worker threads keep
    their own connections, and PostgreSQL will not drop a database someone is connected to."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _default_language():
    """LocaleMiddleware and guardian pages switch the language for the rest of the thread;
    each test starts in the default one, whichever language the test before it left on."""
    yield
    translation.deactivate()


@pytest.fixture
def district(db):
    return testing.make_district()


@pytest.fixture
def school(district):
    return testing.make_school(district, "Lincoln Elementary")


@pytest.fixture
def other_school(district):
    return testing.make_school(district, "Washington Middle")


@pytest.fixture
def staff(school):
    return testing.make_staff(school, Role.DISMISSAL_STAFF, first="Dana", last="Office")


@pytest.fixture
def other_staff(other_school):
    return testing.make_staff(other_school, Role.DISMISSAL_STAFF, first="Omar", last="Elsewhere")


@pytest.fixture
def district_admin(district):
    return testing.make_district_admin(district, first="Dee", last="Admin")


@pytest.fixture
def homeroom(school):
    return testing.make_homeroom(school, "Room 12")


@pytest.fixture
def teacher(school, homeroom):
    return testing.make_staff(
        school, Role.TEACHER, homerooms=[homeroom], first="Tess", last="Teacher"
    )


@pytest.fixture
def student(school, homeroom):
    return testing.make_student(school, first="Ana", last="Rivera", homeroom=homeroom)


@pytest.fixture
def guardian(student):
    return testing.make_guardian(student)


@pytest.fixture
def route(school):
    return testing.make_route(school, "12", "North loop")


@pytest.fixture
def on_school_day(time_machine):
    """Freeze the clock at 9 am Pacific on a school-year Wednesday."""
    time_machine.move_to(dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC), tick=False)
    return SCHOOL_DAY


# --- CI strictness -------------------------------------------------------------------------
# Tests that need a service are marked; they are deselected where the service is not
# configured, and with LASTBELL_STRICT=1 (set by .ci/run) any skip fails the run, and so does
# a run in which the marked tests for a configured service did not run.

SERVICE_MARKERS = {"postgres": "DATABASE_URL", "redis": "REDIS_URL"}


def _configured(marker: str) -> bool:
    import os

    from django.conf import settings

    if marker == "postgres":
        return "postgresql" in settings.DATABASES["default"]["ENGINE"]
    return bool(os.environ.get(SERVICE_MARKERS[marker]))


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        needs = [m for m in SERVICE_MARKERS if item.get_closest_marker(m)]
        (drop if any(not _configured(m) for m in needs) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


_ran: dict[str, int] = {"browser": 0, "postgres": 0, "redis": 0}
_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(f"{report.nodeid}: {report.longrepr[-1] if report.longrepr else ''}")
    elif report.when == "call" and report.passed:
        for marker in _ran:
            if marker in report.keywords:
                _ran[marker] += 1


def pytest_sessionfinish(session, exitstatus):
    import os

    if os.environ.get("LASTBELL_STRICT") != "1" or session.config.option.collectonly:
        return
    problems = [f"skipped in CI: {s}" for s in _skipped]
    required = ["browser"] + [m for m in SERVICE_MARKERS if _configured(m)]
    problems += [f"no {m} test ran" for m in required if _ran[m] == 0]
    if problems:
        print("\n\nLASTBELL_STRICT: " + "\n  ".join(["the run is incomplete:", *problems]))
        session.exitstatus = 1
    else:
        ran = ", ".join(f"{m}: {_ran[m]}" for m in required)
        print(f"\n\nLASTBELL_STRICT: every required kind of test ran ({ran}).")
