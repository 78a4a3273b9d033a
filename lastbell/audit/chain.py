"""The audit log's hash chain: each district's events form one sequence in which every event
carries a digest of its own content and a chain hash over the previous event's chain hash and
that digest, so an event changed, deleted or slipped in afterwards shows (`lastbell
audit_verify`).

The digest is kept apart from the chain on purpose: redaction (`audit_redact_student`) replaces
an event's personal fields, after which its content no longer matches its digest, but the chain
of digests still verifies; verify checks content against the digest for unredacted events only.

One chain per district, not one for the whole installation: the district owns its records
(export, erasure, verification answer to it), and districts sharing an installation do not take
turns on one lock at the 3 pm dismissal that they all have at once. Writers lock the district's
`AuditChain` row inside the change's transaction, as late as they can (the audit event is the
last write of a change), and hold it until commit: on PostgreSQL concurrent writers wait on
that row lock; on SQLite every transaction is already a writer's (BEGIN IMMEDIATE).
"""

import dataclasses
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence

from lastbell.audit.models import AuditChain, AuditEvent

# The content an event's digest covers, in this order (after its seq).
CONTENT = [
    "at", "action", "actor_id", "actor_label", "via", "district_id", "school_id", "student_id",
    "target_type", "target_id", "target_label", "before", "after",
]  # fmt: skip
_DISTRICT = CONTENT.index("district_id")
# The columns of `Links.linked`'s rows.
LINKED = [*CONTENT, "seq", "digest", "chain", "redacted"]
GENESIS = "0" * 64
# What redaction leaves in an event's personal fields.
REDACTED = "[redacted]"


# Made once: json.dumps with options builds an encoder per call, a good part of a row's cost.
_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@functools.lru_cache(maxsize=256)
def _at_text(at: dt.datetime) -> str:
    # One spelling of the instant, whatever time zone it came in and the database gives back.
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_digest(seq: int, content: Sequence) -> str:
    """SHA-256 (hex) of an event's content (the values of CONTENT, in order) at position `seq`,
    as compact JSON with sorted keys (PostgreSQL's jsonb gives before/after back in its own key
    order)."""
    text = _JSON.encode([seq, _at_text(content[0]), *content[1:]])
    return hashlib.sha256(text.encode()).hexdigest()


def chain_hash(previous: str, digest: str) -> str:
    return hashlib.sha256((previous + digest).encode()).hexdigest()


class Links:
    """Appends events to their districts' chains within one transaction: `lock` the heads (or
    let `link` lock each on first sight), `link` each event in order, then `save` the heads."""

    def __init__(self):
        self.heads: dict[int, list] = {}  # district id: [seq, chain hash] of its last event
        self.changed: set[int] = set()

    def lock(self, district_ids: Iterable[int]) -> None:
        """Lock the districts' heads, in id order (two writers of several districts cannot
        deadlock), creating those not made yet."""
        wanted = sorted(set(district_ids) - self.heads.keys())
        if not wanted:
            return
        self._select(wanted)
        if missing := [d for d in wanted if d not in self.heads]:
            AuditChain.objects.bulk_create(
                [AuditChain(district_id=d) for d in missing], ignore_conflicts=True
            )
            self._select(missing)

    def _select(self, district_ids: list[int]) -> None:
        heads = AuditChain.objects.select_for_update(no_key=True).filter(
            district_id__in=district_ids
        )
        for district_id, seq, chain in heads.order_by("district_id").values_list(
            "district_id", "seq", "chain"
        ):
            self.heads[district_id] = [seq, chain]

    def link(self, content: Sequence) -> tuple[int, str, str]:
        """(seq, digest, chain) of the event after the last one of its district."""
        district_id = content[_DISTRICT]
        head = self.heads.get(district_id)
        if head is None:
            self.lock([district_id])
            head = self.heads[district_id]
        seq = head[0] + 1
        digest = event_digest(seq, content)
        head[0], head[1] = seq, chain_hash(head[1], digest)
        self.changed.add(district_id)
        return seq, digest, head[1]

    def stamp(self, event: AuditEvent) -> AuditEvent:
        event.seq, event.digest, event.chain = self.link([getattr(event, name) for name in CONTENT])
        return event

    def linked(self, rows: Iterable[Sequence]) -> Iterator[tuple]:
        """Rows of CONTENT as rows of LINKED: hashed as they stream to the database, no query
        per row."""
        for row in rows:
            yield (*row, *self.link(row), False)

    def save(self) -> None:
        for district_id in sorted(self.changed):
            seq, chain = self.heads[district_id]
            AuditChain.objects.filter(district_id=district_id).update(seq=seq, chain=chain)
        self.changed.clear()


