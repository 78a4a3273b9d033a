"""Two staff issue the same letters at the same moment: exactly one run issues them, the other
is told in plain words (issue 6 §4). Each staff member is a thread with its own database
connection, as two web requests are.

SQLite: the test database is an in-memory one shared by every connection of the run, where a
second writer is refused at once ("database table is locked") instead of waiting its turn as
it does on a database file. So the threads here work on a copy of the test database in a
file, opened as Last Bell opens its own (WAL, IMMEDIATE transactions, a busy timeout): the
second run waits for the first to commit, as in production. PostgreSQL (DATABASE_URL): the
threads use the test database itself, and the second run waits on the district's row lock.
"""

import sqlite3
import threading

import pytest
from django.db import connection

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.truancy import services
from lastbell.truancy.letter_views import _nothing_issued
from lastbell.truancy.models import Letter, LetterBatch
from lastbell.truancy.tests.helpers import DAYS, ON, preview, unexcused


@pytest.fixture
def on_a_file(transactional_db, tmp_path):
    """Call it once the data is made: from then on, new connections (each thread's) open a
    file copy of the test database. The test's own connection stays on the original, and
    reads nothing written in the threads: read back in a thread (`in_thread`)."""
    settings_dict = connection.settings_dict  # shared by every connection of this alias
    original = settings_dict["NAME"]

    def switch():
        if connection.vendor != "sqlite":
            return
        path = tmp_path / "shared.sqlite3"
        connection.ensure_connection()
        copy = sqlite3.connect(path)
        connection.connection.backup(copy)
        copy.close()
        settings_dict["NAME"] = str(path)

    yield switch
    settings_dict["NAME"] = original


def in_thread(work):
    """`work()` on a connection of its own, as another request would run it."""
    done: dict = {}

    def target():
        try:
            done["value"] = work()
        except BaseException as error:  # re-raised in the test
            done["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the thread did not finish"
    if "error" in done:
        raise done["error"]
    return done["value"]


def test_two_staff_issuing_the_same_letters_at_once(on_a_file, school, on_school_day):
    pupils = [testing.make_student(school, first=name, last="Family") for name in "ABC"]
    for pupil in pupils:
        unexcused(pupil, *DAYS[:3])
    dana = testing.make_staff(school, first="Dana", last="Office")
    sam = testing.make_staff(school, first="Sam", last="Office")
    seen = preview(school, 1)  # both looked at the same list
    assert len(seen) == 3
    on_a_file()

    start = threading.Barrier(2, timeout=10)
    results: dict = {}

    def issue(user):
        start.wait()  # both confirm at the same moment
        try:
            return services.letters_issue(district=school.district, school=school, level=1,
                                          student_ids=seen, actor=user, on=ON)  # fmt: skip
        except services.CannotIssue as refused:
            return refused

    threads = [
        threading.Thread(target=lambda u=user: results.update(
            {u.first_name: in_thread(lambda: issue(u))}))
        for user in (dana, sam)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert set(results) == {"Dana", "Sam"}

    issued = [r for r in results.values()
              if isinstance(r, services.IssueOutcome) and r.batch]  # fmt: skip
    told = [r for r in results.values() if r not in issued]
    assert len(issued) == 1 and issued[0].issued == 3
    (other,) = told
    if isinstance(other, services.IssueOutcome):  # waited, then found them issued
        assert other.issued == 0 and {row["reason"] for row in other.dropped} == {"issued"}
        said = _nothing_issued(other)
        assert said.startswith("Nobody was issued a letter: someone else issued these letters")
    else:  # refused by the database's unique index
        assert "someone else issued some of these letters" in str(other)

    def saved():
        return (
            Letter.objects.count(), LetterBatch.objects.count(),
            AuditEvent.objects.filter(action="truancy.letter.issued").count(),
            sorted(Letter.objects.values_list("student_id", flat=True)),
        )  # fmt: skip

    assert in_thread(saved) == (3, 1, 3, sorted(seen))
