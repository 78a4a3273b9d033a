"""Scheduled bus feeds: setting one up, "Pull now", the pull itself, and the schedule.

Public API:
- `bus_feed_save(...)`: the setup form's save, with its audit event; books the next pull.
- `bus_feed_pull_request(...)`: the "Pull now" button.
- `bus_feed_pull(...)`: what the `pull_bus_feed` task runs.
- `bus_feeds_schedule()`: what `lastbell schedule_feeds` runs (and `lastbell serve` at start).

A pull is never half-applied. The feed is the whole list of a school's bus riders (plans/
bus_feed.py ends the imported default of a student who is not in it), so a file that cannot
be fetched whole, has a whole-file problem, or has even one row that cannot be used, applies
nothing: a dry run comes first, and the import runs only if it is clean (and is rolled back
if it is not clean by then). A failed pull is written down, shown on the feed's page, and
sent to the district admins.
"""

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from lastbell.accounts.models import Role, User
from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.feeds.fetch import FETCH_TIMEOUT, FeedProblem, Fetched, fetched
from lastbell.feeds.models import BusFeed, FeedPull
from lastbell.feeds.tasks import pull_bus_feed
from lastbell.imports.csvfeeds import import_buses
from lastbell.imports.report import Outcome, Report
from lastbell.messaging.models import Channel, Kind
from lastbell.messaging.services import queue_message

logger = logging.getLogger(__name__)

SHOWN_REJECTED_ROWS = 20


def _enqueue_pull(feed_id: int, at: dt.datetime | None = None):
    """Run the pull task now, or at `at` where the task backend can defer.

    Without deferral (the immediate backend) a later pull waits for `lastbell schedule_feeds`,
    which an installation without a worker runs from cron."""
    task = pull_bus_feed
    if at is not None and at > timezone.now():
        if not task.get_backend().supports_defer:
            return
        task = task.using(run_after=at)
    task.enqueue(feed_id)


# --- Setting up a feed ---------------------------------------------------------------------

CONFIG_FIELDS = ["kind", "folder", "url", "authorization", "pull_at", "enabled"]


def _snapshot(feed: BusFeed, old: BusFeed | None = None) -> dict:
    """The feed's settings for the audit log; the Authorization value itself never."""
    if not feed.authorization:
        authorization = "none"
    elif old is not None and old.authorization and old.authorization != feed.authorization:
        authorization = "replaced"
    else:
        authorization = "saved"
    return {
        "kind": feed.kind,
        "folder": feed.folder,
        "url": feed.url,
        "authorization": authorization,
        "pull_at": feed.pull_at.strftime("%H:%M"),
        "enabled": feed.enabled,
    }


def bus_feed_save(*, feed: BusFeed, actor, via=Via.WEB) -> BusFeed:
    """Save the setup form's feed (already validated). A new or changed schedule books the
    next pull once the change is saved."""
    with transaction.atomic():
        old = (
            BusFeed.objects.select_for_update(no_key=True).filter(pk=feed.pk).first()
            if feed.pk
            else None
        )
        if not feed.enabled:
            feed.next_pull_at = None
        elif (old is None or not old.enabled or old.pull_at != feed.pull_at
              or old.next_pull_at is None):  # fmt: skip
            feed.next_pull_at = feed.next_pull_after(timezone.now())
        else:
            feed.next_pull_at = old.next_pull_at
        before = _snapshot(old) if old is not None else None
        after = _snapshot(feed, old)
        if old is None:
            feed.save()
        else:
            if before == after:
                return feed
            # Only the settings: what the worker writes (last pull, requests) stays its own.
            feed.save(update_fields=[*CONFIG_FIELDS, "next_pull_at", "updated_at"])
        changed = [k for k in after if before is None or before[k] != after[k]]
        audit_record(
            action="feed.saved", actor=actor, target=feed, school=feed.school,
            before={k: before[k] for k in changed} if before else None,
            after={k: after[k] for k in changed}, via=via,
        )  # fmt: skip
        if feed.next_pull_at is not None and (old is None or old.next_pull_at != feed.next_pull_at):
            transaction.on_commit(partial(_enqueue_pull, feed.pk, feed.next_pull_at))
    return feed


def bus_feed_pull_request(*, feed: BusFeed, actor, via=Via.WEB) -> BusFeed:
    """The "Pull now" button: the worker pulls the feed as soon as it can, scheduled or not."""
    with transaction.atomic():
        feed = BusFeed.objects.select_for_update(no_key=True).get(pk=feed.pk)
        feed.pull_requested_at = timezone.now()
        feed.pull_requested_by = actor
        feed.save(update_fields=["pull_requested_at", "pull_requested_by"])
        audit_record(
            action="feed.pull.requested", actor=actor, target=feed, school=feed.school,
            after={"source": feed.source}, via=via,
        )  # fmt: skip
        transaction.on_commit(partial(_enqueue_pull, feed.pk))
    return feed


# --- Pulling -------------------------------------------------------------------------------