@dataclasses.dataclass
class ChainReport:
    """What `verify` found in one district's chain: `broken` is None when it holds."""

    district: str
    events: int
    last: str  # the last link's chain hash: note it down to compare with a later run
    broken: str | None = None


def verify(*, chunk_size: int = 2000) -> list[ChainReport]:
    """Walk every district's chain in order, streaming, and say where each first breaks."""
    from lastbell.schools.models import District

    heads = {head.district_id: head for head in AuditChain.objects.all()}
    district_ids = set(heads) | set(
        AuditEvent.objects.order_by().values_list("district_id", flat=True).distinct()
    )
    names = dict(District.objects.filter(pk__in=district_ids).values_list("pk", "name"))
    return [
        _verify_district(
            district_id,
            names.get(district_id, f"district {district_id}"),
            heads.get(district_id),
            chunk_size,
        )  # fmt: skip
        for district_id in sorted(district_ids)
    ]


def _verify_district(district_id, name, head, chunk_size) -> ChainReport:
    rows = (
        AuditEvent.objects.filter(district_id=district_id)
        .order_by("seq")
        .values_list("id", "seq", "digest", "chain", "redacted", *CONTENT)
    )
    report = ChainReport(district=name, events=0, last=GENESIS)
    previous = None
    for row in rows.iterator(chunk_size=chunk_size):
        pk, seq, digest, chain, redacted, *content = row
        expected = previous[1] + 1 if previous else 1
        if seq != expected:
            before = f"after {_described(previous)}" if previous else "at the start"
            report.broken = (
                f"Event no. {expected} of {name} is missing: {before} comes "
                f"{_described(row)}. Events were deleted from the log."
            )
            return report
        if chain_hash(report.last, digest) != chain:
            report.broken = (
                f"The chain of {name} breaks at {_described(row)}: its link does not follow "
                f"from the event before it. An event was inserted, replaced or reordered here."
            )
            return report
        if not redacted and event_digest(seq, content) != digest:
            report.broken = (
                f"In the log of {name}, {_described(row)} was changed after it was written: "
                f"what it says no longer matches its digest."
            )
            return report
        report.events, report.last, previous = seq, chain, row
    head_seq, head_chain = (head.seq, head.chain) if head else (0, GENESIS)
    if head_seq > report.events:
        report.broken = (
            f"The log of {name} ends at event no. {report.events}, but {head_seq} were written: "
            f"the last {head_seq - report.events} were deleted."
        )
    elif head_seq < report.events or head_chain != report.last:
        first = head_seq + 1 if head_seq < report.events else report.events
        report.broken = (
            f"The log of {name} has events the chain never recorded, from event no. {first} "
            f"(the last, {_described(previous)}): they were added outside the application."
        )
    return report


def _described(row) -> str:
    from django.utils import timezone

    from lastbell.audit.models import ACTION_LABELS

    pk, seq, _digest, _chain, _redacted, at, action, *_rest = row
    label = row[5 + CONTENT.index("target_label")]
    what = ACTION_LABELS.get(action, action)
    return (
        f"event no. {seq} (id {pk}, {timezone.localtime(at):%Y-%m-%d %H:%M:%S}: "
        f"{what}{' — ' + label if label else ''})"
    )
