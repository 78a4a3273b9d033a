"""/healthz and /readyz: what each check sees, and that probes stay cheap and anonymous."""

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from lastbell.ops import health


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def _task(*, status=TaskResultStatus.READY, run_after=None, enqueued_ago=0, started_ago=None):
    now = timezone.now()
    row = DBTaskResult.objects.create(
        id=uuid.uuid4(), args_kwargs={"args": [], "kwargs": {}}, task_path="x.y",
        backend_name="default", status=status, run_after=run_after or get_date_max(),
        started_at=None if started_ago is None else now - dt.timedelta(minutes=started_ago),
    )  # fmt: skip
    # enqueued_at is auto_now_add: set it afterwards.
    DBTaskResult.objects.filter(pk=row.pk).update(
        enqueued_at=now - dt.timedelta(minutes=enqueued_ago)
    )
    return row


def test_it_answers_liveness_without_the_database(client):
    # No django_db mark: any query would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_it_is_ready_when_database_channels_and_worker_are(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["checks"]) == {"database", "channel_layer", "worker"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_it_sets_no_cookie_and_needs_no_session(client):
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.cookies == {}, path
        assert "Set-Cookie" not in response
        assert "Vary" not in response  # no session, no language: nothing varies


@pytest.mark.django_db
def test_it_answers_a_probe_at_any_host_and_over_plain_http(client, settings):
    # A container's probe asks at its own address, over HTTP, behind the TLS proxy.
    settings.ALLOWED_HOSTS = ["lastbell.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/readyz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    # Everything else is still refused for that host.
    assert client.get("/accounts/sign-in/", HTTP_HOST="10.0.0.7:8000").status_code == 400


@pytest.mark.django_db
def test_it_is_not_ready_with_a_migration_not_applied(client):
    app, name = sorted(health._code_leaf_migrations())[0]
    MigrationRecorder.Migration.objects.filter(app=app, name=name).delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database"]
    assert body["checks"]["database"]["error"] == "1 app has migrations not applied yet"


@pytest.mark.django_db
def test_it_is_not_ready_when_redis_does_not_answer(client, settings):
    # The channel layer as settings.py makes it from REDIS_URL, at a port nobody listens on.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{_closed_port()}/4"}]},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["channel_layer"]
    assert body["checks"]["channel_layer"] == {
        "ok": False, "kind": "redis", "error": "Redis did not answer (ConnectionError)",
    }  # fmt: skip
    assert body["checks"]["database"]["ok"] and body["checks"]["worker"]["ok"]


@pytest.mark.redis
@pytest.mark.django_db
def test_it_is_ready_with_redis_answering(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["channel_layer"] == {"ok": True, "kind": "redis"}


def _worker(*, seen_ago_seconds=5):
    from lastbell.ops.models import Worker

    now = timezone.now()
    return Worker.objects.create(
        worker_id=uuid.uuid4().hex, host="worker-1", pid=4242,
        started_at=now - dt.timedelta(hours=1),
        seen_at=now - dt.timedelta(seconds=seen_ago_seconds),
    )  # fmt: skip


@pytest.mark.django_db
def test_it_is_not_ready_soon_when_tasks_wait_and_no_worker_beats(client):
    _task(enqueued_ago=2)  # due two minutes ago
    _worker(seen_ago_seconds=90)  # killed a minute and a half ago
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == {
        "ok": False, "waiting": 0,
        "error": "1 task is waiting and no task worker has been heard from for a minute "
                 "(is `lastbell db_worker` running?)",
    }  # fmt: skip
    _worker(seen_ago_seconds=5)  # a worker beating: it will take the task
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == {"ok": True, "waiting": 0}


@pytest.mark.django_db
def test_a_task_due_this_minute_does_not_need_a_heartbeat_yet(client):
    _task(enqueued_ago=0)
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_it_is_not_ready_when_a_task_waited_long_and_no_worker_took_any(client):
    _worker()  # alive, but stuck: it takes nothing
    _task(enqueued_ago=11)  # at once, enqueued 11 minutes ago
    _task(status=TaskResultStatus.SUCCESSFUL, enqueued_ago=60, started_ago=59)
    response = client.get("/readyz")
    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert worker == {
        "ok": False, "waiting": 1, "error": "1 task has waited over 10 minutes for a worker",
    }  # fmt: skip
    assert response.json()["failing"] == ["worker"]


@pytest.mark.django_db
def test_it_counts_a_deferred_task_from_when_it_was_due(client):
    _worker()
    now = timezone.now()
    # Booked long ago for 11 minutes ago: overdue.
    _task(run_after=now - dt.timedelta(minutes=11), enqueued_ago=120)
    assert client.get("/readyz").json()["checks"]["worker"]["waiting"] == 1
    DBTaskResult.objects.all().delete()
    # Booked long ago for 5 minutes ago, or for later: not yet a worry.
    _task(run_after=now - dt.timedelta(minutes=5), enqueued_ago=120)
    _task(run_after=now + dt.timedelta(minutes=30), enqueued_ago=120)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == {"ok": True, "waiting": 0}


@pytest.mark.django_db
def test_it_is_ready_while_a_busy_worker_keeps_taking_tasks(client):
    _worker()
    _task(enqueued_ago=15)  # a long queue behind a letters batch
    _task(status=TaskResultStatus.RUNNING, enqueued_ago=20, started_ago=2)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == {"ok": True, "waiting": 1}


@pytest.mark.django_db
def test_it_needs_no_worker_when_tasks_run_where_they_are_enqueued(client, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    _task(enqueued_ago=60)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == {"ok": True, "kind": "none needed"}


@pytest.mark.django_db
def test_it_leaves_other_methods_to_the_rest_of_the_app(client):
    # POST /readyz is no probe: it goes on to the URL configuration, which has no such page.
    assert client.post("/readyz").status_code in (403, 404)


@pytest.mark.django_db(transaction=True)
def test_it_is_not_ready_before_the_first_migrate(client):
    with connection.schema_editor() as editor:
        editor.delete_model(MigrationRecorder.Migration)
    try:
        response = client.get("/readyz")
    finally:
        MigrationRecorder(connection).ensure_schema()
        call_command("migrate", fake=True, verbosity=0)  # the tables are all there
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database", "worker"]
    assert body["checks"]["database"]["error"] == (
        "the database has no tables yet (run lastbell migrate)"
    )
    assert body["checks"]["worker"]["error"] == ("not checked: the database has no tables yet")


def test_it_is_not_ready_when_the_database_does_not_answer(tmp_path):
    # In a process of its own, with a SQLite "file" that cannot be opened (a folder).
    (tmp_path / "lastbell.sqlite3").mkdir()
    code = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/readyz');"
        "print(json.dumps([r.status_code, r.json()]))"
    )
    env = {**os.environ, "LASTBELL_DATA_DIR": str(tmp_path), "LOG_LEVEL": "CRITICAL",
           "DJANGO_SETTINGS_MODULE": "lastbell.settings"}  # fmt: skip
    env.pop("DATABASE_URL", None)
    result = subprocess.run(  # noqa: S603 — this interpreter, fixed code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
        cwd=settings.BASE_DIR,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    status, body = json.loads(result.stdout)
    assert status == 503
    assert body["failing"] == ["database", "worker"]
    assert body["checks"]["database"] == {
        "ok": False, "error": "the database did not answer (OperationalError)",
    }  # fmt: skip
    assert body["checks"]["worker"]["error"] == "not checked: the database did not answer"
