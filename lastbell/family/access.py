"""Who may see a family page: a signed-in guardian, for their own children only."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from lastbell.people.models import Guardian, Student


class NoParentAccess(Exception):
    """The child's school does not offer parent pages (its parent-access switch is off)."""

    def __init__(self, school):
        self.school = school


def guardian_of(request) -> Guardian:
    guardian = Guardian.objects.filter(user=request.user).select_related("district").first()
    if guardian is None:
        raise PermissionDenied(_("This account is not a parent or guardian account."))
    return guardian


def child_or_404(guardian: Guardian, student_id: int) -> Student:
    """One of the guardian's own children; anyone else's child does not exist for them."""
    student = (
        Student.objects.filter(pk=student_id, guardian_links__guardian=guardian)
        .select_related("school", "school__district", "homeroom")
        .first()
    )
    if student is None:
        raise Http404(_("No such child on your account."))
    if not student.school.parent_access:
        raise NoParentAccess(student.school)
    return student
