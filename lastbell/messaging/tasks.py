from django.tasks import task


@task
def deliver_messages() -> dict:
    """Send the outbox's due messages (enqueued on commit of each new message and retry)."""
    from lastbell.messaging.services import deliver_due  # services enqueue this task

    return dict(deliver_due())
