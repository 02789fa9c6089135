"""`kpolgen probe` against a small HTTP server on loopback: decisions, exit codes, output,
what is (not) sent, deadlines, redirects, bounded reads, and `valid_endpoint`."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import HOMELAB

from kpolgen.probe import valid_endpoint

CONFIG_PATH = "/volsync-backups/apps/data/config"  # homelab.yaml: bucket volsync-backups


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    mode: str = "normal"  # normal | hang | trickle | endless


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class Server:
    """A threaded HTTP server on 127.0.0.1 answering per path; records what it was sent."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.seen.append(Seen(self.path, dict(self.headers.items())))
                route = outer.routes.get(self.path, Route(404))
                with contextlib.suppress(OSError):  # the client gave up, as it should
                    outer.answer(self, route)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()

    def answer(self, handler: BaseHTTPRequestHandler, route: Route) -> None:
        if route.mode == "hang":  # accept, read the request, never answer
            self.stop.wait(10)
            return
        if route.mode == "trickle":  # a status line, then one header byte per 0.1 s, for 3 s
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            handler.wfile.flush()
            for _ in range(30):
                if self.stop.wait(0.1):
                    return
                handler.wfile.write(b"a")
                handler.wfile.flush()
            return
        handler.send_response(route.status)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        if route.mode == "endless":  # a body that never ends
            handler.send_header("Content-Length", str(10**12))
            handler.end_headers()
            chunk = b"x" * 65536
            while not self.stop.is_set():
                handler.wfile.write(chunk)
            return
        handler.send_header("Content-Length", str(len(route.body)))
        handler.end_headers()
        handler.wfile.write(route.body)

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server():
    srv = Server()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def probe(cli, server):
    """Run `kpolgen probe` for apps/data against the test server; JSON output parsed."""

    def run(*extra: str, pvc: str = "data", endpoint: str | None = None):
        result = cli("probe", HOMELAB, "--namespace", "apps", "--pvc", pvc, "--endpoint",
                     endpoint or server.endpoint, "--format", "json", *extra)
        data = json.loads(result.out) if result.out else None
        return result, data

    return run


def test_200_is_restore(cli, server):
    server.routes[CONFIG_PATH] = Route(200, b"\x00restic-config-bytes")
    result = cli("probe", HOMELAB, "-n", "apps", "--pvc", "data", "--endpoint", server.endpoint)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"restore: HTTP 200 from GET {server.endpoint}{CONFIG_PATH}",
        "  the repository's config object exists: Kyverno restores this PVC",
    ]
    assert [s.path for s in server.seen] == [CONFIG_PATH]


MARKER_PATH = "/volsync-backups/kpolgen-root.json"
MARKER = json.dumps({"kind": "kpolgen-repository-root", "bucket": "volsync-backups",
                     "prefix": ""}).encode()


def test_404_is_fresh_when_the_root_marker_proves_the_bucket(probe, server):
    server.routes[MARKER_PATH] = Route(200, MARKER, {"Content-Type": "application/json"})
    result, data = probe()
    assert result.code == 0
    assert data == {"decision": "fresh", "status": 404,
                    "url": f"{server.endpoint}{CONFIG_PATH}",
                    "reason": "no repository at this path: the PVC starts empty",
                    "marker": {"url": f"{server.endpoint}{MARKER_PATH}", "status": 200,
                               "reason": "the repository-root marker names bucket "
                                         "volsync-backups and prefix '': a 404 means no backup"}}
    assert [s.path for s in server.seen] == [CONFIG_PATH, MARKER_PATH]  # the guard's two GETs


@pytest.mark.parametrize(("route", "needle"), [
    (Route(404, b"<Error><Code>NoSuchKey</Code></Error>"),
     "the repository-root marker is missing (S3 error NoSuchKey): upload kpolgen-root.json"),
    (Route(404, b"<Error><Code>NoSuchBucket</Code></Error>"),
     "bucket 'volsync-backups' does not exist (S3 error NoSuchBucket)"),
    (Route(200, json.dumps({"kind": "kpolgen-repository-root", "bucket": "other",
                            "prefix": ""}).encode()),
     "bucket 'other', prefix ''; expected"),
    (Route(200, b"\x00not json"), "(no kpolgen marker; expected"),
    (Route(200, json.dumps({"body": {"kind": "kpolgen-repository-root", "bucket": "other",
                                     "prefix": ""}}).encode()), "bucket 'other', prefix ''"),
    (Route(403, b"<Error><Code>AccessDenied</Code></Error>"), "(S3 error AccessDenied)"),
])
def test_404_without_the_right_marker_is_denied(probe, server, route, needle):
    server.routes[MARKER_PATH] = route
    result, data = probe()
    assert result.code == 1
    assert (data["decision"], data["status"]) == ("deny", 404)
    assert "the repository-root marker does not prove it" in data["reason"]
    assert needle in data["marker"]["reason"]


