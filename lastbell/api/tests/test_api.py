"""The REST API: tokens and their scope, attendance events, the day board, problem+json."""

import datetime as dt

import pytest

from lastbell import testing
from lastbell.api.models import ApiToken, Permission
from lastbell.attendance.models import Absence
from lastbell.audit.models import AuditEvent
from lastbell.conftest import SCHOOL_DAY
from lastbell.plans.board import day_board
from lastbell.plans.models import PlanType

pytestmark = pytest.mark.django_db
ALL = [p.value for p in Permission]


@pytest.fixture
def token(district, district_admin):
    return ApiToken.issue(district=district, name="SIS feed", permissions=ALL,
                          created_by=district_admin)  # fmt: skip


def call(client, method, path, secret, body=None):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return getattr(client, method)(
        f"/api/v1{path}", data=body, content_type="application/json", headers=headers
    )


def absent(student, event_id="E1", **fields):
    return {"event_id": event_id, "student_id": student.sis_id, "date": "2026-11-18",
            "kind": "absent", **fields}  # fmt: skip


# --- Tokens ----------------------------------------------------------------------------------


def test_a_token_is_stored_hashed_and_found_by_its_secret(token):
    row, secret = token
    assert secret.startswith("lb_") and secret not in (row.key_hash, row.key_id)
    assert ApiToken.find(secret) == row
    assert ApiToken.find(secret[:-1] + ("x" if secret[-1] != "x" else "y")) is None
    assert ApiToken.find("nonsense") is None


def test_no_token_a_wrong_one_or_a_revoked_one_is_refused(client, token, student, on_school_day):
    row, secret = token
    for bad in (None, "lb_nope_nope", secret + "x"):
        response = call(client, "post", "/attendance/events", bad, absent(student))
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
    row.revoked_at = dt.datetime(2026, 11, 18, tzinfo=dt.UTC)
    row.save()
    assert call(client, "post", "/attendance/events", secret, absent(student)).status_code == 401
    assert not Absence.objects.exists()


def test_a_school_token_cannot_touch_another_school(client, district, school, other_school,
                                                    on_school_day):  # fmt: skip
    _, secret = ApiToken.issue(district=district, school=school, name="Lincoln", permissions=ALL)
    elsewhere = testing.make_student(other_school)
    response = call(client, "post", "/attendance/events", secret, absent(elsewhere))
    assert response.status_code == 422
    assert "No student with id" in response.json()["errors"][0]["message"]
    assert call(client, "get", f"/schools/{other_school.pk}/board", secret).status_code == 404
    assert call(client, "get", f"/schools/{school.pk}/board", secret).status_code == 200
    assert not Absence.objects.exists()


def test_a_token_of_another_district_sees_nothing(client, school, student, on_school_day):
    other = testing.make_district("Elsewhere Unified")
    _, secret = ApiToken.issue(district=other, name="Other", permissions=ALL)
    assert call(client, "get", f"/schools/{school.pk}/board", secret).status_code == 404
    assert call(client, "post", "/attendance/events", secret, absent(student)).status_code == 422


def test_a_token_without_the_permission_is_refused(client, district, school, student,
                                                   on_school_day):  # fmt: skip
    _, secret = ApiToken.issue(district=district, name="Reader",
                               permissions=[Permission.BOARD_READ])  # fmt: skip
    response = call(client, "post", "/attendance/events", secret, absent(student))
    assert response.status_code == 403
    assert "attendance:write" in response.json()["detail"]
    assert not Absence.objects.exists()


def test_use_is_recorded(client, token, school, on_school_day):
    row, secret = token
    call(client, "get", f"/schools/{school.pk}/board", secret)
    row.refresh_from_db()
    assert row.last_used_at is not None


# --- Attendance events -----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["student_id", "event_id", "reason"])
def test_text_with_a_nul_character_is_refused_in_words(client, token, student, on_school_day,
                                                       field):  # fmt: skip
    """PostgreSQL cannot store a NUL character: it answered 500 (found by the fuzz test)."""
    body = absent(student, reason="sick")
    body[field] = body[field] + "\x00"
    response = call(client, "post", "/attendance/events", token[1], body)
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert "NUL" in response.content.decode()
    assert not Absence.objects.exists()


def test_an_absence_posted_wins_the_board_and_is_audited(client, token, school, student, staff,
                                                         on_school_day):  # fmt: skip
    from lastbell.plans.services import PlanSpec, default_set

    default_set(student=student, starts_on=SCHOOL_DAY, actor=staff,
                days={d: PlanSpec(PlanType.WALK) for d in range(5)})  # fmt: skip
    response = call(client, "post", "/attendance/events", token[1], absent(student, excused=True))
    assert response.status_code == 201
    assert response.json()["outcome"] == "created"
    row = day_board(school, SCHOOL_DAY).rows[0]
    assert (row.plan_type, row.excused) == (PlanType.ABSENCE, True)
    event = AuditEvent.objects.get(action="attendance.absence.created")
    assert event.via == "api" and event.student == student


