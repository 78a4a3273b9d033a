"""The tracker pages and the policy settings, for every persona."""

import datetime as dt

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.audit.models import AuditEvent
from lastbell.truancy.models import TruancyPolicy
from lastbell.truancy.tests.helpers import DAYS, unexcused

pytestmark = pytest.mark.usefixtures("on_school_day")


def school_url(school, **query):
    url = reverse("truancy:school", args=[school.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def ana(school):
    pupil = testing.make_student(school, first="Ana", last="Rivera")
    unexcused(pupil, DAYS[0], DAYS[1], DAYS[2])
    return pupil


def test_it_shows_office_staff_who_is_due_with_the_count_and_dates(client, school, staff, ana):
    client.force_login(staff)
    response = client.get(school_url(school))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Rivera, Ana" in text and "Sep 1, Sep 2, Sep 3" in text
    assert "1 student due for Letter 1: first truancy notice" in text


def test_it_shows_an_empty_state(client, school, staff):
    client.force_login(staff)
    response = client.get(school_url(school, level=2))
    assert "Nobody is due for Letter 2: parent conference right now." in response.content.decode()


def test_an_unknown_level_falls_back_to_letter_1(client, school, staff, ana):
    client.force_login(staff)
    response = client.get(school_url(school, level=9), follow=True)
    text = response.content.decode()
    assert "This policy has no letter 9; showing letter 1." in text and "Rivera, Ana" in text


def test_it_pages_a_long_list(client, school, staff):
    for n in range(55):
        unexcused(testing.make_student(school, last=f"Z{n:02d}"), *DAYS[:3])
    client.force_login(staff)
    first = client.get(school_url(school)).content.decode()
    second = client.get(school_url(school, level=1, page=2)).content.decode()
    assert "Page 1 of 2" in first and "Z49" in first and "Z50" not in first
    assert "Z54" in second and "Z49" not in second


@pytest.mark.parametrize("persona", ["school_admin", "district_admin"])
def test_admins_see_the_school_tracker(client, school, district, ana, persona):
    user = (testing.make_district_admin(district) if persona == "district_admin"
            else testing.make_staff(school, Role.SCHOOL_ADMIN))  # fmt: skip
    client.force_login(user)
    assert "Rivera, Ana" in client.get(school_url(school)).content.decode()


def test_staff_of_another_school_and_guardians_get_404(client, school, other_staff, ana):
    client.force_login(other_staff)
    assert client.get(school_url(school)).status_code == 404
    client.force_login(testing.make_guardian(ana).user)
    assert client.get(school_url(school)).status_code == 404


def test_a_teacher_is_refused(client, school, teacher, ana):
    client.force_login(teacher)
    response = client.get(school_url(school))
    assert response.status_code == 403
    assert "Rivera" not in response.content.decode()


def test_signed_out_is_sent_to_sign_in(client, school):
    response = client.get(school_url(school))
    assert response.status_code == 302 and "sign-in" in response["Location"]


def test_the_district_tracker_is_for_district_admins(client, district, school, other_school,
                                                     district_admin, staff, ana):  # fmt: skip
    omar = testing.make_student(other_school, first="Omar", last="Diaz")
    unexcused(omar, *DAYS[:4])
    url = reverse("truancy:district", args=[district.pk])
    client.force_login(district_admin)
    text = client.get(url).content.decode()
    assert "Rivera, Ana" in text and "Diaz, Omar" in text and other_school.name in text
    client.force_login(staff)
    assert client.get(url).status_code == 404
    client.force_login(testing.make_guardian(ana).user)
    assert client.get(url).status_code == 404
    elsewhere = testing.make_district_admin(testing.make_district("Other"))
    client.force_login(elsewhere)
    assert client.get(url).status_code == 404


def policy_post(**changes):
    data = {
        "counts": ["absent_unexcused", "tardy_unexcused"], "tardy_minutes": "30",
        "year_starts_on": "2026-08-17", "year_ends_on": "2027-06-11",
        "threshold_1": "3", "name_1": "Letter 1", "threshold_2": "6", "name_2": "Letter 2",
    }  # fmt: skip
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_district_admin_saves_the_policy_with_its_audit_event(client, district, district_admin,
                                                               school, ana):  # fmt: skip
    client.force_login(district_admin)
    url = reverse("truancy:district_policy", args=[district.pk])
    assert "California default" in client.get(url).content.decode()
    response = client.post(url, policy_post(threshold_1="2"))
    assert response.status_code == 302
    policy = TruancyPolicy.objects.get(district=district, school=None)
    assert policy.levels == [{"threshold": 2, "name": "Letter 1"},
                             {"threshold": 6, "name": "Letter 2"}]  # fmt: skip
    event = AuditEvent.objects.get(action="truancy.policy.saved")
    assert event.actor == district_admin and event.after["levels"][0]["threshold"] == 2


@pytest.mark.parametrize(("changes", "message"), [
    ({"threshold_2": "2"}, "Letter 2 must be due at a higher count than letter 1 (3): letters "
                           "go in order."),
    ({"threshold_1": "", "name_1": ""}, "Letter 2 follows an empty letter"),
    ({"name_2": ""}, "Letter 2 needs a name"),
    ({"threshold_2": ""}, "Give the count at which it is due."),
    ({"year_ends_on": "2026-08-01"}, "The school year must end after it starts."),
    ({"year_ends_on": "2027-12-01"}, "A school year is at most one year long"),
    ({"counts": None}, "Choose at least one kind of attendance that counts."),
    ({"tardy_minutes": "-5"}, "Give 0 minutes or more."),
    ({"threshold_1": "three"}, "Give a whole number, such as 3."),
])  # fmt: skip
def test_a_wrong_policy_is_explained_and_changes_nothing(client, district, district_admin,
                                                         changes, message):  # fmt: skip
    client.force_login(district_admin)
    url = reverse("truancy:district_policy", args=[district.pk])
    response = client.post(url, policy_post(**changes))
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not TruancyPolicy.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="truancy.").exists()


def test_staff_cannot_open_the_district_policy(client, district, staff):
    client.force_login(staff)
    url = reverse("truancy:district_policy", args=[district.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, policy_post()).status_code == 404


def test_a_school_admin_overrides_and_drops_the_schools_policy(client, school, district, ana):
    admin = testing.make_staff(school, Role.SCHOOL_ADMIN)
    client.force_login(admin)
    url = reverse("truancy:school_policy", args=[school.pk])
    assert "follows the district's policy" in client.get(url).content.decode()
    assert client.post(url, policy_post(threshold_1="4", threshold_2="5")).status_code == 302
    own = TruancyPolicy.objects.get(school=school)
    assert own.district == district and own.threshold(1) == 4
    # Ana's three days no longer reach this school's letter 1.
    assert "Nobody is due" in client.get(school_url(school)).content.decode()
    client.post(url, {"action": "remove"})
    assert not TruancyPolicy.objects.exists()
    policy_events = AuditEvent.objects.filter(action__startswith="truancy.").order_by("pk")
    assert list(policy_events.values_list("action", "school_id")) == [
        ("truancy.policy.saved", school.pk), ("truancy.policy.removed", school.pk)]  # fmt: skip
    assert "Rivera, Ana" in client.get(school_url(school)).content.decode()


def test_only_admins_change_a_schools_policy(client, school, staff, teacher, other_school):
    url = reverse("truancy:school_policy", args=[school.pk])
    for user in (staff, teacher):
        client.force_login(user)
        assert client.post(url, policy_post()).status_code == 403
    client.force_login(testing.make_staff(other_school, Role.SCHOOL_ADMIN))
    assert client.post(url, policy_post()).status_code == 404
    assert not TruancyPolicy.objects.exists()


def test_a_policy_change_keeps_letters_already_issued(district, school, ana):
    from lastbell.truancy import services
    from lastbell.truancy.tests.helpers import issue

    letter = issue(ana, 1)
    services.policy_save(district=district, values={
        "counts": ["absent_unexcused"], "tardy_minutes": 30,
        "levels": [{"threshold": 10, "name": "Only letter"}],
        "year_starts_on": dt.date(2026, 7, 1), "year_ends_on": dt.date(2027, 6, 30),
    }, actor=None)  # fmt: skip
    letter.refresh_from_db()
    assert (letter.level, letter.voided_at) == (1, None)