def test_a_missing_bucket_is_named_in_text_output(cli, server):
    server.routes[CONFIG_PATH] = Route(404, b"<Error><Code>NoSuchBucket</Code></Error>")
    server.routes[MARKER_PATH] = Route(404, b"<Error><Code>NoSuchBucket</Code></Error>")
    result = cli("probe", HOMELAB, "-n", "apps", "--pvc", "data", "--endpoint", server.endpoint)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == f"deny: HTTP 404 from GET {server.endpoint}{CONFIG_PATH}"
    assert "NoSuchBucket" in lines[1]
    assert lines[2] == f"  then HTTP 404 from GET {server.endpoint}{MARKER_PATH}"


def test_json_has_exactly_the_documented_keys(probe, server):
    server.routes[CONFIG_PATH] = Route(200)
    _result, data = probe()
    assert list(data) == ["decision", "status", "url", "reason", "marker"]
    assert (data["decision"], data["status"], data["marker"]) == ("restore", 200, None)


def test_the_url_follows_namespace_and_pvc(probe, server):
    server.routes["/volsync-backups/apps/other.pvc-1/config"] = Route(200)
    result, data = probe(pvc="other.pvc-1")
    assert (result.code, data["decision"]) == (0, "restore")
    assert data["url"].endswith("/volsync-backups/apps/other.pvc-1/config")


@pytest.mark.parametrize(("status", "needle"), [
    (403, "bucket-policy.json from `kpolgen render -o`"),
    (400, "malformed"),
    (401, "demands authentication"),
    (409, "neither 200 (restore) nor 404 (fresh)"),
    (500, "the S3 server failed"),
    (503, "the S3 server failed"),
])
def test_other_statuses_deny(probe, server, status, needle):
    server.routes[CONFIG_PATH] = Route(status)
    result, data = probe()
    assert result.code == 1
    assert (data["decision"], data["status"]) == ("deny", status)
    assert needle in data["reason"]


def test_s3_error_code_is_quoted(probe, server):
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            b"<Message>Access Denied.</Message></Error>")
    server.routes[CONFIG_PATH] = Route(403, body, {"Content-Type": "application/xml"})
    _result, data = probe()
    assert "(S3 error AccessDenied)" in data["reason"]


def test_no_authorization_header_by_default(probe, server):
    server.routes[CONFIG_PATH] = Route(200)
    probe()
    (seen,) = server.seen
    assert not {k.lower() for k in seen.headers} & {"authorization", "cookie",
                                                     "x-amz-security-token"}


def test_bearer_sends_the_dummy_header_and_explains_a_400(probe, server):
    server.routes[CONFIG_PATH] = Route(400)
    result, data = probe("--bearer")
    assert server.seen[0].headers.get("Authorization") == "Bearer kpolgen-probe"
    assert result.code == 1
    assert "rejects the Bearer header that Kyverno's legacy apiCall sends" in data["reason"]


def test_redirects_are_not_followed(probe, server):
    server.routes[CONFIG_PATH] = Route(302, headers={"Location": "/elsewhere/config"})
    server.routes["/elsewhere/config"] = Route(200)
    result, data = probe()
    assert result.code == 1
    assert (data["decision"], data["status"]) == ("deny", 302)
    assert "redirects to /elsewhere/config" in data["reason"]
    assert [s.path for s in server.seen] == [CONFIG_PATH]


def test_a_server_that_never_answers_times_out(probe, server):
    server.routes[CONFIG_PATH] = Route(mode="hang")
    start = time.monotonic()
    result, data = probe("--timeout", "0.5")
    elapsed = time.monotonic() - start
    assert result.code == 1
    assert data["status"] is None
    assert data["reason"] == "no answer within 0.5s"
    assert 0.4 < elapsed < 2.0


