from django.tasks import task


@task
def pull_bus_feed(feed_id: int) -> str:
    """Pull a school's bus feed if it is due or someone asked for it; else do nothing, so a
    pull enqueued twice runs once. Enqueued for each feed's next pull (services.py)."""
    from lastbell.feeds.services import bus_feed_pull  # services enqueue this task

    pull = bus_feed_pull(feed_id=feed_id)
    return pull.outcome if pull is not None else "not due"
