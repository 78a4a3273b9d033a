"""Live updates of the day board: pages hear that a school's board changed (signals.py) over
a server-sent event stream (consumers.py)."""


def board_changed(school_id, *, homerooms=None, using=None):
    """See lastbell.live.signals.board_changed: call it after bulk writes to a school's board."""
    from lastbell.live.signals import board_changed as announce

    announce(school_id, homerooms=homerooms, using=using)
