"""accounts/access.py: the school switch, and school access asked once per request."""

from django.http import Http404
from django.test import RequestFactory

from lastbell import testing
from lastbell.accounts.access import request_access, works_at_several_schools
from lastbell.accounts.models import Role, StaffMembership


def test_the_school_switch_shows_for_more_than_one_school(district, school, other_school):
    one = testing.make_staff(school)
    two = testing.make_staff(school)
    StaffMembership.objects.create(user=two, district=district, school=other_school,
                                   role=Role.TEACHER)  # fmt: skip
    admin = testing.make_district_admin(district)
    lone_district = testing.make_district(name="Lone Pine")
    lone_school = testing.make_school(lone_district, "Lone Pine Elementary")
    lone_admin = testing.make_district_admin(lone_district)
    both = testing.make_district_admin(lone_district)
    StaffMembership.objects.create(user=both, district=district, school=school,
                                   role=Role.TEACHER)  # fmt: skip

    assert works_at_several_schools(one) is False
    assert works_at_several_schools(two) is True
    assert works_at_several_schools(admin) is True  # the district has two schools
    assert works_at_several_schools(lone_admin) is False
    assert lone_school.district == lone_district
    assert works_at_several_schools(both) is True  # a district's school and another


def test_access_is_asked_once_per_request(school, staff, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = staff
    first = request_access(request, school.id)

    with django_assert_num_queries(0):
        assert request_access(request, str(school.id)) is first


def test_a_refusal_is_never_remembered_as_access(school, other_staff):
    request = RequestFactory().get("/")
    request.user = other_staff
    for _ in range(2):
        try:
            request_access(request, school.id)
        except Http404:
            continue
        raise AssertionError("another school's staff got access")
