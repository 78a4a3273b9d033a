"""The database restarting (PostgreSQL): connections the pool kept are dead, and the next
request must get a live one, not "terminating connection due to administrator command"."""

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from lastbell import testing
from lastbell.people.models import Student

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _drop_every_other_connection():
    """What a restart does to the pool, without restarting the shared server: end every
    backend of this (test) database, from a connection of its own."""
    params = connection.get_connection_params()
    params.pop("pool", None)
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    return ended


def test_requests_recover_after_the_server_dropped_its_connections(school, staff):
    client = Client()
    client.force_login(staff)
    students = reverse("plans:students", args=[school.pk])
    assert client.get(students).status_code == 200
    # As at the end of every real request (CONN_MAX_AGE 0), which the test client skips: the
    # connection goes back to the pool, where it waits idle.
    connection.close()

    assert _drop_every_other_connection() >= 1

    response = client.get(students)
    connection.close()
    assert response.status_code == 200
    # And a write goes through as well.
    testing.make_student(school, first="Ben", last="After")
    assert Student.objects.filter(last_name="After").exists()
