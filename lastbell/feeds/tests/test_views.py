"""The feed's page: setup with errors a school office understands, "Pull now", the history,
and who may see and change it."""

import datetime as dt

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.feeds.models import BusFeed, FeedPull
from lastbell.feeds.services import bus_feed_pull
from lastbell.feeds.tests.support import bus_csv, drop, folder_feed, pull_now

pytestmark = pytest.mark.django_db

SECRET = "Bearer district-transport-7f3a9c"


def page_url(school):
    return reverse("feeds:page", args=[school.pk])


def pull_url(school):
    return reverse("feeds:pull", args=[school.pk])


def setup_form(**fields):
    return {"kind": "folder", "folder": "lincoln", "url": "", "pull_at": "02:00",
            "enabled": "on", **fields}  # fmt: skip


def test_the_imports_tab_links_to_the_feed(client, staff, school):
    client.force_login(staff)
    assertContains(client.get(reverse("imports:school", args=[school.pk])), page_url(school))


def test_a_school_admin_sets_up_a_folder_feed(
    client, school_admin, school, drop_root, on_school_day, django_capture_on_commit_callbacks
):
    client.force_login(school_admin)
    assertContains(client.get(page_url(school)), "Set up the feed")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(page_url(school), setup_form())

    assert response.status_code == 302
    feed = BusFeed.objects.get(school=school)
    assert (feed.kind, feed.folder, feed.enabled) == ("folder", "lincoln", True)
    assert feed.next_pull_at == dt.datetime(2026, 11, 19, 10, 0, tzinfo=dt.UTC)
    assert len(callbacks) == 1  # the next pull, booked once the save is committed
    event = AuditEvent.objects.get(action="feed.saved")
    assert (event.actor, event.after["folder"]) == (school_admin, "lincoln")
    page = client.get(page_url(school))
    assertContains(page, "Thu Nov 19, 2:00 AM")
    assertContains(page, "Not pulled yet.")


@pytest.mark.parametrize(("fields", "error"), [
    ({"kind": "url", "url": "http://transport.example.org/lincoln.csv"},
     "The address must start with https://."),
    ({"kind": "url", "url": "https://bus:hunter2@transport.example.org/lincoln.csv"},
     "Take the user name and password out of the address"),
    ({"kind": "url", "url": ""}, "Give the web address of the feed"),
    ({"folder": ""}, "Give the folder the transportation system"),
    ({"folder": "../../etc"}, "The folder must be inside"),
    ({"folder": "washington"}, "There is no folder"),
    ({"pull_at": "25:99"}, "Enter a time such as 2:00 AM."),
    ({"kind": "url", "url": "https://transport.example.org/x.csv",
      "new_authorization": "Bearer a\r\nX-Evil: 1"}, "must be one line of plain text"),
])  # fmt: skip
def test_the_setup_form_says_what_to_fix(client, school_admin, school, drop_root, fields, error):
    client.force_login(school_admin)

    response = client.post(page_url(school), setup_form(**fields))

    assert response.status_code == 400
    assertContains(response, error, status_code=400)
    assert not BusFeed.objects.exists()


def test_the_authorization_value_is_never_shown_back(client, school_admin, school, drop_root):
    client.force_login(school_admin)
    form = setup_form(kind="url", url="https://transport.example.org/lincoln.csv",
                      new_authorization=SECRET)  # fmt: skip
    client.post(page_url(school), form)
    assert BusFeed.objects.get().authorization == SECRET

    page = client.get(page_url(school))
    assertNotContains(page, "district-transport")
    assertContains(page, "A value is saved (••••3a9c)")
    assert SECRET not in str(AuditEvent.objects.get().after)

    # Saving without a new value keeps it; "Remove" removes it.
    client.post(page_url(school), {**form, "new_authorization": "", "pull_at": "03:00"})
    assert BusFeed.objects.get().authorization == SECRET
    client.post(page_url(school), {**form, "new_authorization": "", "clear_authorization": "on"})
    assert BusFeed.objects.get().authorization == ""