def test_the_timeout_bounds_the_whole_exchange_not_each_read(probe, server):
    """A byte every 0.1 s never trips a per-read timeout of 0.5 s; the deadline must."""
    server.routes[CONFIG_PATH] = Route(mode="trickle")
    start = time.monotonic()
    _result, data = probe("--timeout", "0.5")
    elapsed = time.monotonic() - start
    assert (data["decision"], data["status"]) == ("deny", None)
    assert data["reason"] == "no answer within 0.5s"
    assert elapsed < 2.0


def test_only_a_bounded_part_of_the_body_is_read(probe, server):
    server.routes[CONFIG_PATH] = Route(500, mode="endless")
    start = time.monotonic()
    result, data = probe("--timeout", "5")
    assert (result.code, data["status"]) == (1, 500)  # answered, not a timeout
    assert time.monotonic() - start < 3.0


def test_connection_refused(probe):
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result, data = probe(endpoint=f"http://127.0.0.1:{port}")
    assert result.code == 1
    assert data["status"] is None
    assert data["reason"] == (f"connection refused: nothing listens at 127.0.0.1:{port}: wrong "
                              "port (the S3 API, not the console) or host")


def test_unresolvable_host(probe, monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)  # no real DNS: loopback only
    result, data = probe(endpoint="http://s3.example.invalid:9000")
    assert (result.code, data["status"]) == (1, None)
    assert data["reason"].startswith("cannot resolve host 's3.example.invalid'")
    assert "use --endpoint http://<address>:<port>" in data["reason"]


def test_tls_to_a_plain_http_server(probe, server):
    result, data = probe(endpoint=f"https://127.0.0.1:{server.port}")
    assert (result.code, data["status"]) == (1, None)
    assert data["reason"].startswith("TLS handshake with 127.0.0.1:")


def test_on_check_error_fresh_lets_errors_through_and_says_so(probe, server):
    server.routes[CONFIG_PATH] = Route(503)
    result, data = probe("--set", "restore.onCheckError=fresh")
    assert result.code == 0
    assert (data["decision"], data["status"]) == ("fresh", 503)
    assert "onCheckError is 'fresh'" in data["reason"]
    _result, data = probe("--set", "restore.onCheckError=fresh", pvc="new")  # a real 404
    assert data["reason"] == "no repository at this path: the PVC starts empty"


@pytest.mark.parametrize("endpoint", [
    "127.0.0.1:9000", "ftp://127.0.0.1:9000", "http://127.0.0.1:9000/bucket",
    "http://127.0.0.1:9000?x=1", "http://user:pw@127.0.0.1:9000", "http://127.0.0.1:99999",
    "http://", "http://127.0.0.1:port",
])
def test_bad_endpoint_is_a_usage_error(probe, server, endpoint):
    result, data = probe(endpoint=endpoint)
    assert result.code == 2
    assert data is None
    assert "--endpoint must be scheme://host[:port]" in result.err
    assert server.seen == []


@pytest.mark.parametrize(("option", "value"), [
    ("--pvc", "Data"), ("--pvc", "data_1"), ("--pvc", "-data"), ("--pvc", "a/b"),
    ("--namespace", "apps.x"), ("--namespace", "a" * 64),
])
def test_bad_names_are_usage_errors(cli, server, option, value):
    args = {"--namespace": "apps", "--pvc": "data", option: value}
    result = cli("probe", HOMELAB, "--endpoint", server.endpoint, *sum(args.items(), ()))
    assert result.code == 2
    assert "is not a valid" in result.err
    assert server.seen == []


def test_bad_format_is_a_usage_error(cli, server):
    result = cli("probe", HOMELAB, "-n", "apps", "--pvc", "data", "--endpoint",
                 server.endpoint, "--format", "yaml")
    assert result.code == 2
    assert server.seen == []


@pytest.mark.parametrize(("text", "ok"), [
    ("http://127.0.0.1:9000", True),
    ("https://s3.example.com", True),
    ("http://rustfs.volsync-system.svc:9000/", True),
    ("http://[::1]:9000", True),
    ("http://[fd00::1]", True),
    ("http://localhost:1", True),
    ("http://h:65535", True),
    ("HTTP://127.0.0.1:9000", False),
    ("http://h:0", False),
    ("http://h:65536", False),
    ("http://h:", False),
    ("http://[::1", False),
    ("http://[nonsense]:9000", False),
    ("http://h/p", False),
    ("http://h:1/p/", False),
    ("http://h?q", False),
    ("http://h#f", False),
    ("http://u@h", False),
    ("http:// h", False),
    ("http://h\n", False),
    ("http://bad..host", False),
    ("http://-bad", False),
    ("http://héllo", False),
    ("s3://bucket", False),
    ("//h:9000", False),
    ("", False),
])
def test_valid_endpoint(text, ok):
    assert valid_endpoint(text) is ok


