"""Live updates: tell open pages that a school's day board changed.

`board_changed(school_id)` queues one `board.changed` message to the channel group
`school.<id>.board` for after the current transaction commits — once per school however many
rows the transaction writes, and never when it rolls back. Open dashboard, roster and students
pages listen to that group through /schools/<id>/live/ (consumers.py) and fetch their live
parts again.

Saves and deletes through the ORM call it by themselves (the receivers below, connected in
apps.py). Writers that bypass model signals — `bulk_create`, `QuerySet.update()` or
`.delete()`, raw SQL; the imports, say — must call `board_changed(school_id)` themselves for
every school they touched, inside their transaction.

Fan-out never breaks a write: a channel layer that fails (Redis down) is logged as a warning,
and pages fall back to their periodic refresh. With the embedded in-memory layer this reaches
the pages served by this process; writes made by other processes (the task worker) reach them
through the stamp watcher (watcher.py). With REDIS_URL every process reaches every page.
"""

import asyncio
import logging
import threading
from concurrent.futures import Future

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

EVENT = "board.changed"


def group_name(school_id: int) -> str:
    return f"school.{school_id}.board"


class _Announce:
    """The on-commit callback for one school, recognisable among those already queued."""

    def __init__(self, school_id: int, homerooms: set[int | None] | None):
        self.school_id = school_id
        self.homerooms = homerooms

    def __call__(self):
        send(self.school_id, self.homerooms)

    def __repr__(self):
        return f"<board_changed school={self.school_id} homerooms={self.homerooms}>"


def board_changed(school_id: int | None, *, homerooms=None, using=None) -> None:
    """Announce, after commit, that the school's day board changed.

    `homerooms`: when only these homerooms' students changed (a dismissal step), so that a
    classroom screen of another homeroom need not fetch anything (app.js). None: anything
    may have changed. A student without a homeroom counts as the homeroom None."""
    if school_id is None:
        return
    school_id = int(school_id)
    rooms = None if homerooms is None else set(homerooms)
    queued = transaction.get_connection(using).run_on_commit
    # A rolled-back savepoint drops its callbacks with it, so this check stays right.
    for _, callback, _ in queued:
        if isinstance(callback, _Announce) and callback.school_id == school_id:
            if callback.homerooms is not None:
                callback.homerooms = None if rooms is None else callback.homerooms | rooms
            return
    transaction.on_commit(_Announce(school_id, rooms), using=using)


# The event loop that serves this process's live streams (set by consumers.py). The in-memory
# layer's queues belong to it, so messages from other threads are handed to it there.
_serving_loop: asyncio.AbstractEventLoop | None = None


def set_serving_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _serving_loop
    _serving_loop = loop


async def _group_send(layer, school_id: int, token=None, homerooms=None) -> None:
    from lastbell.live import watcher  # it imports this module

    message = {"type": EVENT, "school": school_id}
    if homerooms is not None:
        message["homerooms"] = sorted(homerooms, key=lambda room: (room is None, room or 0))
    await layer.group_send(group_name(school_id), message)
    watcher.announced(school_id, token)


def _log_failure(future: Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        _warn(future.exception())


def _warn(exc: BaseException) -> None:
    log.warning("Live update not sent (open pages refresh on their own): %r", exc)


def send(school_id: int, homerooms=None) -> None:
    """Send the message now; never raises."""
    try:
        from lastbell.live import watcher  # it imports this module

        layer = get_channel_layer()
        if layer is None:
            return
        # So that the stamp watcher does not announce this change a second time.
        token = watcher.token_before_announcing(layer, school_id)
        loop = _serving_loop
        if loop is not None and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(
                _group_send(layer, school_id, token, homerooms), loop
            )
            future.add_done_callback(_log_failure)
        elif _loop_in_this_thread():
            # async_to_sync refuses to run beside a loop (a sync caller in an async program):
            # send from a thread of its own.
            thread = threading.Thread(
                target=_send_now, args=(layer, school_id, token, homerooms), daemon=True
            )
            thread.start()
            thread.join(5)
        else:
            _send_now(layer, school_id, token, homerooms)
    except Exception as exc:  # noqa: BLE001 — a write must never fail for its announcement
        _warn(exc)


def _send_now(layer, school_id: int, token=None, homerooms=None) -> None:
    try:
        async_to_sync(_group_send)(layer, school_id, token, homerooms)
    except Exception as exc:  # noqa: BLE001
        _warn(exc)


def _loop_in_this_thread() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Receivers: how a saved or deleted row finds its school, with one small query at most.


def _school_of_student(instance):
    from lastbell.people.models import Student

    field = type(instance)._meta.get_field("student")
    if field.is_cached(instance):
        return instance.student.school_id
    return (
        Student.objects.filter(pk=instance.student_id).values_list("school_id", flat=True).first()
    )


def _school_of_default_day(instance):
    from lastbell.plans.models import LongTermDefault

    if type(instance)._meta.get_field("default").is_cached(instance):
        return _school_of_student(instance.default)
    return (
        LongTermDefault.objects.filter(pk=instance.default_id)
        .values_list("student__school_id", flat=True)
        .first()
    )


def _own_school(instance):
    return instance.school_id


def _the_school(instance):
    return instance.pk


# "app_label.Model": how its rows find their school. The tables of plans/stamps.py WATCHED
# that can change a school's board (names of people are district-wide and left out).
WATCHED = {
    "attendance.Absence": _school_of_student,
    "plans.PlanChange": _school_of_student,
    "plans.LongTermDefault": _school_of_student,
    "plans.Enrollment": _school_of_student,
    "plans.DefaultDay": _school_of_default_day,
    "plans.Program": _own_school,
    "people.Student": _own_school,
    "schools.CalendarDay": _own_school,
    "schools.SchoolTerm": _own_school,
    "schools.Homeroom": _own_school,
    "schools.BusRoute": _own_school,
    "schools.School": _the_school,
}


def _changed(sender, instance, using, raw=False, **kwargs):
    if raw:  # loaddata: rows arrive in any order, and nobody is watching
        return
    key = sender._meta.label
    board_changed(WATCHED[key](instance), using=using)


def connect() -> None:
    from django.apps import apps
    from django.db.models.signals import post_delete, post_save

    for label in WATCHED:
        model = apps.get_model(label)
        post_save.connect(_changed, sender=model, dispatch_uid=f"live.{label}.save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"live.{label}.delete")
