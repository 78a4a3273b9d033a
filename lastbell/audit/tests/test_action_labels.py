"""Every dotted action the code records has words for the History tab (ACTION_LABELS)."""

import re
from pathlib import Path

from lastbell.audit.models import ACTION_LABELS

PACKAGE = Path(__file__).resolve().parents[2]
ACTION = re.compile(r'action="([a-z_]+(?:\.[a-z_]+)+)"')


def test_it_has_words_for_every_action_recorded():
    recorded = set()
    for path in PACKAGE.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        recorded |= set(ACTION.findall(path.read_text()))
    assert len(recorded) > 50  # the scan found the code's actions
    assert sorted(recorded - set(ACTION_LABELS)) == []
