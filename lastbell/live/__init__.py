"""Live updates of the day board: pages hear that a school's board changed (signals.py) over
a server-sent event stream (consumers.py)."""


def board_changed(school_id, *, homerooms=None, using=None):
    """See lastbell.live.signals.board_changed: call it after bulk writes to a school's board."""
    from lastbell.live.signals import board_changed as announce

    announce(school_id, homerooms=homerooms, using=using)


# What else than the board a school's live pages show, each as a function school -> str that
# changes whenever that part changes (the dismissal adds its chain of custody: apps.py).
version_parts = []


def version(school) -> str:
    """A name for what the school's live pages show now. A page notes it before it reads
    anything, and its stream compares it when it opens: a change made between the two was
    announced before the stream listened, so the stream announces it again (consumers.py)."""
    from lastbell.plans import stamps

    stamp = stamps.current(school.id)
    return ".".join(str(part) for part in (*(stamp or ("-",)), *(f(school) for f in version_parts)))