def _claim(feed_id: int, now: dt.datetime):
    """Take the pull if it is due or asked for; a second task for the same pull finds
    nothing to do. A scheduled pull books the next one at once, whatever this one does."""
    with transaction.atomic():
        feed = (
            BusFeed.objects.select_for_update(no_key=True, of=("self",))
            .select_related("school__district", "pull_requested_by")
            .filter(pk=feed_id)
            .first()
        )
        if feed is None:
            return None
        requested = feed.pull_requested_at is not None
        due = feed.enabled and feed.next_pull_at is not None and feed.next_pull_at <= now
        if not (requested or due):
            return None
        person = feed.pull_requested_by if requested else None
        if due:
            feed.next_pull_at = feed.next_pull_after(now)
            transaction.on_commit(partial(_enqueue_pull, feed.pk, feed.next_pull_at))
        feed.pull_requested_at = feed.pull_requested_by = None
        feed.save(update_fields=["next_pull_at", "pull_requested_at", "pull_requested_by"])
    trigger = FeedPull.Trigger.PERSON if requested else FeedPull.Trigger.SCHEDULE
    return feed, trigger, person


class _Refused(FeedProblem):
    """A fetched file that may not be applied, with the dry run's counts."""

    def __init__(self, message: str, report: Report):
        super().__init__(message)
        self.counts = _counts(report)


def _counts(report: Report) -> dict:
    return report.counts().get("bus", {})


def _check(report: Report, name: str) -> None:
    if not report.ok:
        problems = [f"{e.file} {e.message}" if e.file else e.message for e in report.file_errors]
        raise _Refused("\n".join(f"Nothing was applied, because {p}" for p in problems), report)
    rejected = report.rejected()
    if rejected:
        n = len(rejected)
        lines = [
            f"Nothing was applied, because {n} row{'s' if n != 1 else ''} of {name} could not "
            "be used. The feed is the whole list of bus riders: applying only part of it would "
            "end the bus plans of the students in the rows left out. Fix these rows in the "
            "transportation system's export; the next pull takes the corrected file.",
            *(f"- {row}" for row in rejected[:SHOWN_REJECTED_ROWS]),
        ]
        if n > SHOWN_REJECTED_ROWS:
            lines.append(f"- … and {n - SHOWN_REJECTED_ROWS} more")
        raise _Refused("\n".join(lines), report)
    taken = (Outcome.CREATED, Outcome.UPDATED, Outcome.KEPT)
    if not any(row.row > 0 and row.outcome in taken for row in report.rows):
        raise _Refused(
            f"Nothing was applied, because {name} has no bus assignments in it: it would end "
            "every bus plan the feed made. Ask the transportation office whether their export "
            "ran. If the school really has no bus riders any more, turn the scheduled pull off.",
            report,
        )


def bus_feed_pull(*, feed_id: int, timeout: float = FETCH_TIMEOUT) -> FeedPull | None:
    """Pull the feed if it is due or someone asked for it; None when there was nothing to do."""
    started = timezone.now()
    claim = _claim(feed_id, started)
    if claim is None:
        return None
    feed, trigger, person = claim
    record = partial(_record, feed, trigger=trigger, person=person, started=started)
    got = None
    try:
        with fetched(feed, timeout=timeout) as got:
            if feed.applied_sha256 and got.sha256 == feed.applied_sha256:
                return record(FeedPull.Outcome.UNCHANGED, got=got, message=(
                    f"{got.name} is the same as the file applied last time: nothing to change."
                ))  # fmt: skip
            school = feed.school
            _check(import_buses(got.path, school=school, name=got.name, apply=False), got.name)
            with transaction.atomic():
                report = import_buses(got.path, school=school, name=got.name, apply=True,
                                      actor=person)  # fmt: skip
                # Students may have left since the dry run: check again, and roll back if so.
                _check(report, got.name)
                return record(FeedPull.Outcome.APPLIED, got=got, counts=_counts(report),
                              message=f"Applied {got.name}.")  # fmt: skip
    except FeedProblem as problem:
        return record(FeedPull.Outcome.FAILED, got=got, message=str(problem),
                      counts=getattr(problem, "counts", {}))  # fmt: skip
    except Exception:  # a bug or a broken setting must still be reported, not lost
        logger.exception("Bus feed %s: the pull failed unexpectedly", feed_id)
        return record(FeedPull.Outcome.FAILED, got=got, message=(
            "Nothing was changed: Last Bell could not pull the bus feed because of a problem "
            "on its side. Ask your district IT to look at the server's log."
        ))  # fmt: skip


def _summary(outcome: str, message: str, counts: dict) -> str:
    first = message.split("\n", 1)[0]
    if outcome == FeedPull.Outcome.APPLIED:
        done = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
        return f"{first} {done[:1].upper()}{done[1:]}." if done else first
    return first


