"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server,
and the accessibility check (axe-core) that guardian and staff pages must pass.

A pytest plugin: lastbell/conftest.py lists it in `pytest_plugins`, so any test package can
use its fixtures without importing them. A test that uses the `browser` fixture (through
`page`, say) is marked `browser` for `-m browser` and the strict CI check.

    from lastbell.testing_browser import assert_accessible, assert_fits_width

    @pytest.mark.parametrize("viewport", ["desktop", "phone", "phone_large"])
    def test_it_is_usable(page, force_sign_in, guardian):
        force_sign_in(guardian.user)
        page.goto("/family/")
        assert_accessible(page)
        assert_fits_width(page)

Pages run under the production Content-Security-Policy; every console error or uncaught page
error (CSP violations included) fails the test that caused it. Playwright's
`wait_for_function` does not work under that policy (it compiles the predicate with `eval`):
wait with `expect(locator)` instead.
"""

import os
import re
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 320, "height": 640}  # the narrowest phone the pages must work on
PHONE_LARGE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE, "phone_large": PHONE_LARGE}

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
# Violations at these impacts fail a test; "minor" and "moderate" ones are not checked.
FAILING_IMPACTS = ("serious", "critical")


def pytest_collection_modifyitems(config, items):
    """Mark every test that drives the browser, wherever it lives."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module.

    Module scope, not session scope: Playwright's sync API leaves an asyncio loop running in
    the main thread until it stops, which would break async_to_sync and asyncio.run in any
    test that runs after these in the same session (`make test` runs everything at once).
    (A package-scoped fixture in a plugin is session-scoped in effect: it belongs to no
    package.) While it runs, Django's ORM sees that loop and refuses sync queries unless
    DJANGO_ALLOW_ASYNC_UNSAFE is set; it is set only for that span and then restored.
    """
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM}: install Debian's chromium package "
            "(`make test` does) to run the browser tests."
        )
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class BrowserErrors(list):
    """Console errors and uncaught exceptions of one test's pages."""

    def take(self) -> list[str]:
        taken = list(self)
        self.clear()
        return taken

    def assert_none(self):
        errors = self.take()
        assert not errors, "The page reported errors:\n" + "\n".join(errors)


@pytest.fixture
def browser_errors():
    return BrowserErrors()


@pytest.fixture
def viewport():
    """The page's size: a name in VIEWPORTS or a {"width", "height"} dict. Parametrize it
    (`@pytest.mark.parametrize("viewport", ["desktop", "phone"])`) to run a test at each."""
    return "desktop"


@pytest.fixture
def browser_locale():
    """The language the browser asks for (Accept-Language); parametrize it as `viewport`."""
    return "en-US"


@pytest.fixture
def page(browser, browser_errors, live_server, viewport, browser_locale):
    """A fresh context (cookies, storage) per test; errors collected for the test to check."""
    from playwright.sync_api import expect

    expect.set_options(timeout=5_000)
    size = VIEWPORTS[viewport] if isinstance(viewport, str) else viewport
    context = browser.new_context(viewport=size, base_url=live_server.url, locale=browser_locale)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    tab.on(
        "console",
        lambda msg: browser_errors.append(f"console {msg.type}: {msg.text} ({msg.location})")
        if msg.type == "error" else None,
    )  # fmt: skip
    tab.on("pageerror", lambda exc: browser_errors.append(f"page error: {exc}"))
    yield tab
    context.close()
    # A test that forgot to look still fails on an error its pages reported.
    errors = browser_errors.take()
    if errors:
        pytest.fail("The page reported errors:\n" + "\n".join(errors))


@pytest.fixture
def sign_in(page):
    """Sign in through the staff sign-in form; returns the page, on wherever it led."""
    from playwright.sync_api import expect

    from lastbell import testing

    def sign_in_as(user, *, password=testing.PASSWORD):
        page.goto("/accounts/sign-in/")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).not_to_have_url(re.compile(r"/accounts/sign-in/"))
        return page

    return sign_in_as


@pytest.fixture
def force_sign_in(page, live_server):
    """Sign any account in (a guardian's too) without a form or a link, as the test client's
    force_login does: its session cookie goes into the browser. Returns the page."""
    from django.conf import settings
    from django.test import Client

    def sign_in_as(user):
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
        )
        return page

    return sign_in_as


def run_axe(page, options: dict | None = None) -> list[dict]:
    """axe-core's violations on the page as it is now (every rule of its default set).

    axe is injected with `page.evaluate(source)`: Playwright sends the source through the
    DevTools protocol (Runtime.evaluate), which the page's Content-Security-Policy does not
    govern, so the page keeps its real policy and no test-only relaxation (a `bypass_csp`
    context, an inline <script>, 'unsafe-eval') can hide a violation from the other checks.
    axe's own code then runs in the page like any other script; a CSP error it caused
    would reach the page's error collector and fail the test.
    """
    if not AXE.exists():
        raise AssertionError(
            f"axe-core is not installed at {AXE}: run `npm ci --no-audit --no-fund` "
            "(`make test` does)."
        )
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        "options => axe.run(document, options)",
        {"resultTypes": ["violations"], **(options or {})},
    )
    return result["violations"]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"][:10]:
            target = " ".join(" >>> ".join(t) if isinstance(t, list) else t
                              for t in node["target"])  # fmt: skip
            heading, *reasons = (node.get("failureSummary") or "").splitlines()
            lines.append(f"    {target}  {node['html'][:160]}")
            lines.append(f"      {heading} {'; '.join(r.strip() for r in reasons)}")
        if len(violation["nodes"]) > 10:
            lines.append(f"    … and {len(violation['nodes']) - 10} more")
    return "\n".join(lines)


def assert_accessible(page, *, options: dict | None = None, allow: tuple[str, ...] = ()):
    """Fail with a readable list of the page's serious and critical axe-core violations.

    `options` goes to axe.run (e.g. {"runOnly": ["wcag2a"]}); `allow` names rule ids to let
    through, each with a reason in the test that passes it.
    """
    violations = [
        v for v in run_axe(page, options)
        if v["impact"] in FAILING_IMPACTS and v["id"] not in allow
    ]  # fmt: skip
    if violations:  # raised, not asserted: pytest would append the raw results
        raise AssertionError(
            f"{page.url} has {len(violations)} serious or critical accessibility "
            f"violation(s) (axe-core):\n{format_violations(violations)}"
        )


def assert_fits_width(page):
    """The page does not scroll sideways at the viewport's width (a 320 px phone, say)."""
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, (
        f"{page.url} is {scroll_width}px wide in a {width}px window: it scrolls sideways"
    )
