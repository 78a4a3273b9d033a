"""The schedule: each feed's next pull waits in the task queue; a pull books the next one at
the same local time (across daylight-saving changes); a pull enqueued twice runs once; and
`schedule_feeds` books what the queue lacks, once."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from lastbell.audit.models import AuditEvent
from lastbell.feeds.models import BusFeed, FeedPull
from lastbell.feeds.services import bus_feed_pull, bus_feed_save
from lastbell.feeds.tasks import pull_bus_feed
from lastbell.feeds.tests.support import bus_csv, drop, folder_feed
from lastbell.messaging.tests.support import run_worker

UTC = dt.UTC
IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def booked(feed) -> list[dt.datetime | None]:
    """When the queue's waiting pulls of this feed run (None: at once), earliest first."""
    rows = DBTaskResult.objects.filter(
        task_path=pull_bus_feed.module_path, status=TaskResultStatus.READY
    )
    times = [r.task.run_after for r in rows if r.args_kwargs["args"] == [feed.pk]]
    return sorted(times, key=lambda t: t or dt.datetime.min.replace(tzinfo=UTC))


@pytest.fixture
def feed_file(drop_root, riders):
    ana, ben = riders
    drop(drop_root / "lincoln", bus_csv((ana.sis_id, "12", ""), (ben.sis_id, "12", "")))


def test_saving_a_feed_books_its_next_pull(
    db, school, school_admin, drop_root, on_school_day, django_capture_on_commit_callbacks
):
    # 9 am Pacific on Wednesday, November 18: the first pull is at 2 am on Thursday.
    thursday_2am = dt.datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        feed = bus_feed_save(feed=BusFeed(school=school, folder="lincoln"), actor=school_admin)
    assert feed.next_pull_at == thursday_2am
    assert booked(feed) == [thursday_2am]
    assert AuditEvent.objects.filter(action="feed.saved").count() == 1

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        bus_feed_save(feed=feed, actor=school_admin)  # nothing changed
    assert callbacks == [] and booked(feed) == [thursday_2am]
    assert AuditEvent.objects.filter(action="feed.saved").count() == 1

    feed.pull_at = dt.time(5, 45)
    with django_capture_on_commit_callbacks(execute=True):
        bus_feed_save(feed=feed, actor=school_admin)
    assert feed.next_pull_at == dt.datetime(2026, 11, 19, 13, 45, tzinfo=UTC)
    # The 2 am task stays in the queue, and will find nothing due.
    assert booked(feed) == [thursday_2am, feed.next_pull_at]

    feed.enabled = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        bus_feed_save(feed=feed, actor=school_admin)
    assert feed.next_pull_at is None and callbacks == []


@pytest.mark.parametrize(("pull_at", "pulls", "then"), [
    # Clocks go back at 2 am on Sunday, November 1, 2026: 2:30 is 9:30 UTC, then 10:30.
    (dt.time(2, 30), [dt.datetime(2026, 10, 31, 9, 30, tzinfo=UTC),
                      dt.datetime(2026, 11, 1, 10, 30, tzinfo=UTC)],
     dt.datetime(2026, 11, 2, 10, 30, tzinfo=UTC)),
    # Clocks go forward at 2 am on Sunday, March 14, 2027: there is no 2:00 that night, so
    # that pull is at 3:00 (the same moment); the next is at 2:00 again.
    (dt.time(2, 0), [dt.datetime(2027, 3, 13, 10, 0, tzinfo=UTC),
                     dt.datetime(2027, 3, 14, 10, 0, tzinfo=UTC)],
     dt.datetime(2027, 3, 15, 9, 0, tzinfo=UTC)),
])  # fmt: skip
def test_the_next_pull_keeps_the_local_time_across_daylight_saving(
    db, school, feed_file, time_machine, django_capture_on_commit_callbacks, pull_at, pulls, then
):
    feed = folder_feed(school, enabled=True, pull_at=pull_at, next_pull_at=pulls[0])
    for at, following in zip(pulls, [*pulls[1:], then], strict=True):
        time_machine.move_to(at, tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            pull = bus_feed_pull(feed_id=feed.pk)
        assert pull.trigger == FeedPull.Trigger.SCHEDULE, pull.message
        feed.refresh_from_db()
        assert feed.next_pull_at == following
        assert booked(feed)[-1] == following


def test_a_pull_that_is_not_due_does_nothing(db, school, feed_file, on_school_day):
    later = dt.datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    feed = folder_feed(school, enabled=True, next_pull_at=later)
    assert bus_feed_pull(feed_id=feed.pk) is None
    feed.enabled, feed.next_pull_at = False, dt.datetime(2026, 11, 1, tzinfo=UTC)
    feed.save()
    assert bus_feed_pull(feed_id=feed.pk) is None  # turned off: past due or not
    assert not FeedPull.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_pull_enqueued_three_times_runs_once_and_books_the_next(school, feed_file, on_school_day):
    due = dt.datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # 2 am this morning: the worker was down
    feed = folder_feed(school, enabled=True, next_pull_at=due)
    for _ in range(3):
        pull_bus_feed.enqueue(feed.pk)

    run_worker()

    results = DBTaskResult.objects.filter(task_path=pull_bus_feed.module_path).exclude(
        status=TaskResultStatus.READY
    )
    assert sorted(r.return_value for r in results) == ["applied", "not due", "not due"]
    assert FeedPull.objects.count() == 1
    feed.refresh_from_db()
    assert feed.next_pull_at == dt.datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    assert booked(feed) == [feed.next_pull_at]


def test_schedule_feeds_books_what_the_queue_lacks_once(
    db,
    school,
    other_school,
    school_admin,
    drop_root,
    on_school_day,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        feed = bus_feed_save(feed=BusFeed(school=school, folder="lincoln"), actor=school_admin)
    off = folder_feed(other_school, enabled=False)

    call_command("schedule_feeds")
    call_command("schedule_feeds")
    assert booked(feed) == [feed.next_pull_at] and booked(off) == []

    DBTaskResult.objects.all().delete()  # lost, e.g. a crash between the save and its task
    call_command("schedule_feeds")
    call_command("schedule_feeds")
    assert booked(feed) == [feed.next_pull_at]

    # Past due (the server was off at 2 am) and asked for: both are booked to run now.
    BusFeed.objects.filter(pk=feed.pk).update(next_pull_at=dt.datetime(2026, 11, 18, 10, 0,
                                                                       tzinfo=UTC))  # fmt: skip
    BusFeed.objects.filter(pk=off.pk).update(pull_requested_at=dt.datetime(2026, 11, 18, 16, 0,
                                                                           tzinfo=UTC))  # fmt: skip
    call_command("schedule_feeds")
    call_command("schedule_feeds")
    assert booked(feed) == [None, feed.next_pull_at] and booked(off) == [None]


def test_without_a_worker_that_can_wait_schedule_feeds_pulls_what_is_due(
    db,
    settings,
    school,
    school_admin,
    feed_file,
    time_machine,
    on_school_day,
    django_capture_on_commit_callbacks,
):
    settings.TASKS = IMMEDIATE
    with django_capture_on_commit_callbacks(execute=True):
        feed = bus_feed_save(feed=BusFeed(school=school, folder="lincoln"), actor=school_admin)
    call_command("schedule_feeds")  # from cron, before the pull is due: nothing happens
    assert not FeedPull.objects.exists()

    time_machine.move_to(feed.next_pull_at + dt.timedelta(minutes=1), tick=False)
    call_command("schedule_feeds")

    assert FeedPull.objects.get().outcome == "applied"
    feed.refresh_from_db()
    assert feed.next_pull_at == dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
