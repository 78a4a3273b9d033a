"""Health checks for load balancers, orchestrators and monitoring.

- `/healthz` (liveness): the process answers. No database, nothing shared: a failing database
  must not get every web process restarted.
- `/readyz` (readiness): this process can serve. The database answers and every migration of
  the code is applied; Redis answers when REDIS_URL is set (live updates between processes go
  through it); and the task worker is not missing, which django-tasks-db lets us see only
  through the tasks it claims and the heartbeat of `lastbell db_worker` (ops.Worker, every
  10 s). The worker counts as missing when a task has been due for over a minute and no worker
  has beaten in the last minute (a worker killed or never started), or when a task has been
  due for longer than WORKER_LATE and no worker has claimed one since (a worker alive but
  stuck, or one that keeps no heartbeat). An idle queue says nothing against a worker.

Both answer JSON with each check, 200 or 503, without authentication and without personal
data. They are answered by a middleware near the top of the stack, before sessions, CSRF, the
host check and the HTTPS redirect, so a probe at a container's own address works and leaves
no session or cookie behind.
"""

import datetime as dt
import functools
import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Count, Q
from django.http import JsonResponse
from django.utils import timezone

# Longer than the worker's poll (1 s by default) plus a long task (a letters batch ~1 min,
# a million-row import a few), so a busy worker is not reported missing.
WORKER_LATE = dt.timedelta(minutes=10)
REDIS_TIMEOUT = 2  # seconds to connect and answer a PING
DATABASE_DOWN = "the database did not answer"
NO_TABLES = "the database has no tables yet (run lastbell migrate)"


@functools.cache
def _code_leaf_migrations() -> frozenset[tuple[str, str]]:
    """The last migration of each app in the code: read from disk once per process. A leaf
    recorded as applied means all before it are (migrate applies them in order)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(loader.graph.leaf_nodes())


def check_database() -> dict:
    leaves = _code_leaf_migrations()
    wanted = Q()
    for app, name in leaves:
        wanted |= Q(app=app, name=name)
    try:
        applied = MigrationRecorder.Migration.objects.filter(wanted).count()
    except DatabaseError as exc:
        try:
            empty = not MigrationRecorder(connection).has_table()
        except DatabaseError:
            empty = False
        if empty:
            return {"ok": False, "error": NO_TABLES}
        return {"ok": False, "error": f"{DATABASE_DOWN} ({type(exc).__name__})"}
    missing = len(leaves) - applied
    if missing:
        apps = "app has" if missing == 1 else "apps have"
        return {"ok": False, "error": f"{missing} {apps} migrations not applied yet"}
    return {"ok": True}


def check_channel_layer() -> dict:
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    if not backend.startswith("channels_redis."):
        return {"ok": True, "kind": "in-process"}
    import redis

    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    address = host["address"] if isinstance(host, dict) else host
    client = redis.Redis.from_url(
        address, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return {
            "ok": False,
            "kind": "redis",
            "error": f"Redis did not answer ({type(exc).__name__})",
        }
    finally:
        client.close()
    return {"ok": True, "kind": "redis"}


def check_worker() -> dict:
    from django.tasks import TaskResultStatus, task_backends
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult, get_date_max

    backend = task_backends["default"]
    if not isinstance(backend, DatabaseBackend):
        return {"ok": True, "kind": "none needed"}  # tasks run where they are enqueued
    from lastbell.ops.models import Worker
    from lastbell.ops.workers import GONE_AFTER

    now = timezone.now()
    since, heard = now - WORKER_LATE, now - GONE_AFTER
    tasks = DBTaskResult.objects.filter(backend_name=backend.alias)

    def due_before(moment):
        # A task is due at its run_after, or when enqueued if it runs at once (run_after is
        # then a far-future sentinel).
        return Q(run_after__lte=moment) | Q(run_after=get_date_max(), enqueued_at__lte=moment)

    try:
        # Ready tasks are few and indexed by status: one query for both ages.
        counts = tasks.filter(status=TaskResultStatus.READY).aggregate(
            waiting=Count("pk", filter=due_before(since)),
            unheard=Count("pk", filter=due_before(heard)),
        )
        waiting = counts["waiting"]
        if counts["unheard"] and not Worker.objects.filter(seen_at__gt=heard).exists():
            unheard = counts["unheard"]
            return {
                "ok": False,
                "waiting": waiting,
                "error": (
                    f"{unheard} {'task is' if unheard == 1 else 'tasks are'} waiting and no "
                    "task worker has been heard from for a minute (is `lastbell db_worker` "
                    "running?)"
                ),
            }
        # A worker busy with a long queue still claims tasks: then it is slow, not missing.
        missing = waiting and not tasks.filter(started_at__gt=since).exists()
    except DatabaseError as exc:
        return {"ok": False, "error": f"the task queue could not be read ({type(exc).__name__})"}
    if missing:
        minutes = int(WORKER_LATE.total_seconds() // 60)
        return {
            "ok": False,
            "waiting": waiting,
            "error": (
                f"{waiting} {'task has' if waiting == 1 else 'tasks have'} waited over "
                f"{minutes} minutes for a worker"
            ),
        }
    return {"ok": True, "waiting": waiting}


def liveness() -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readiness() -> JsonResponse:
    started = time.perf_counter()
    checks = {
        "database": check_database(),
        "channel_layer": check_channel_layer(),
    }
    # The worker is judged from the database: when that is down, asking again would only
    # wait out the connection timeout a second time.
    error = checks["database"].get("error", "")
    if error.startswith(DATABASE_DOWN) or error == NO_TABLES:
        checks["worker"] = {"ok": False, "error": "not checked: " + error.split(" (")[0]}
    else:
        checks["worker"] = check_worker()
    ok = all(check["ok"] for check in checks.values())
    body = {
        "status": "ok" if ok else "unavailable",
        "failing": [name for name, check in checks.items() if not check["ok"]],
        "checks": checks,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if ok else 503)


PROBES = {"/healthz": liveness, "/readyz": readiness}


class HealthCheckMiddleware:
    """Answers GET/HEAD /healthz and /readyz before the rest of the stack (see the module)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBES.get(request.path_info)
        if probe is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        response = probe()
        response["Cache-Control"] = "no-store"
        return response
