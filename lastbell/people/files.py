"""Uploaded photos and court orders: checked by their content, stored and served privately.

A browser's or a phone's word about a file's type (its name, its Content-Type) is not
trusted: the first bytes decide. Files live under MEDIA_ROOT/private/ and are only ever sent
by views that check the same scope as the page that shows them; nothing serves MEDIA_ROOT.
"""

import math
from dataclasses import dataclass

from django.http import FileResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

MB = 1024 * 1024
PHOTO_MAX_BYTES = 5 * MB
COURT_ORDER_MAX_BYTES = 10 * MB


@dataclass(frozen=True)
class FileKind:
    name: str
    extension: str
    content_type: str


@dataclass(frozen=True)
class Accepted:
    described: str  # "The photo must be …"
    kinds: tuple[FileKind, ...]


JPEG = FileKind("JPEG", ".jpg", "image/jpeg")
PNG = FileKind("PNG", ".png", "image/png")
WEBP = FileKind("WebP", ".webp", "image/webp")
PDF = FileKind("PDF", ".pdf", "application/pdf")
PICTURES = Accepted(gettext_lazy("a JPEG, PNG or WebP picture"), (JPEG, PNG, WEBP))
DOCUMENTS = Accepted(gettext_lazy("a PDF, or a JPEG, PNG or WebP picture"), (PDF, JPEG, PNG, WEBP))
# What an upload is, as the sentences below name it; `what` itself also names the stored file.
WHAT = {
    "photo": pgettext_lazy("upload", "photo"),
    "court order": pgettext_lazy("upload", "court order"),
}
BY_EXTENSION = {kind.extension: kind for kind in DOCUMENTS.kinds}


def sniff(upload) -> FileKind | None:
    """The kind of file its first bytes say it is, or None for anything else."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def _size(nbytes: int) -> str:
    # Rounded up, so a file just over the limit never reads as exactly the limit.
    return f"{math.ceil(nbytes * 10 / MB) / 10:g} MB"


def upload_error(upload, *, what: str, allowed: Accepted, max_bytes: int) -> str | None:
    """Why this upload can't be kept, in a sentence for the office; None when it is fine.

    On success the upload is renamed to carry the extension of its real kind.
    """
    size = upload.size or 0
    noun = WHAT.get(what, what)
    if size == 0:
        return _("The %(what)s file is empty. Choose the file again.") % {"what": noun}
    if size > max_bytes:
        return _(
            "The %(what)s is %(size)s; the most it can be is %(max)s. "
            "Choose a smaller file or shrink it first."
        ) % {"what": noun, "size": _size(size), "max": _size(max_bytes)}
    kind = sniff(upload)
    if kind not in allowed.kinds:
        return _(
            "The %(what)s must be %(kinds)s. This file is not one of those "
            "(whatever its name says): save it in one of those formats and try again."
        ) % {"what": noun, "kinds": allowed.described}
    upload.name = f"{what.replace(' ', '-')}{kind.extension}"
    return None


def private_file_response(field_file, *, download_name: str, attachment: bool) -> FileResponse:
    """Send a stored private file with the type of its checked content, never cached."""
    kind = BY_EXTENSION.get(
        "." + field_file.name.rsplit(".", 1)[-1].lower() if "." in field_file.name else ""
    )
    content_type = kind.content_type if kind else "application/octet-stream"
    response = FileResponse(field_file.open("rb"), content_type=content_type)
    filename = download_name + (kind.extension if kind else "")
    response["Content-Disposition"] = content_disposition_header(attachment, filename)
    response["Cache-Control"] = "private, no-store"
    return response
