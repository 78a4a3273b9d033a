"""Two dismissal writes at once on PostgreSQL never deadlock on the day and the audit chain.

A write records its audit event last, under its district's chain head (audit/chain.py), and
PostgreSQL checks its foreign keys at commit (Django makes them deferred): a check-in's new
rows then share-lock the day they point at, after the head. A "Sent" or release locks the day
first and then waits for the head. Were that lock FOR UPDATE, the two would wait for each
other until PostgreSQL killed one (368 failed writes in a load run). It is FOR NO KEY UPDATE,
which a foreign key's check does not wait for, like every row lock of the app."""

import re
import threading
from pathlib import Path

import pytest
from django.db import connection, transaction

from lastbell.audit.services import audit_record
from lastbell.dismissal import services
from lastbell.dismissal.models import Arrival
from lastbell.dismissal.tests import test_views
from lastbell.truancy.tests.test_concurrency import in_thread

clock, day, sibling, tag = test_views.clock, test_views.day, test_views.sibling, test_views.tag
PACKAGE = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_check_in_and_a_release_at_once_both_commit(school, staff, day, tag, student):
    day_locked, head_taken = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def sent():  # locks the day, then records its event once the check-in holds the head
        plans = services._plans(day, None)
        with transaction.atomic():
            services._locked_states(day, plans, everyone=True)
            day_locked.set()
            assert head_taken.wait(10)
            audit_record(action="dismissal.sent", actor=staff, target=day, school=school)

    def check_in():  # a row pointing at the day, its event, then commit
        assert day_locked.wait(10)
        with transaction.atomic():
            Arrival.objects.create(day=day, tag=tag, method=Arrival.Method.TAG, by=staff)
            audit_record(action="dismissal.checked_in", actor=staff, target=day, school=school)
            head_taken.set()

    def run(work):
        try:
            in_thread(work)
        except BaseException as error:  # re-raised below, in the test
            failed.append(error)

    threads = [threading.Thread(target=run, args=(work,)) for work in (sent, check_in)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failed, failed
    assert Arrival.objects.filter(day=day).count() == 1


def test_every_row_lock_lets_foreign_key_checks_through():
    """FOR UPDATE (select_for_update() without no_key) would bring the deadlock back."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if "tests" in path.parts:
            continue
        for call in re.findall(r"select_for_update\([^)]*\)", path.read_text()):
            if "no_key=True" not in call:
                found.append(f"{path.relative_to(PACKAGE)}: {call}")
    assert found == []
    assert connection.vendor != "postgresql" or connection.features.has_select_for_no_key_update
