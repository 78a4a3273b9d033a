"""Fixtures for the feed tests: a drop folder, a real HTTPS server on loopback whose
certificate comes from a throwaway authority (trustme), and a school whose students already
ride buses the feed gave them."""

import contextlib
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from lastbell import testing
from lastbell.accounts.models import Role
from lastbell.feeds.tests.support import bus_csv, drop, folder_feed, pull_now


class Routes:
    """What the server answers per path: (status, body[, headers]); and the requests it got."""

    def __init__(self):
        self.answers: dict[str, tuple] = {}
        self.requests: list[dict] = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        routes = self.server.routes
        routes.requests.append({"path": self.path, "headers": dict(self.headers)})
        status, body, *headers = routes.answers.get(self.path, (404, b"not here"))
        self.send_response(status)
        for name, value in (headers[0] if headers else {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def certificate_authority():
    return trustme.CA()


@pytest.fixture
def ca_bundle(certificate_authority, tmp_path):
    path = tmp_path / "district-ca.pem"
    certificate_authority.cert_pem.write_to_path(str(path))
    return path


@contextlib.contextmanager
def _serving(context=None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.routes = Routes()
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        scheme = "https" if context is not None else "http"
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", server.routes
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def https_server(certificate_authority):
    """An HTTPS server on 127.0.0.1 that no system trusts; yields (base URL, routes)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with _serving(context) as served:
        yield served


@pytest.fixture
def http_server():
    """The same server without TLS."""
    with _serving() as served:
        yield served


@pytest.fixture
def silent_port():
    """A port that takes connections and never says a word (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.fixture
def drop_root(settings, tmp_path):
    root = tmp_path / "feeds"
    (root / "lincoln").mkdir(parents=True)
    settings.LASTBELL_FEED_FOLDER_ROOT = str(root)
    return root


@pytest.fixture
def school_admin(school):
    return testing.make_staff(school, Role.SCHOOL_ADMIN, first="Sam", last="Principal")


@pytest.fixture
def riders(school, student):
    """Two students of the school; Ana is in the feed's first file, and so is Ben."""
    return student, testing.make_student(school, first="Ben", last="Okafor")


@pytest.fixture
def applied_feed(drop_root, school, riders, on_school_day):
    """A folder feed whose first file was applied: Ana and Ben ride bus 12 every day."""
    ana, ben = riders
    drop(drop_root / "lincoln", bus_csv((ana.sis_id, "12", "Mon-Fri"), (ben.sis_id, "12", "")),
         name="monday.csv", age=60)  # fmt: skip
    feed = folder_feed(school)
    pull = pull_now(feed)
    assert pull.outcome == "applied", pull.message
    feed.refresh_from_db()
    return feed
