"""What the chain costs a dismissal check-in, whose p99 target is 200 ms: two queries on the
district's chain head (read it locked, write it back), the lock taken at the check-in's last
write. (A district's very first event costs two more: its head is made.)"""

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from lastbell.audit.services import audit_record
from lastbell.dismissal import services
from lastbell.dismissal.tests import test_services

clock, day = test_services.clock, test_services.day


def test_a_check_in_costs_two_queries_on_the_chain_head(day, guardian, school):
    with transaction.atomic():  # the district's chain has begun
        audit_record(action="school.settings.updated", actor=None, target=school, school=school)

    with CaptureQueriesContext(connection) as queries:
        _, ids = services.check_in(day, actor=guardian.user, method="phone", guardian=guardian)

    assert ids
    sql = [q["sql"] for q in queries.captured_queries]
    on_head = [n for n, q in enumerate(sql) if "audit_auditchain" in q]
    assert len(on_head) == 2, on_head
    # Locked only from the audit event on: after it, nothing but the event and the head.
    insert = next(n for n, q in enumerate(sql) if q.startswith('INSERT INTO "audit_auditevent'))
    assert on_head == [insert - 1, insert + 1]
    assert all("INSERT" not in q and "UPDATE" not in q for q in sql[insert + 2 :])