def test_the_same_event_again_changes_nothing(client, token, student, on_school_day):
    call(client, "post", "/attendance/events", token[1], absent(student))
    again = call(client, "post", "/attendance/events", token[1], absent(student))
    assert again.status_code == 200 and again.json()["outcome"] == "kept"
    assert Absence.objects.count() == 1
    assert AuditEvent.objects.filter(action__startswith="attendance.").count() == 1


def test_correcting_and_deleting_an_event_brings_the_plan_back(client, token, school, student,
                                                               staff, on_school_day):  # fmt: skip
    from lastbell.plans.services import PlanSpec, default_set

    default_set(student=student, starts_on=SCHOOL_DAY, actor=staff,
                days={d: PlanSpec(PlanType.WALK) for d in range(5)})  # fmt: skip
    call(client, "post", "/attendance/events", token[1], absent(student))
    corrected = call(client, "put", "/attendance/events/E1", token[1],
                     absent(student, kind="early_departure", departs_at="13:15"))  # fmt: skip
    assert corrected.json()["outcome"] == "updated"
    row = day_board(school, SCHOOL_DAY).rows[0]
    assert (row.plan_type, row.time) == (PlanType.EARLY_DISMISSAL, dt.time(13, 15))
    assert call(client, "delete", "/attendance/events/E1", token[1]).json()["outcome"] == "removed"
    assert day_board(school, SCHOOL_DAY).rows[0].plan_type == PlanType.WALK
    assert call(client, "delete", "/attendance/events/E1", token[1]).status_code == 404


def test_present_withdraws_the_days_absence(client, token, student, on_school_day):
    call(client, "post", "/attendance/events", token[1], absent(student))
    response = call(client, "post", "/attendance/events", token[1],
                    absent(student, event_id="E2", kind="present"))  # fmt: skip
    assert response.json()["outcome"] == "removed"
    assert not Absence.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date": "2026-02-30"}, "date"),
        ({"kind": "vacation"}, "kind"),
        ({"student_id": "NOPE"}, "student_id"),
        ({"kind": "early_departure"}, "departs_at"),
        ({"event_id": ""}, "event_id"),
        ({"reason": "x" * 201}, "reason"),
    ],
)
def test_bad_events_get_field_errors_and_change_nothing(client, token, student, change, field,
                                                        on_school_day):  # fmt: skip
    response = call(client, "post", "/attendance/events", token[1], absent(student, **change))
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Some fields are wrong"
    assert field in [error["field"] for error in body["errors"]], body
    assert not Absence.objects.exists()


