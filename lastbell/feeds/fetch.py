"""Getting a feed's file: the newest CSV of a drop folder, or a download over HTTPS.

Either way the file is copied to a temporary file in pieces (never held in memory whole) and
hashed on the way, so the dry run and the import read the very same bytes, and a file still
being written in the drop folder, or a download cut short, is never imported.
"""

import contextlib
import dataclasses
import hashlib
import http.client
import os
import pathlib
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus

from django.conf import settings

from lastbell.imports.oneroster import MAX_FILE_BYTES

FETCH_TIMEOUT = 30  # seconds to wait for the server to answer, each time Last Bell waits
FETCH_DEADLINE = 15 * 60  # seconds a whole download may take
CHUNK = 64 * 1024
NEXT_STEP = "Nothing was changed; the bus plans stay as they were."


class FeedProblem(Exception):
    """Why a feed could not be fetched or applied, in words for the school office."""


@dataclasses.dataclass(frozen=True)
class Fetched:
    path: pathlib.Path
    name: str  # the file's name, as the import report and the history show it
    sha256: str
    size: int


def _megabytes(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB"


def drop_folder_root() -> pathlib.Path:
    return pathlib.Path(os.path.normpath(os.path.abspath(settings.LASTBELL_FEED_FOLDER_ROOT)))


def drop_folder(value: str) -> pathlib.Path:
    """The folder a feed names, inside the drop-folder root (LASTBELL_FEED_FOLDER_ROOT): a path
    relative to the root, or an absolute one under it. Schools share the server, so a feed
    may not read files elsewhere on it, such as another school's uploads."""
    root = drop_folder_root()
    path = pathlib.Path(os.path.normpath(root / value.strip()))
    if path != root and root not in path.parents:
        raise FeedProblem(
            f"The folder must be inside {root} on the Last Bell server. Ask your district IT "
            "which folder the transportation system drops its files in."
        )
    return path


def check_url(url: str) -> str:
    """The address if Last Bell may fetch it; else why not."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme.lower() != "https":
        raise FeedProblem(
            "The address must start with https://. Last Bell fetches bus feeds only over an "
            "encrypted connection; ask the transportation office for the https address."
        )
    if not parts.hostname:
        raise FeedProblem("The address has no server name; copy the whole address again.")
    if parts.username or parts.password:
        raise FeedProblem(
            "Take the user name and password out of the address, and put the sign-in in the "
            "Authorization field instead, where it is kept hidden."
        )
    return url.strip()


def _copy(source, out, *, max_bytes: int, deadline: float | None = None) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FeedProblem(
                f"The file is larger than the {_megabytes(max_bytes)} Last Bell takes in one "
                f"file. {NEXT_STEP}"
            )
        if deadline is not None and time.monotonic() > deadline:
            raise FeedProblem(
                f"The download took longer than {FETCH_DEADLINE // 60} minutes and was stopped. "
                f"{NEXT_STEP}"
            )
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest(), size


@contextlib.contextmanager
def fetched(feed, *, timeout: float = FETCH_TIMEOUT, max_bytes: int = MAX_FILE_BYTES):
    """The feed's file, copied to a temporary file that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="lastbell-feed-") as workdir:
        target = pathlib.Path(workdir) / "feed.csv"
        if feed.kind == feed.Kind.URL:
            yield _download(feed, target, timeout=timeout, max_bytes=max_bytes)
        else:
            yield _from_folder(feed, target, max_bytes=max_bytes)


# --- Drop folder ---------------------------------------------------------------------------


def _newest_csv(folder: pathlib.Path) -> os.DirEntry | None:
    newest = None
    with os.scandir(folder) as entries:
        for entry in entries:
            # Hidden and editor files are uploads in progress or leftovers, not the feed.
            if entry.name.startswith((".", "~")) or not entry.name.lower().endswith(".csv"):
                continue
            if not entry.is_file():
                continue
            if newest is None or entry.stat().st_mtime_ns > newest.stat().st_mtime_ns:
                newest = entry
    return newest


def _from_folder(feed, target: pathlib.Path, *, max_bytes: int) -> Fetched:
    folder = drop_folder(feed.folder)
    if not folder.is_dir():
        raise FeedProblem(
            f"There is no folder {folder} on the Last Bell server (or Last Bell may not read "
            f"it). Ask your district IT to check the drop folder. {NEXT_STEP}"
        )
    try:
        entry = _newest_csv(folder)
    except OSError as error:
        raise FeedProblem(
            f"Last Bell could not read the folder {folder} ({error.strerror}). Ask your district "
            f"IT to let Last Bell read it. {NEXT_STEP}"
        ) from error
    if entry is None:
        raise FeedProblem(
            f"The folder {folder} has no CSV file in it. Ask the transportation office whether "
            f"their export ran. {NEXT_STEP}"
        )
    path = pathlib.Path(entry.path)
    before = path.stat()
    if before.st_size > max_bytes:
        raise FeedProblem(
            f"{entry.name} is larger than the {_megabytes(max_bytes)} Last Bell takes in one "
            f"file. {NEXT_STEP}"
        )
    with open(path, "rb") as source, open(target, "wb") as out:
        sha256, size = _copy(source, out, max_bytes=max_bytes)
    after = path.stat()
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise FeedProblem(
            f"{entry.name} was still being written while Last Bell read it. {NEXT_STEP} "
            "Press “Pull now” in a few minutes, or wait for the next scheduled pull."
        )
    return Fetched(target, entry.name, sha256, size)


# --- HTTPS ---------------------------------------------------------------------------------


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to another https address (the Authorization header is not
    forwarded: urllib drops unredirected headers)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme.lower() != "https":
            raise FeedProblem(
                f"The server sent Last Bell on to {newurl}, which is not an https address, so "
                f"Last Bell did not follow it. {NEXT_STEP}"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def tls_context() -> ssl.SSLContext:
    """The system's certificate authorities, plus the district's own (LASTBELL_FEED_CA_BUNDLE)."""
    context = ssl.create_default_context()
    bundle = settings.LASTBELL_FEED_CA_BUNDLE
    if bundle:
        try:
            context.load_verify_locations(cafile=bundle)
        except (OSError, ssl.SSLError) as error:
            raise FeedProblem(
                f"Last Bell could not read the certificate authorities in "
                f"LASTBELL_FEED_CA_BUNDLE ({bundle}: {error}). Ask your district IT to fix the "
                f"setting. {NEXT_STEP}"
            ) from error
    return context


def _file_name(url: str) -> str:
    name = pathlib.PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    return name[:200] or "bus feed"


def _http_problem(code: int) -> str:
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "error"
    said = f"The server answered “{code} {phrase}”"
    if code in (401, 403):
        return f"{said}: it did not accept the sign-in. Check the Authorization value. {NEXT_STEP}"
    if code == 404:
        return f"{said}: there is no file at that address. Check the address. {NEXT_STEP}"
    return (
        f"{said}: the problem is on the transportation system's side. {NEXT_STEP} Last Bell "
        "tries again at the next scheduled pull, or press “Pull now” once it is fixed."
    )


def _download(feed, target: pathlib.Path, *, timeout: float, max_bytes: int) -> Fetched:
    url = check_url(feed.url)
    host = urllib.parse.urlsplit(url).hostname
    request = urllib.request.Request(url, headers={"User-Agent": "LastBell bus feed"})  # noqa: S310 — https only, checked above
    if feed.authorization:
        request.add_unredirected_header("Authorization", feed.authorization)
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=tls_context()), _HttpsOnlyRedirects()
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FeedProblem(
                    f"The file is {_megabytes(int(length))}, more than the "
                    f"{_megabytes(max_bytes)} Last Bell takes in one file. {NEXT_STEP}"
                )
            with open(target, "wb") as out:
                deadline = time.monotonic() + FETCH_DEADLINE
                sha256, size = _copy(response, out, max_bytes=max_bytes, deadline=deadline)
            if length and length.isdigit() and size != int(length):
                raise FeedProblem(f"The download was cut short. {NEXT_STEP}")
    except urllib.error.HTTPError as error:
        error.close()
        raise FeedProblem(_http_problem(error.code)) from error
    except TimeoutError as error:
        raise FeedProblem(
            f"The server {host} did not answer within {timeout:g} seconds. {NEXT_STEP}"
        ) from error
    except ssl.SSLCertVerificationError as error:
        raise FeedProblem(_certificate_problem(host, error)) from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, ssl.SSLCertVerificationError):
            raise FeedProblem(_certificate_problem(host, error.reason)) from error
        if isinstance(error.reason, TimeoutError):
            raise FeedProblem(
                f"The server {host} did not answer within {timeout:g} seconds. {NEXT_STEP}"
            ) from error
        raise FeedProblem(
            f"Last Bell could not reach {host} ({error.reason}). Check the address, or ask "
            f"your district IT whether the server can reach it. {NEXT_STEP}"
        ) from error
    except http.client.HTTPException as error:  # e.g. IncompleteRead: the server hung up
        raise FeedProblem(f"The download was cut short ({error!r}). {NEXT_STEP}") from error
    except OSError as error:  # TLS handshake failures, resets: ssl.SSLError, ConnectionError
        raise FeedProblem(
            f"The connection to {host} failed ({error}). {NEXT_STEP} Last Bell tries again at "
            "the next scheduled pull."
        ) from error
    return Fetched(target, _file_name(url), sha256, size)


def _certificate_problem(host, error) -> str:
    return (
        f"Last Bell could not verify the certificate of {host} "
        f"({getattr(error, 'verify_message', '') or error}). If the district uses its own "
        "certificate authority, your district IT sets LASTBELL_FEED_CA_BUNDLE to it. "
        f"{NEXT_STEP}"
    )
