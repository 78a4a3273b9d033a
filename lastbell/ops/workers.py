"""Task workers that died in the middle of a task (killed, out of memory, the machine lost).

django-tasks-db marks a task RUNNING when a worker takes it and leaves it so if that worker
never comes back: nothing would run it again, and the run it was making (a letters PDF, an
import) would say "running" for ever. So each worker notes it is alive (the Worker table,
every BEAT_SECONDS, from a thread, since one task can take minutes), and every worker looks,
when it starts and every RECOVER_SECONDS, for RUNNING tasks whose worker is gone: on the same
machine a process that no longer exists; on another, a worker silent for GONE_AFTER (judged
only by a worker that has itself been beating all that time). A RUNNING task whose worker is
not in the table at all (it ended, or it never ran this command) is lost too.

A lost task is given back to the queue, as it was, once its run has put its own state back
(`when_lost`: the task's run must tolerate a re-run); a task lost MAX_CLAIMS times, which may
be what kills its worker, is marked failed instead, and its run says how to try again.
"""

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable
from contextlib import contextmanager

from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from lastbell.ops.models import Worker

logger = logging.getLogger(__name__)

BEAT_SECONDS = 10
GONE_AFTER = dt.timedelta(seconds=60)
RECOVER_SECONDS = 30
MAX_CLAIMS = 2  # a task is run at most this many times by workers that died running it

RUNNING, READY, FAILED = "RUNNING", "READY", "FAILED"


class WorkerLost(Exception):
    """Recorded on a task whose worker died running it MAX_CLAIMS times."""


# task_path -> (put_back(*args, **kwargs), give_up(*args, **kwargs)): the run's own state.
_when_lost: dict[str, tuple[Callable, Callable]] = {}


def when_lost(task, *, put_back: Callable, give_up: Callable) -> None:
    """What to do with a task's run when its worker died: `put_back` makes the run waiting
    again (the task runs it from the start), `give_up` marks it failed with a way to retry.
    Both take the task's arguments and run inside the recovery's transaction."""
    _when_lost[task.module_path] = (put_back, give_up)


def this_host() -> str:
    """The machine and its process namespace: containers on one machine have their own."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}/{namespace}"[:300]


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def beat(worker_id: str) -> None:
    """Note the worker alive; in again if it was taken for gone (silent while the database
    was away, say)."""
    now = timezone.now()
    if not Worker.objects.filter(worker_id=worker_id).update(seen_at=now):
        Worker.objects.get_or_create(worker_id=worker_id, defaults={
            "host": this_host(), "pid": os.getpid(), "started_at": now, "seen_at": now,
        })  # fmt: skip


def _gone(worker: Worker, now: dt.datetime, host: str, *, trust_silence: bool) -> bool:
    if worker.host == host:  # the process table knows better than any silence
        return not _process_exists(worker.pid)
    return trust_silence and now - worker.seen_at > GONE_AFTER


def recover(*, trust_silence: bool = True, now: dt.datetime | None = None) -> list[str]:
    """Give back or fail the tasks whose worker is gone; what was done, one line each.

    `trust_silence`: whether a worker elsewhere that has not noted itself alive for
    GONE_AFTER is gone. Not when the one asking may have been cut off itself (just started,
    or the database was away): the others may have been as unable to beat as it was."""
    now = now or timezone.now()
    host = this_host()
    # The tasks before the workers: a worker is in the table before it takes a task, so a
    # worker that starts meanwhile is not taken for gone.
    running = list(DBTaskResult.objects.filter(status=RUNNING).values_list("id", "worker_ids"))
    alive, gone = set(), []
    for worker in Worker.objects.all():
        if _gone(worker, now, host, trust_silence=trust_silence):
            gone.append(worker.pk)
        else:
            alive.add(worker.worker_id)
    done = []
    for pk, worker_ids in running:
        last = worker_ids[-1] if worker_ids else None
        if last not in alive:
            said = _recover_one(pk, last)
            if said:
                done.append(said)
    # Workers that ended without leaving (killed): forgotten. Only those read as gone: one
    # that started since is in the table, and must stay there.
    Worker.objects.filter(pk__in=gone).delete()
    return done


def _recover_one(pk, worker_id) -> str | None:
    with transaction.atomic():
        result = (
            DBTaskResult.objects.select_for_update(no_key=True)
            .filter(pk=pk, status=RUNNING)
            .first()
        )
        if result is None or (result.worker_ids or [None])[-1] != worker_id:
            return None  # finished, or recovered by another worker meanwhile
        args = result.args_kwargs.get("args", [])
        kwargs = result.args_kwargs.get("kwargs", {})
        put_back, give_up = _when_lost.get(result.task_path, (None, None))
        if put_back is None:
            _task_module(result)  # its `when_lost` is declared beside the task
            put_back, give_up = _when_lost.get(result.task_path, (None, None))
        claims = len(result.worker_ids)
        if put_back is not None and claims < MAX_CLAIMS:
            put_back(*args, **kwargs)
            result.status = READY
            result.started_at = None
            result.save(update_fields=["status", "started_at"])
            verb = "given back to the queue"
        else:
            if give_up is not None:
                give_up(*args, **kwargs)
            result.set_failed(WorkerLost(
                f"The worker running this task ({worker_id}) stopped; "
                f"{claims} worker(s) died running it."
            ))  # fmt: skip
            verb = "marked failed"
    said = f"Task {result.task_path} {pk}: its worker {worker_id} is gone; {verb}."
    logger.warning(said)
    return said


def _task_module(result: DBTaskResult) -> None:
    try:
        result.task  # noqa: B018 — importing the task's module registers its `when_lost`
    except Exception:  # noqa: BLE001 — a task that no longer exists is simply failed
        logger.warning("Task %s of a lost worker cannot be imported", result.task_path)


@contextmanager
def alive(worker_id: str):
    """While a worker runs: it is in the Worker table, a thread notes it alive and looks for
    lost tasks; when it ends, it leaves the table."""
    now = timezone.now()
    Worker.objects.update_or_create(
        worker_id=worker_id,
        defaults={"host": this_host(), "pid": os.getpid(), "started_at": now, "seen_at": now},
    )
    _recover_logged(trust_silence=False)
    stop = threading.Event()
    thread = threading.Thread(target=_beating, args=(worker_id, stop), daemon=True,
                              name="lastbell-worker-heartbeat")  # fmt: skip
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=BEAT_SECONDS)
        Worker.objects.filter(worker_id=worker_id).delete()


def _recover_logged(*, trust_silence: bool) -> None:
    try:
        recover(trust_silence=trust_silence)
    except Exception:  # noqa: BLE001 — the database being away is the next beat's problem
        logger.exception("Could not look for tasks of stopped workers")


def _beating(worker_id: str, stop: threading.Event) -> None:
    beating_for = since_recovery = 0.0  # seconds of beats without a failure; since recovery
    try:
        while not stop.wait(BEAT_SECONDS):
            try:
                beat(worker_id)
            except Exception as exc:  # noqa: BLE001 — the database restarting, say
                logger.warning("Task worker could not note it is alive: %r", exc)
                beating_for = 0.0
                connection.close()  # a new one next time
                continue
            beating_for += BEAT_SECONDS
            since_recovery += BEAT_SECONDS
            if since_recovery >= RECOVER_SECONDS:
                since_recovery = 0.0
                trust = beating_for > GONE_AFTER.total_seconds() + BEAT_SECONDS
                _recover_logged(trust_silence=trust)
    finally:
        connection.close()  # this thread's own