def test_importing_probe_is_cheap():
    code = ("import sys, kpolgen.probe; "
            "print(sorted(m for m in ('http.client', 'ssl', 'socket', 'threading', "
            "'urllib.parse') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert json.loads(out.replace("'", '"')) == []


# --- the legacy engine's JSON check endpoint ------------------------------------------------
LEGACY = HOMELAB.parent / "legacy-kyverno-1.16.yaml"


@pytest.mark.parametrize(("route", "decision", "code"), [
    (Route(200, b'{"exists": true}'), "restore", 0),
    (Route(200, b'{"exists": false}'), "fresh", 0),
    (Route(200, b'{"decision": "restore"}'), "deny", 1),  # breaks the contract
    (Route(200, b"not json"), "deny", 1),
    (Route(503, b'{"exists": false}'), "deny", 1),  # only a 200 is an answer
])
def test_legacy_check_endpoint(cli, server, route, decision, code):
    server.routes["/exists/apps/data"] = route
    result = cli("probe", LEGACY, "-n", "apps", "--pvc", "data", "--endpoint", server.endpoint,
                 "--format", "json")
    assert result.code == code, result.out
    assert json.loads(result.out)["decision"] == decision
    assert [s.path for s in server.seen] == ["/exists/apps/data"]


def legacy_probe(cli, server):
    result = cli("probe", LEGACY, "-n", "apps", "--pvc", "data", "--endpoint", server.endpoint,
                 "--format", "json")
    return result, json.loads(result.out)


def test_legacy_probe_sends_the_request_the_policy_sends(cli, server):
    """The policy's apiCall: GET <url>/<ns>/<pvc> with its placeholder Authorization header
    (which keeps Kyverno's own token out); probe sends the same headers."""
    from conftest import render_docs

    restore = next(d for d in render_docs(LEGACY) if d["kind"] == "ClusterPolicy"
                   and d["metadata"]["name"] == "volsync-smart-restore")
    calls = [c["apiCall"] for r in restore["spec"]["rules"] for c in r.get("context", [])
             if "apiCall" in c]
    assert calls and all(c["method"] == "GET" for c in calls)
    headers = {h["key"]: h["value"] for h in calls[0]["service"]["headers"]}
    assert headers == {"Authorization": "kpolgen-no-token"}
    server.routes["/exists/apps/data"] = Route(200, b'{"exists": false}')
    legacy_probe(cli, server)
    (seen,) = server.seen
    sent = {k: v for k, v in seen.headers.items() if k in headers}
    assert sent == headers


@pytest.mark.parametrize("body", [b'{"exists": false, "error": "S3: connection refused"}',
                                  b'{"exists": true, "error": "S3: connection refused"}',
                                  b'{"error": "S3: connection refused"}'])
def test_legacy_answer_with_an_error_field_denies(cli, server, body):
    server.routes["/exists/apps/data"] = Route(200, body)
    result, data = legacy_probe(cli, server)
    assert result.code == 1 and data["decision"] == "deny"
    assert "the endpoint reports an error (S3: connection refused)" in data["reason"]


@pytest.mark.parametrize(("route", "needle"), [
    (Route(503, b'{"error": "bucket unreachable"}'), "HTTP 503 (bucket unreachable)"),
    (Route(403, b"<Error><Code>AccessDenied</Code></Error>"), "HTTP 403"),
    (Route(400), "HTTP 400"),
])
def test_legacy_failures_are_worded_for_the_check_endpoint(cli, server, route, needle):
    server.routes["/exists/apps/data"] = route
    result, data = legacy_probe(cli, server)
    assert result.code == 1 and data["decision"] == "deny"
    assert f"the check endpoint answered {needle}" in data["reason"]
    for s3_words in ("S3 error", "bucket policy", "bucket-policy.json", "Bearer", "S3 server"):
        assert s3_words not in data["reason"]


def test_legacy_connection_refused_is_not_about_s3(cli):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = cli("probe", LEGACY, "-n", "apps", "--pvc", "data", "--endpoint",
                 f"http://127.0.0.1:{port}", "--format", "json")
    reason = json.loads(result.out)["reason"]
    assert result.code == 1 and "connection refused" in reason and "S3" not in reason
