"""A pull that fails in any way applies nothing: the bus plans stay exactly as the last good
file left them, the failure is written down, and every district admin is emailed."""

import pytest

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.feeds.models import BusFeed, FeedPull
from lastbell.feeds.tests.support import bus_csv, bus_defaults, drop, pull_now
from lastbell.messaging.models import Message, Status

pytestmark = pytest.mark.django_db


def _serve(feed, url):
    feed.kind, feed.url = BusFeed.Kind.URL, url
    feed.save(update_fields=["kind", "url"])


def server_error(feed, riders, *, https_server, **_):
    base, routes = https_server
    routes.answers["/buses.csv"] = (500, b"Internal error")
    _serve(feed, f"{base}/buses.csv")
    return "“500 Internal Server Error”"


def no_answer(feed, riders, *, silent_port, **_):
    _serve(feed, f"https://127.0.0.1:{silent_port}/buses.csv")
    return "did not answer within 0.5 seconds"


def a_rejected_row(feed, riders, *, https_server, **_):
    # Ana moves to bus 7 and Ben is not in the file: applied in part, Ben's bus would end.
    base, routes = https_server
    ana, _ = riders
    routes.answers["/buses.csv"] = (200, bus_csv((ana.sis_id, "7", ""), ("S404", "3", "")).encode())
    _serve(feed, f"{base}/buses.csv")
    return "1 row of buses.csv could not be used"


def not_utf8(feed, riders, *, drop_root, **_):
    ana, ben = riders
    drop(drop_root / "lincoln", "student_id,bus,route_name\n"
         f"{ana.sis_id},7,Peñasco\n{ben.sis_id},7,Peñasco\n", name="latin1.csv",
         encoding="latin-1")  # fmt: skip
    return "is not UTF-8 text"


def only_a_header(feed, riders, *, drop_root, **_):
    drop(drop_root / "lincoln", "student_id,bus,weekdays\n", name="empty-export.csv")
    return "has no bus assignments in it"


@pytest.mark.parametrize("failure", [server_error, no_answer, a_rejected_row, not_utf8,
                                     only_a_header])  # fmt: skip
def test_a_failed_pull_applies_nothing_and_tells_the_district_admins(
    failure,
    applied_feed,
    riders,
    school,
    staff,
    district_admin,
    ca_bundle,
    settings,
    drop_root,
    https_server,
    silent_port,
):
    settings.LASTBELL_FEED_CA_BUNDLE = str(ca_bundle)
    elsewhere = testing.make_district_admin(testing.make_district("Hillside Unified"))
    said = failure(applied_feed, riders, drop_root=drop_root, https_server=https_server,
                   silent_port=silent_port)  # fmt: skip
    before = bus_defaults()
    assert {row[0] for row in before} == {r.sis_id for r in riders}

    pull = pull_now(applied_feed, timeout=0.5)

    assert pull.outcome == FeedPull.Outcome.FAILED
    assert said in pull.message
    assert bus_defaults() == before
    applied_feed.refresh_from_db()
    assert applied_feed.last_pull_ok is False
    assert AuditEvent.objects.filter(action="feed.pull.failed", school=school).count() == 1
    sent = Message.objects.get(to=district_admin.email)
    assert sent.status == Status.QUEUED
    assert sent.subject == "Bus feed not applied: Lincoln Elementary"
    assert said in sent.body and "Nothing was changed" in sent.body
    assert f"/schools/{school.pk}/bus-feed/" in sent.body
    assert not Message.objects.filter(to__in=[staff.email, elsewhere.email]).exists()


def test_a_rejected_row_is_listed_with_its_reason(applied_feed, drop_root, riders):
    ana, ben = riders
    drop(drop_root / "lincoln", bus_csv((ana.sis_id, "7", ""), (ben.sis_id, "7", "Someday")),
         name="tuesday.csv")  # fmt: skip

    pull = pull_now(applied_feed)

    assert pull.outcome == "failed"
    assert f"tuesday.csv row 3: bus {ben.sis_id} bus 7 rejected: the weekdays" in pull.message
    assert pull.counts["rejected"] == 1 and pull.file_name == "tuesday.csv"
