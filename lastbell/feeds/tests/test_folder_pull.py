"""A drop-folder feed: the newest CSV in the folder is applied; the same file again changes
nothing; a missing folder or file is a failed pull."""

import pytest

from lastbell.audit.models import AuditEvent
from lastbell.conftest import SCHOOL_DAY
from lastbell.feeds.models import FeedPull
from lastbell.feeds.tests.support import bus_csv, bus_defaults, drop, folder_feed, pull_now
from lastbell.plans.board import day_board
from lastbell.plans.models import PlanType, Source

pytestmark = pytest.mark.django_db


def _bus(school, student):
    row = day_board(school, SCHOOL_DAY, student_ids=[student.pk]).rows[0]
    return row.plan_type, row.bus_number


def test_it_applies_the_newest_csv_in_the_folder(drop_root, school, riders, on_school_day):
    ana, ben = riders
    folder = drop_root / "lincoln"
    drop(folder, bus_csv((ana.sis_id, "7", "")), name="old.csv", age=3600)
    drop(folder, bus_csv((ana.sis_id, "12", "Mon-Fri"), (ben.sis_id, "9", "")), name="new.csv",
         age=60)  # fmt: skip
    drop(folder, "not,a,feed\n", name="notes.txt")
    drop(folder, "student_id,bus\nhalf-written", name=".new.csv.part")
    feed = folder_feed(school)

    pull = pull_now(feed)

    assert (pull.outcome, pull.file_name) == ("applied", "new.csv")
    assert pull.counts["created"] == 2
    assert _bus(school, ana) == (PlanType.BUS, "12")
    assert _bus(school, ben) == (PlanType.BUS, "9")
    assert {d[4] for d in bus_defaults()} == {Source.IMPORT}
    feed.refresh_from_db()
    assert feed.last_pull_ok is True and feed.applied_sha256 == pull.sha256
    assert feed.last_pull_summary == "Applied new.csv. 2 created."
    event = AuditEvent.objects.get(action="feed.pull.applied")
    assert (event.via, event.school_id, event.after["created"]) == ("import", school.pk, 2)


def test_the_same_file_again_is_unchanged(applied_feed):
    before = bus_defaults()
    pull = pull_now(applied_feed)

    assert pull.outcome == "unchanged"
    assert "same as the file applied last time" in pull.message
    assert bus_defaults() == before
    assert FeedPull.objects.filter(outcome="applied").count() == 1
    assert AuditEvent.objects.filter(action="feed.pull.unchanged").count() == 1


def test_a_new_file_updates_and_ends_what_left_the_feed(applied_feed, drop_root, school, riders):
    ana, ben = riders
    drop(drop_root / "lincoln", bus_csv((ana.sis_id, "7", "")), name="tuesday.csv")

    pull = pull_now(applied_feed)

    assert pull.outcome == "applied"
    assert _bus(school, ana) == (PlanType.BUS, "7")
    assert _bus(school, ben)[0] != PlanType.BUS  # Ben left the feed: its default ended


@pytest.mark.parametrize(("setup", "message"), [
    ("no folder", "There is no folder"),
    ("empty folder", "has no CSV file in it"),
])  # fmt: skip
def test_a_missing_folder_or_file_is_a_failed_pull(
    applied_feed, drop_root, district_admin, setup, message
):
    folder = drop_root / "lincoln"
    for path in folder.iterdir():
        path.unlink()
    if setup == "no folder":
        folder.rmdir()
    before = bus_defaults()

    pull = pull_now(applied_feed)

    assert pull.outcome == "failed" and message in pull.message
    assert "Nothing was changed" in pull.message
    assert bus_defaults() == before
    applied_feed.refresh_from_db()
    assert applied_feed.last_pull_ok is False


def test_a_folder_outside_the_drop_root_is_never_read(applied_feed, drop_root, tmp_path):
    # e.g. the uploads of every school, under the data directory
    elsewhere = tmp_path / "uploads"
    elsewhere.mkdir()
    drop(elsewhere, "student_id,bus\nS999999,1\n")
    before = bus_defaults()
    for folder in (str(elsewhere), "../uploads", "lincoln/../../uploads"):
        applied_feed.folder = folder
        applied_feed.save(update_fields=["folder"])

        pull = pull_now(applied_feed)

        assert pull.outcome == "failed", folder
        assert f"must be inside {drop_root}" in pull.message
        assert pull.file_name == ""
    assert bus_defaults() == before
