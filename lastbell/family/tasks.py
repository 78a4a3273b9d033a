from django.tasks import task

BATCH = 100


@task
def invite_families(school_id: int, actor_id: int | None) -> int:
    """Invite the school's families who were not invited yet, a hundred per transaction, so
    the office sees progress and a stopped worker leaves nothing half done: a new run picks up
    where it stopped, because invited families drop out of the list."""
    from django.contrib.auth import get_user_model

    from lastbell.family.services import invite, not_yet_invited
    from lastbell.schools.models import School

    school = School.objects.get(pk=school_id)
    actor = get_user_model().objects.filter(pk=actor_id).first()
    invited = 0
    while batch := list(not_yet_invited(school)[:BATCH]):
        invited += invite(guardians=batch, school=school, actor=actor)
        if len(batch) < BATCH:
            break
    return invited