def test_pull_now_is_audited_and_pulls_as_the_person(
    client, staff, school, riders, drop_root, on_school_day, django_capture_on_commit_callbacks
):
    ana, ben = riders
    drop(drop_root / "lincoln", bus_csv((ana.sis_id, "12", ""), (ben.sis_id, "12", "")))
    feed = folder_feed(school, enabled=False)
    client.force_login(staff)  # dismissal staff may pull, as they may import a file

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(pull_url(school))

    assert response.status_code == 302 and len(callbacks) == 1
    assert AuditEvent.objects.filter(action="feed.pull.requested", actor=staff).count() == 1
    assertContains(client.get(page_url(school)), "Pull requested")
    callbacks[0]()  # the task is booked at once; the worker runs it:
    pull = bus_feed_pull(feed_id=feed.pk)
    assert (pull.trigger, pull.requested_by, pull.outcome) == ("person", staff, "applied")
    event = AuditEvent.objects.get(action="feed.pull.applied")
    assert (event.actor, event.via) == (staff, "import")
    page = client.get(page_url(school))
    assertContains(page, "Succeeded")
    assertContains(page, "Applied buses.csv. 2 created.")
    assertNotContains(page, "Pull requested")


def test_a_failed_pull_shows_on_the_page(client, staff, school, drop_root, on_school_day):
    feed = folder_feed(school)
    drop(drop_root / "lincoln", "student_id,bus\nS404,3\n")
    pull_now(feed, staff)
    client.force_login(staff)

    page = client.get(page_url(school))

    assertContains(page, "Failed")
    assertContains(page, "no student with id S404 at Lincoln Elementary")


def test_the_history_is_paginated(client, staff, school):
    feed = folder_feed(school)
    start = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
    FeedPull.objects.bulk_create(
        FeedPull(feed=feed, started_at=start + dt.timedelta(days=n),
                 finished_at=start + dt.timedelta(days=n), outcome="unchanged",
                 trigger="schedule", file_name=f"day-{n:02d}.csv")
        for n in range(25)
    )  # fmt: skip
    client.force_login(staff)

    first = client.get(page_url(school))
    second = client.get(page_url(school), {"page": 2})

    assertContains(first, "Page 1 of 2")
    assertContains(first, "day-24.csv")
    assertNotContains(first, "day-04.csv")
    assertContains(second, "day-04.csv")
    assertContains(second, "day-00.csv")
    assertNotContains(second, "day-05.csv")


def test_who_may_see_change_and_pull(
    client,
    school,
    other_school,
    staff,
    other_staff,
    teacher,
    guardian,
    school_admin,
    district_admin,
    drop_root,
):
    feed = folder_feed(school)
    other_admin = testing.make_staff(other_school, "school_admin")
    cases = [
        (other_staff, 404, 404, 404),  # another school's staff: the school does not exist
        (other_admin, 404, 404, 404),
        (guardian.user, 404, 404, 404),  # a parent has no staff access at all
        (teacher, 403, 403, 403),
        (staff, 200, 403, 302),  # dismissal staff: see and pull, not change
        (school_admin, 200, 302, 302),
        (district_admin, 200, 302, 302),
    ]
    for hour, (user, see, change, pull) in enumerate(cases):
        client.force_login(user)
        assert client.get(page_url(school)).status_code == see, user
        form = setup_form(pull_at=f"{hour:02d}:30")
        assert client.post(page_url(school), form).status_code == change, user
        assert client.post(pull_url(school)).status_code == pull, user
    feed.refresh_from_db()
    assert feed.pull_at == dt.time(6, 30)  # the district admin's, the last allowed change
    changed_by = {e.actor for e in AuditEvent.objects.filter(action="feed.saved")}
    assert changed_by == {school_admin, district_admin}
    pulled_by = {e.actor for e in AuditEvent.objects.filter(action="feed.pull.requested")}
    assert pulled_by == {staff, school_admin, district_admin}


def test_dismissal_staff_see_the_feed_without_its_form(client, staff, school, drop_root):
    folder_feed(school, authorization=SECRET)
    client.force_login(staff)
    page = client.get(page_url(school))
    assertContains(page, "Only the school's administrators can change the feed.")
    assertNotContains(page, 'name="folder"')
    assertNotContains(page, "district-transport")
