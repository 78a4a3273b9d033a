"""The five staff tabs of a school, used in Chromium as the office would use them."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TABS = ["Dashboard", "Roster", "Students", "Programs", "History"]


def _tabs(page):
    return page.get_by_role("navigation", name="School sections")


def _counts(page):
    return (page.get_by_test_id("total"), page.get_by_test_id("planned"),
            page.get_by_test_id("missing"))  # fmt: skip


def _result_count(page):
    return page.locator("#results .resultcount")


def test_csp_violations_are_reported(page, browser_errors):
    """The pages' policy is strict, and the error collector sees what it blocks."""
    response = page.goto("/accounts/sign-in/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert "style-src 'self'" in policy
    browser_errors.assert_none()
    # An inline handler, as a careless template might add: the policy blocks it.
    with page.expect_console_message(lambda msg: "Content Security Policy" in msg.text):
        page.evaluate(
            """() => { const img = document.createElement('img');
                       img.setAttribute('onerror', 'window.ran = true');
                       img.src = 'data:image/png;base64,AAAA'; document.body.append(img); }"""
        )
    errors = browser_errors.take()
    assert any("Content Security Policy" in e for e in errors), errors
    assert page.evaluate("window.ran") is None


def test_every_tab_loads_without_errors(page, sign_in, world, browser_errors):
    sign_in(world.staff)
    for tab in TABS:
        _tabs(page).get_by_role("link", name=tab).click()
        expect(_tabs(page).locator("[aria-current=page]")).to_have_text(tab)
        expect(page).to_have_title(re.compile(rf"^{tab} — Lincoln Elementary"))
        expect(page.locator(".topbar .schoolname")).to_have_text("Lincoln Elementary")
        CHECKS[tab](page)
        browser_errors.assert_none()


def _dashboard(page):
    total, planned, missing = _counts(page)
    expect(total).to_have_text("7")
    expect(planned).to_have_text("4")
    expect(missing).to_have_text("3")
    expect(page.get_by_role("heading", name="How students go home")).to_be_visible()
    expect(page.locator("#missinghead + ul")).to_contain_text("Rivera, Ana")
    expect(page.get_by_role("cell", name="Bus 12")).to_be_visible()


def _roster(page):
    expect(page.get_by_role("heading", name="Bus 2", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Bus 12 2", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="No plan yet 3", exact=True)).to_be_visible()
    expect(page.locator("#g-walk")).to_contain_text("Nguyen, Chloe")


def _students(page):
    expect(_result_count(page)).to_have_text("7 students")
    expect(page.locator("#results tbody tr")).to_have_count(7)
    expect(page.get_by_label("Search by name or student id")).to_be_visible()


def _programs(page):
    expect(page.get_by_role("heading", name="Programs", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="New program")).to_be_visible()


def _history(page):
    # The seeded defaults were set through the services, so they are in the log.
    expect(page.locator(".timeline > li")).to_have_count(4)
    expect(page.locator(".timeline")).to_contain_text("Long-term default for Ben Okafor")


CHECKS = {"Dashboard": _dashboard, "Roster": _roster, "Students": _students,
          "Programs": _programs, "History": _history}  # fmt: skip


def test_students_search_and_filter_without_reload(page, sign_in, world, browser_errors):
    sign_in(world.staff)
    # The dashboard's "no plan yet" total leads to the filtered list.
    page.get_by_role("link", name=re.compile("no plan yet")).click()
    plan = page.get_by_label("Plan", exact=True)
    expect(plan).to_have_value("missing")
    expect(_result_count(page)).to_have_text("3 students of 7")
    rows = page.locator("#results tbody tr")
    expect(rows).to_contain_text(["Larsen, Gus", "Rivas, Elena", "Rivera, Ana"])
    for i in range(3):
        expect(rows.nth(i)).to_contain_text("No plan yet")

    # From here on htmx swaps the results; the document itself never reloads.
    page.evaluate("window.lastbellNoReload = true")
    plan.select_option(label="All plans")
    expect(_result_count(page)).to_have_text("7 students")
    search = page.get_by_label("Search by name or student id")
    with page.expect_response(
        lambda r: "q=Riv" in r.url and r.request.headers.get("hx-request") == "true"
    ):
        search.press_sequentially("Riv", delay=40)
    expect(_result_count(page)).to_have_text("2 students of 7")
    expect(rows).to_contain_text(["Rivas, Elena", "Rivera, Ana"])
    search.press_sequentially("era", delay=40)
    expect(_result_count(page)).to_have_text("1 student of 7")
    expect(rows).to_contain_text(["Rivera, Ana"])
    expect(page).to_have_url(re.compile(r"[?&]q=Rivera"))

    search.fill("")
    expect(_result_count(page)).to_have_text("7 students")
    plan.select_option(label="No plan yet")
    expect(_result_count(page)).to_have_text("3 students of 7")
    page.get_by_label("Grade").select_option("5")
    expect(_result_count(page)).to_have_text("1 student of 7")
    expect(rows).to_contain_text(["Rivas, Elena"])
    # Nothing matches: the empty state, not an empty table.
    search.fill("Zzyzx")
    expect(page.locator("#results .empty")).to_contain_text("No student matches")
    assert page.evaluate("window.lastbellNoReload") is True
    browser_errors.assert_none()


def test_set_long_term_default_then_dashboard_and_history(page, sign_in, world, browser_errors):
    sign_in(world.staff)
    day = world.weekday
    page.goto(world.url("plans:dashboard", date=day))
    total, planned, missing = _counts(page)
    expect(missing).to_have_text("3")
    expect(planned).to_have_text("4")

    _tabs(page).get_by_role("link", name="Students").click()
    page.get_by_label("Search by name or student id").fill("Rivera")
    expect(_result_count(page)).to_have_text("1 student of 7")
    page.get_by_role("link", name="Rivera, Ana").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ana Rivera")
    expect(page.locator(".plan-now")).to_contain_text("No plan yet")
    page.get_by_role("link", name="Set a long-term default").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Long-term default for Ana Rivera")

    every = page.get_by_role("group", name="Every school day")
    how = every.get_by_label("How home")
    bus_route = every.get_by_label("Bus route")
    pickup = every.get_by_label("Picked up by")
    dismiss_at = every.get_by_label("Dismissal time")
    # With JavaScript only the chosen type's details show; the weekday editor is hidden.
    expect(bus_route).to_be_hidden()
    expect(page.get_by_role("group", name="Monday")).to_be_hidden()
    how.select_option(label="Pickup")
    expect(pickup).to_be_visible()
    expect(bus_route).to_be_hidden()
    how.select_option(label="Bus")
    expect(bus_route).to_be_visible()
    expect(pickup).to_be_hidden()
    expect(dismiss_at).to_be_hidden()
    expect(every.get_by_label("Note")).to_be_visible()
    bus_route.select_option(label="Bus 12 — North loop")
    page.get_by_role("button", name="Save the default").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Ana Rivera")
    expect(page.locator(".messages")).to_contain_text("Saved the long-term default for Ana Rivera")
    default_card = page.locator("section", has=page.locator("#defhead"))
    for name in ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]:
        expect(default_card).to_contain_text(f"{name}: Bus 12")
    upcoming = page.locator("section", has=page.locator("#uphead"))
    expect(upcoming.get_by_role("row").filter(has_text=day.strftime("%a %b %-d"))).to_contain_text(
        "Bus 12 — North loop"
    )

    page.goto(world.url("plans:dashboard", date=day))
    expect(missing).to_have_text("2")
    expect(planned).to_have_text("5")
    expect(total).to_have_text("7")
    expect(page.locator("#missinghead + ul")).not_to_contain_text("Rivera, Ana")

    _tabs(page).get_by_role("link", name="History").click()
    latest = page.locator(".timeline > li").first
    expect(latest).to_contain_text("Dana Office")
    expect(latest).to_contain_text("Long-term default for Ana Rivera")
    browser_errors.assert_none()


def test_add_a_change_from_the_student_page(page, sign_in, world, browser_errors):
    sign_in(world.staff)
    page.goto(world.url("plans:student", world.students["ben"].id))
    expect(page.locator(".plan-now")).to_contain_text("Bus 12")
    page.get_by_role("link", name="Add a change").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a change for Ben Okafor")
    expect(page.get_by_label("From")).to_have_value(world.today.isoformat())
    page.get_by_label("How home").select_option(label="Pickup")
    adult = page.get_by_label("Picked up by")
    expect(adult).to_be_visible()
    expect(page.get_by_label("Bus route")).to_be_hidden()
    adult.fill("Aunt Grace")
    page.get_by_label("Note").fill("Dentist")
    page.get_by_label("Note").press("Enter")  # Enter in a text field submits the form

    expect(page.locator(".messages")).to_contain_text("Added a change for Ben Okafor")
    expect(page.locator(".plan-now")).to_contain_text("Picked up by Aunt Grace")
    expect(page.locator(".plan-now")).to_contain_text("A change for this day")
    changes = page.locator("section", has=page.locator("#chhead"))
    expect(changes).to_contain_text("Pickup by Aunt Grace — Dentist")
    expect(changes.get_by_role("button", name=re.compile("^Remove the change"))).to_be_visible()

    _tabs(page).get_by_role("link", name="History").click()
    expect(page.locator(".timeline > li").first).to_contain_text("Change for Ben Okafor")
    # The history search narrows with htmx as well.
    page.get_by_label("Student (name or id)").fill("Okafor")
    expect(page.locator(".timeline > li")).to_have_count(2)
    browser_errors.assert_none()


def test_create_a_program_and_enroll_a_student(page, sign_in, world, browser_errors):
    sign_in(world.staff)
    _tabs(page).get_by_role("link", name="Programs").click()
    expect(page.locator(".empty")).to_contain_text("No programs yet")
    page.get_by_role("link", name="New program").click()
    page.get_by_label("Name").fill("Chess Club")
    page.get_by_label("Kind").select_option(label="Club")
    # Meets Monday–Friday by default: the form pre-ticks them.
    expect(page.get_by_role("checkbox", name="Monday")).to_be_checked()
    page.get_by_label("Ends on").fill((world.today + dt.timedelta(days=60)).isoformat())
    page.get_by_label("Location").fill("Library")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Chess Club")
    expect(page.locator(".messages")).to_contain_text("Saved Chess Club.")
    expect(page.get_by_text("Nobody is enrolled yet.")).to_be_visible()
    chloe = world.students["chloe"]
    page.get_by_role("combobox", name="Student").select_option(
        label=f"Nguyen, Chloe — grade 4 ({chloe.sis_id})"
    )
    page.get_by_role("checkbox", name="Wednesday").uncheck()
    page.get_by_role("button", name="Enroll").click()

    expect(page.locator(".messages")).to_contain_text("Enrolled Chloe Nguyen on Mon, Tue, Thu, Fri")
    enrolled = page.locator("section", has=page.locator("#enhead"))
    expect(enrolled.get_by_role("heading")).to_have_text("Enrolled (1)")
    expect(enrolled).to_contain_text("Nguyen, Chloe")

    _tabs(page).get_by_role("link", name="Programs").click()
    row = page.get_by_role("row").filter(has_text="Chess Club")
    expect(row).to_contain_text("Library")
    expect(row.locator("td").last).to_have_text("1")

    # On a day Chloe attends, the dashboard counts her in the program instead of walking.
    day = world.today
    while day.weekday() not in (0, 1, 3, 4):
        day += dt.timedelta(days=1)
    page.goto(world.url("plans:dashboard", date=day))
    programs = page.locator("section", has=page.locator("#proghead"))
    expect(programs.get_by_role("row").filter(has_text="Chess Club")).to_contain_text("1")
    expect(page.locator(".bar-program .bar-count")).to_have_text("1")
    expect(page.locator(".bar-walk .bar-count")).to_have_text("0")

    _tabs(page).get_by_role("link", name="History").click()
    events = page.locator(".timeline > li")
    expect(events.nth(0)).to_contain_text("Chloe Nguyen in Chess Club")
    expect(events.nth(1)).to_contain_text("Chess Club")
    browser_errors.assert_none()


def _focused(page):
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          const style = getComputedStyle(el);
          return {tag: el.tagName, text: (el.textContent || '').trim(), id: el.id,
                  visible: el.matches(':focus-visible'),
                  outline: style.outlineStyle + ' ' + style.outlineWidth};
        }"""
    )


def _tab_until(page, predicate, limit=30):
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if predicate(focused):
            return focused
    raise AssertionError(f"Tab never reached the element; last focus was {focused}")


def test_keyboard_only(page, sign_in, world, browser_errors):
    sign_in(world.staff, press_enter=True)
    # The skip link comes first.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    focused = _tab_until(page, lambda f: f["tag"] == "A" and f["text"] == "Students")
    assert focused["visible"], focused
    assert focused["outline"] == "solid 3px", focused
    page.keyboard.press("Enter")
    expect(_tabs(page).locator("[aria-current=page]")).to_have_text("Students")

    focused = _tab_until(page, lambda f: f["id"] == "id_q")
    assert focused["visible"] and focused["outline"] == "solid 3px", focused
    page.evaluate("window.lastbellNoReload = true")
    page.keyboard.type("Okafor")
    page.keyboard.press("Enter")  # submits the filters, through htmx: no reload
    expect(_result_count(page)).to_have_text("1 student of 7")
    expect(page.locator("#results tbody tr")).to_contain_text("Okafor, Ben")
    assert page.evaluate("window.lastbellNoReload") is True
    expect(page.get_by_label("Search by name or student id")).to_be_focused()
    browser_errors.assert_none()


def test_phone_width_has_no_horizontal_scroll(page, sign_in, world, browser_errors):
    page.set_viewport_size({"width": 320, "height": 640})
    sign_in(world.staff)
    for name in ["plans:dashboard", "plans:students"]:
        page.goto(world.url(name))
        expect(_tabs(page)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{name} is {width}px wide on a 320px phone"
        # Every tab can be reached, even where the tab bar scrolls sideways.
        for tab in reversed(TABS):
            link = _tabs(page).get_by_role("link", name=tab)
            link.scroll_into_view_if_needed()
            expect(link).to_be_in_viewport()
    _tabs(page).get_by_role("link", name="History").click()
    expect(_tabs(page).locator("[aria-current=page]")).to_have_text("History")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    browser_errors.assert_none()