def _record(feed, outcome, *, trigger, person, started, got: Fetched | None = None,
            counts: dict | None = None, message: str = "") -> FeedPull:  # fmt: skip
    """Write down the pull, on the feed and in its history, with its audit event; a failure
    goes to the district admins once it is saved."""
    counts = counts or {}
    with transaction.atomic():
        pull = FeedPull.objects.create(
            feed=feed, started_at=started, finished_at=timezone.now(), outcome=outcome,
            trigger=trigger, requested_by=person, file_name=got.name if got else "",
            sha256=got.sha256 if got else "", size=got.size if got else None, counts=counts,
            message=message,
        )  # fmt: skip
        current = BusFeed.objects.select_for_update(no_key=True).get(pk=feed.pk)
        current.last_pull_at = pull.finished_at
        current.last_pull_ok = outcome != FeedPull.Outcome.FAILED
        current.last_pull_summary = _summary(outcome, message, counts)
        fields = ["last_pull_at", "last_pull_ok", "last_pull_summary"]
        if outcome == FeedPull.Outcome.APPLIED:
            current.applied_sha256 = got.sha256
            fields.append("applied_sha256")
        current.save(update_fields=fields)
        audit_record(
            action=f"feed.pull.{outcome}", actor=person, target=current, school=feed.school,
            after={"file": pull.file_name, "trigger": pull.get_trigger_display(),
                   **{k: n for k, n in counts.items() if n},
                   **({"problem": current.last_pull_summary[:300]}
                      if outcome == FeedPull.Outcome.FAILED else {})},
            via=Via.IMPORT,
        )  # fmt: skip
        if outcome == FeedPull.Outcome.FAILED:
            _tell_district_admins(feed, pull)
    return pull


def _tell_district_admins(feed: BusFeed, pull: FeedPull) -> None:
    school = feed.school
    admins = (
        User.objects.filter(
            is_active=True,
            memberships__role=Role.DISTRICT_ADMIN,
            memberships__district=school.district_id,
        )
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )
    when = pull.started_at.astimezone(school.tz)
    how = "requested" if pull.trigger == FeedPull.Trigger.PERSON else "scheduled"
    link = settings.LASTBELL_BASE_URL.rstrip("/") + reverse("feeds:page", args=[school.pk])
    subject = f"Bus feed not applied: {school.name}"
    body = (
        f"The {how} pull of {school.name}'s bus feed on {when:%A, %B} {when.day} at "
        f"{when.hour % 12 or 12}:{when:%M %p} failed. Nothing was changed: the bus plans stay "
        f"as they were.\n\n"
        f"{pull.message}\n\n"
        f"The feed, its history and a “Pull now” button: {link}\n"
    )
    for admin in admins:
        # A district-wide notice (no school), so it stays out of the school's list of
        # messages to families.
        queue_message(channel=Channel.EMAIL, to=admin.email, subject=subject, body=body,
                      kind=Kind.OTHER, created_by=pull.requested_by)  # fmt: skip


# --- The schedule's safety net -------------------------------------------------------------


def _booked_pulls() -> dict[int, dt.datetime] | None:
    """{feed id: earliest run} of the pull tasks waiting in the queue; None where the task
    backend does not say (only django-tasks-db's queue can be looked into)."""
    from django_tasks_db.backend import DatabaseBackend

    backend = pull_bus_feed.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return None
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    now, never = timezone.now(), get_date_max()
    booked: dict[int, dt.datetime] = {}
    for args_kwargs, run_after in DBTaskResult.objects.filter(
        task_path=pull_bus_feed.module_path, status=TaskResultStatus.READY,
        backend_name=backend.alias,
    ).values_list("args_kwargs", "run_after"):  # fmt: skip
        args = args_kwargs.get("args") or []
        feed_id = args[0] if args else args_kwargs.get("kwargs", {}).get("feed_id")
        at = now if run_after is None or run_after >= never else run_after
        booked[feed_id] = min(booked.get(feed_id, at), at)
    return booked


def bus_feeds_schedule() -> int:
    """Book every feed's next pull (and any "Pull now" not taken yet) that the queue lacks,
    e.g. after a crash between a save and its task. Safe to run any number of times: a feed
    whose pull is booked in time is left alone, and a pull booked twice runs once."""
    now = timezone.now()
    booked = _booked_pulls()
    count = 0
    feeds = BusFeed.objects.filter(enabled=True) | BusFeed.objects.filter(
        pull_requested_at__isnull=False
    )
    for feed in feeds.select_related("school"):
        if feed.enabled and feed.next_pull_at is None:
            feed.next_pull_at = feed.next_pull_after(now)
            BusFeed.objects.filter(pk=feed.pk, next_pull_at=None).update(
                next_pull_at=feed.next_pull_at
            )
        times = [now] if feed.pull_requested_at else []
        if feed.enabled:
            times.append(max(feed.next_pull_at, now))
        wanted = min(times)
        if booked is not None and feed.pk in booked and booked[feed.pk] <= wanted:
            continue
        if booked is None and wanted > now and not pull_bus_feed.get_backend().supports_defer:
            continue
        _enqueue_pull(feed.pk, wanted if wanted > now else None)
        count += 1
    return count