def test_malformed_json_is_a_clear_error(client, token):
    response = client.post("/api/v1/attendance/events", data="{not json",
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {token[1]}"})  # fmt: skip
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"


def test_the_edfi_shape_is_accepted(client, token, school, student, on_school_day):
    school.code = "255901001"
    school.save()
    event = {
        "studentReference": {"studentUniqueId": student.sis_id},
        "schoolReference": {"schoolId": 255901001},
        "sessionReference": {"schoolId": 255901001, "schoolYear": 2027,
                             "sessionName": "2026-2027 Fall Semester"},
        "eventDate": "2026-11-18",
        "attendanceEventCategoryDescriptor":
            "uri://ed-fi.org/AttendanceEventCategoryDescriptor#Unexcused Absence",
        "attendanceEventReason": "No call",
        "eventDuration": 1,
    }  # fmt: skip
    path = "/attendance/edfi/studentSchoolAttendanceEvents"
    first = call(client, "post", path, token[1], event)
    assert first.status_code == 201, first.json()
    assert call(client, "post", path, token[1], event).json()["outcome"] == "kept"
    absence = Absence.objects.get()
    assert (absence.excused, absence.reason) == (False, "No call")
    event["attendanceEventCategoryDescriptor"] = "uri://ed-fi.org/X#Field Trip"
    bad = call(client, "post", path, token[1], event)
    assert bad.status_code == 422
    assert "Unknown category" in bad.json()["errors"][0]["message"]


# --- The day board ---------------------------------------------------------------------------


def test_the_board_endpoint(client, token, school, student, on_school_day):
    response = call(client, "get", f"/schools/{school.pk}/board?date=2026-11-18", token[1])
    body = response.json()
    assert response.status_code == 200
    assert (body["total"], body["missing"]) == (1, 1)
    assert body["students"][0]["student_id"] == student.sis_id
    assert body["students"][0]["plan"] is None
    bad = call(client, "get", f"/schools/{school.pk}/board?date=2026-13-01", token[1])
    assert bad.status_code == 422


def test_the_openapi_document_and_docs(client):
    document = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/attendance/events" in document["paths"]
    assert document["components"]["securitySchemes"]
    assert client.get("/api/v1/docs").status_code == 200


# --- Bus assignments -------------------------------------------------------------------------


def test_the_bus_feed_endpoint_dry_run_then_apply(client, token, school, student, on_school_day):
    path = f"/schools/{school.pk}/bus-assignments"
    body = {"assignments": [
        {"student_id": student.sis_id, "bus": "12", "weekdays": ["mon", "tue", "wed"]},
        {"student_id": student.sis_id, "bus": "7", "weekdays": ["thu", "fri"]},
        {"student_id": student.sis_id, "bus": "99", "direction": "to_school"},
        {"student_id": "NOPE", "bus": "3"},
    ]}  # fmt: skip
    dry = call(client, "put", path + "?dry_run=true", token[1], body).json()
    assert dry["applied"] is False and dry["created"] == [student.sis_id]
    assert dry["rejected"] == [{"item": 4, "student_id": "NOPE",
                                "reason": f"no student with id NOPE at {school.name}"}]  # fmt: skip
    assert sorted(dry["routes_created"]) == ["12", "7"]
    assert not school.bus_routes.exists()
    done = call(client, "put", path, token[1], body).json()
    assert done["applied"] is True
    row = day_board(school, SCHOOL_DAY).rows[0]  # a Wednesday
    assert (row.plan_type, row.bus_number) == (PlanType.BUS, "12")


def test_the_bus_feed_needs_its_permission_and_scope(client, district, school, other_school,
                                                     student, on_school_day):  # fmt: skip
    _, reader = ApiToken.issue(district=district, name="r", permissions=[Permission.BOARD_READ])
    body = {"assignments": [{"student_id": student.sis_id, "bus": "12"}]}
    path = f"/schools/{school.pk}/bus-assignments"
    assert call(client, "put", path, reader, body).status_code == 403
    _, lincoln = ApiToken.issue(district=district, school=school, name="l",
                                permissions=[Permission.BUSES_WRITE])  # fmt: skip
    assert call(client, "put", f"/schools/{other_school.pk}/bus-assignments", lincoln,
                body).status_code == 404  # fmt: skip
    assert not school.bus_routes.exists()


# --- Students and guardians ------------------------------------------------------------------


def test_people_upsert_creates_updates_and_keeps(client, token, school, on_school_day):
    from lastbell.people.models import Guardian, Student

    body = {"students": [{
        "student_id": "S900", "first_name": "Ana", "last_name": "Rivera", "grade": "3",
        "homeroom": "Room 12",
        "guardians": [{"guardian_id": "G1", "first_name": "Maria", "last_name": "Rivera",
                       "email": "maria@example.org", "language": "es",
                       "relationship": "Mother"}],
    }]}  # fmt: skip
    path = f"/schools/{school.pk}/people"
    first = call(client, "post", path, token[1], body).json()
    assert first["students"] == {"S900": "created"} and first["guardians"] == {"G1": "created"}
    assert first["links_created"] == 1
    student = Student.objects.get(sis_id="S900")
    assert student.homeroom.name == "Room 12"
    guardian = Guardian.objects.get(source_id="G1")
    assert guardian.language == "es" and list(guardian.students.all()) == [student]
    again = call(client, "post", path, token[1], body).json()
    assert again["students"] == {"S900": "kept"} and again["links_created"] == 0
    # The guardian chose English themselves: the feed's Spanish does not overwrite it.
    guardian.language = "en"
    guardian.save()
    body["students"][0]["grade"] = "4"
    changed = call(client, "post", path, token[1], body).json()
    assert changed["students"] == {"S900": "updated"}
    guardian.refresh_from_db()
    assert guardian.language == "en"


def test_a_school_token_cannot_move_or_change_another_schools_people(
    client, district, school, other_school, on_school_day
):
    from lastbell.people.models import Student

    _, secret = ApiToken.issue(district=district, school=school, name="s",
                               permissions=[Permission.PEOPLE_WRITE])  # fmt: skip
    elsewhere = testing.make_student(other_school, first="Bo")
    body = {"students": [{"student_id": elsewhere.sis_id, "first_name": "Changed",
                          "last_name": "Name"}]}  # fmt: skip
    response = call(client, "post", f"/schools/{school.pk}/people", secret, body).json()
    assert response["rejected"][0]["reason"] == "this student is at another school"
    elsewhere.refresh_from_db()
    assert (elsewhere.first_name, elsewhere.school_id) == ("Bo", other_school.pk)
    assert not Student.objects.filter(first_name="Changed").exists()


def test_people_upsert_refuses_bad_input(client, token, school):
    path = f"/schools/{school.pk}/people"
    body = {"students": [{"student_id": "", "first_name": "A", "last_name": "B"}]}
    response = call(client, "post", path, token[1], body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].endswith("student_id")
