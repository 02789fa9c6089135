"""The network edge: make the unsigned S3 requests a restore policy makes, and decide.

The guard's requests: GET the repository's ``config`` and, when that answers 404, the
repository-root marker. Each GET: no credentials, no redirects followed, one deadline for
the whole exchange (name resolution, connect, TLS, status line and headers) and at most
``MAX_BODY`` bytes of body. The decision comes from ``kpolgen.decision`` and the marker test
from ``kpolgen.components.root_marker``, so that probe and policies agree.

Only the standard library is used, and imported when a probe is made, so importing this
module (the CLI does, to check ``--endpoint``) stays cheap.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from kpolgen.decision import (
    CHECK_ERROR_FIELD,
    FRESH,
    NOT_FOUND,
    check_answer_state,
    for_answers,
    for_check_answer,
    for_status,
)

MAX_BODY = 64 * 1024  # bytes of an answer's body ever read (an S3 error document is small)
BEARER = "Bearer kpolgen-probe"  # a dummy, like the header Kyverno's legacy apiCall adds

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


class ProbeResult(NamedTuple):
    """decision and url are None when the policies make no request at all."""

    decision: str  # "restore" | "fresh" | "deny"
    status: int | None  # the HTTP status; None when there was no answer
    url: str
    reason: str  # one sentence for a human
    marker: dict | None = None  # the root marker request after a 404: url, status, reason


def valid_endpoint(text: str) -> bool:
    """``http(s)://host[:port]`` (a trailing '/' is allowed): no path, query, fragment or
    userinfo, a port in 1-65535, a DNS name or an IP address (IPv6 in brackets)."""
    from urllib.parse import urlsplit

    if not isinstance(text, str) or not text.isascii() or any(
            c.isspace() or not c.isprintable() for c in text):
        return False
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not text.startswith(parts.scheme + "://"):
        return False
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text \
            or "#" in text or "@" in parts.netloc:
        return False
    if port is not None and not 1 <= port <= 65535:
        return False
    if parts.netloc.endswith(":"):  # an empty port
        return False
    host = parts.hostname or ""
    if parts.netloc.startswith("["):
        import ipaddress

        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    return bool(host) and _HOSTNAME.fullmatch(host) is not None


def probe(url: str, *, timeout: float = 5.0, bearer: bool = False,
          on_error: str = "deny", marker: tuple[str, Any] | None = None) -> ProbeResult:
    """GET ``url`` without credentials and return what the policies would decide. With
    ``marker`` (its URL and the Config it must match), a 404 is "fresh" only when the
    repository-root marker answers 200 with this bucket and prefix, as the guard decides."""
    status, reason, _body = _exchange(url, timeout, bearer)
    decision = for_status(status, on_error=on_error)
    if decision == FRESH and status != NOT_FOUND:
        reason += (" (restore.onCheckError is 'fresh', so the policy lets the PVC start "
                   "empty anyway)")
    if status != NOT_FOUND or marker is None:
        return ProbeResult(decision, status, url, reason)
    marker_url, cfg = marker
    ok, marker_status, marker_reason = _marker(marker_url, cfg, timeout, bearer)
    decision = for_answers(status, ok, on_error=on_error)
    if not ok:
        reason += ("; but a 404 means 'no backup' only when the bucket and prefix are right, "
                   "and the repository-root marker does not prove it: refused")
    return ProbeResult(decision, status, url, reason,
                       {"url": marker_url, "status": marker_status, "reason": marker_reason})


def _marker(url: str, cfg: Any, timeout: float, bearer: bool) -> tuple[bool, int | None, str]:
    """(matches, status, reason) of the repository-root marker request."""
    import json

    from kpolgen import naming
    from kpolgen.components import root_marker

    status, reason, body = _exchange(url, timeout, bearer, want_body=True)
    where = f"s3://{cfg.bucket}/{naming.root_marker_key(cfg)}"
    if status == 200:
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if root_marker.matches(cfg, answer):
            return True, status, (f"the repository-root marker names bucket {cfg.bucket} and "
                                  f"prefix '{cfg.prefix}': a 404 means no backup")
        named = root_marker.fields(answer)
        found = (f"bucket {named.get('bucket')!r}, prefix {named.get('prefix')!r}"
                 if named else "no kpolgen marker")
        return False, status, (f"the object at {where} is not this repository root's marker "
                               f"({found}; expected {root_marker.body(cfg)}): is s3.bucket or "
                               f"s3.prefix wrong? If not, upload {root_marker.FILENAME} from "
                               "`kpolgen render -o` there")
    code = _s3_code(body)
    if code == "NoSuchBucket":
        return False, status, (f"bucket {cfg.bucket!r} does not exist (S3 error NoSuchBucket):"
                               " check s3.bucket; every PVC would be refused")
    if status == NOT_FOUND:
        detail = f" (S3 error {code})" if code else ""
        return False, status, (f"the repository-root marker is missing{detail}: upload "
                               f"{root_marker.FILENAME} from `kpolgen render -o` to {where} "
                               "once (until then labelled PVCs without a backup are refused)")
    return False, status, f"the repository-root marker: {reason}"


class _Deadline:
    """One time budget for the exchange. A watchdog shuts the socket down when it runs out,
    so that a server trickling bytes cannot stretch the per-operation socket timeouts."""

    def __init__(self, seconds: float) -> None:
        import threading
        import time

        self._clock = time.monotonic
        self.seconds = seconds
        self.end = self._clock() + seconds
        self._lock = threading.Lock()
        self._sock = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        remaining = self.end - self._clock()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        return remaining

    def expired(self) -> bool:
        return self._clock() >= self.end

    def watch(self, sock) -> None:
        with self._lock:
            self._sock = sock
        if self.expired():
            self._expire()

    def _expire(self) -> None:
        import contextlib
        import socket

        with self._lock:
            if self._sock is not None:
                # the plain socket's shutdown: wakes a blocked recv, even under TLS
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(self._sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._sock = None


def _resolve(host: str, port: int, deadline: _Deadline) -> list:
    """getaddrinfo cannot be interrupted and has no timeout of its own: run it in a daemon
    thread and stop waiting for it at the deadline."""
    import socket
    import threading

    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=work, name="kpolgen-resolve", daemon=True)
    thread.start()
    thread.join(deadline.left())
    if thread.is_alive():
        raise TimeoutError("name resolution did not finish")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["infos"]  # type: ignore[return-value]


def _connect(host: str, port: int, deadline: _Deadline):
    import socket

    last: OSError | None = None
    for family, kind, proto, _name, address in _resolve(host, port, deadline):
        sock = socket.socket(family, kind, proto)
        try:
            deadline.watch(sock)
            sock.settimeout(deadline.left())
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            if isinstance(exc, TimeoutError) or deadline.expired():
                raise TimeoutError("connect timed out") from exc
            last = exc
    raise last if last is not None else OSError(f"no address for {host}")


def probe_endpoint(url: str, *, timeout: float = 5.0, on_error: str = "deny") -> ProbeResult:
    """GET a JSON check endpoint (legacy engine) with the headers the policy's apiCall sends,
    and decide as the policy does (``decision.for_check_answer``): restore on 200
    {"exists": true}, fresh on 200 {"exists": false}, otherwise the error decision; an
    answer that carries an "error" field is an error."""
    import json

    from kpolgen.naming import CHECK_ENDPOINT_HEADERS

    status, reason, body = _exchange(url, timeout, False, want_body=True,
                                     headers=CHECK_ENDPOINT_HEADERS, s3=False)
    try:
        answer = json.loads(body) if status is not None else None
    except ValueError:
        answer = None
    result = for_check_answer(status, answer, on_error=on_error)
    if status is not None:
        reason = _endpoint_reason(status, answer, body)
    if result == FRESH and check_answer_state(answer if status == 200 else None) is not False:
        reason += (" (restore.onCheckError is 'fresh', so the policy lets the PVC start "
                   "empty anyway)")
    return ProbeResult(result, status, url, reason)


def _endpoint_reason(status: int, answer: object, body: bytes) -> str:
    """Why the JSON check endpoint's answer decides as it does, in its own terms."""
    if status == 200:
        state = check_answer_state(answer)
        if state is True:
            return "the endpoint says a backup exists: Kyverno restores this PVC"
        if state is False:
            return "the endpoint says there is no backup: the PVC starts empty"
        if isinstance(answer, dict) and CHECK_ERROR_FIELD in answer:
            return (f"the endpoint reports an error ({_short(answer[CHECK_ERROR_FIELD])}): it "
                    "cannot tell whether a backup exists, so the policy refuses the PVC")
        return ('HTTP 200 without {"exists": true|false}: the endpoint breaks the contract '
                "(see the README's check endpoint contract)")
    if 300 <= status < 400:
        return (f"the check endpoint redirects (HTTP {status}); Kyverno does not follow "
                "redirects: point restore.check.url at the endpoint itself")
    detail = ""
    if isinstance(answer, dict) and CHECK_ERROR_FIELD in answer:
        detail = f" ({_short(answer[CHECK_ERROR_FIELD])})"
    elif body.strip():
        detail = f" ({_short(body.decode('utf-8', 'replace').strip())})"
    return (f"the check endpoint answered HTTP {status}{detail}: only a 200 with "
            '{"exists": true|false} is an answer, so the policy refuses the PVC')


def _short(value: object, limit: int = 120) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _exchange(url: str, timeout: float, bearer: bool, *, want_body: bool = False,
              headers: dict[str, str] | None = None, s3: bool = True
              ) -> tuple[int | None, str, bytes]:
    """(status or None, reason, at most MAX_BODY bytes of body). ``headers`` are sent as
    they are; ``s3`` False words failures for a service other than S3."""
    sink: list[bytes] = []
    status, reason = _request(url, timeout, bearer, want_body, sink, headers or {}, s3)
    return status, reason, sink[0] if sink else b""


def _request(url: str, timeout: float, bearer: bool, want_body: bool,
             sink: list[bytes], headers: dict[str, str], s3: bool) -> tuple[int | None, str]:
    """(status or None, reason); the body read, if any, is appended to ``sink``."""
    import http.client
    import socket
    import ssl
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return None, f"not a valid URL: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None, f"not an http(s) URL: {url!r}"
    host = parts.hostname
    https = parts.scheme == "https"
    port = port or (443 if https else 80)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    deadline = _Deadline(timeout)
    conn: http.client.HTTPConnection | None = None
    try:
        sock = _connect(host, port, deadline)
        if https:
            context = ssl.create_default_context()
            sock.settimeout(deadline.left())
            sock = context.wrap_socket(sock, server_hostname=host)
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.sock = sock
        deadline.watch(sock)
        conn.putrequest("GET", target, skip_accept_encoding=True)
        conn.putheader("Accept-Encoding", "identity")
        conn.putheader("User-Agent", "kpolgen-probe")
        if bearer:
            conn.putheader("Authorization", BEARER)
        for name, value in headers.items():
            conn.putheader(name, value)
        sock.settimeout(deadline.left())
        conn.endheaders()
        sock.settimeout(deadline.left())
        response = conn.getresponse()
        body = b""
        if want_body or response.status >= 400:
            sock.settimeout(deadline.left())  # an S3 error document, or the endpoint's JSON
            body = response.read(MAX_BODY)
        if deadline.expired():
            raise TimeoutError("deadline passed")
        sink.append(body)
        return response.status, _status_reason(response.status, response.getheader("Location"),
                                               _s3_code(body), bearer)
    except TimeoutError:
        return None, _timeout_reason(timeout)
    except socket.gaierror as exc:
        return None, (f"cannot resolve host {host!r} ({exc.strerror or exc}): from outside "
                      "the cluster use --endpoint http://<address>:<port>")
    except ConnectionRefusedError:
        port_hint = "wrong port (the S3 API, not the console)" if s3 else "wrong port"
        return None, f"connection refused: nothing listens at {where}: {port_hint} or host"
    except ssl.SSLCertVerificationError as exc:
        return None, (f"TLS: the certificate of {where} is not trusted "
                      f"({exc.verify_message or exc}): Kyverno will refuse it as well")
    except ssl.SSLError as exc:
        if deadline.expired():
            return None, _timeout_reason(timeout)
        hint = (": is it plain http? use an http:// endpoint"
                if "WRONG_VERSION_NUMBER" in str(exc) or "record layer" in str(exc) else "")
        return None, f"TLS handshake with {where} failed ({exc.reason or exc}){hint}"
    except (http.client.HTTPException, ConnectionError) as exc:
        if deadline.expired():
            return None, _timeout_reason(timeout)
        hint = (": is it https? use an https:// endpoint"
                if not https and isinstance(exc, http.client.BadStatusLine) else "")
        return None, (f"no valid HTTP answer from {where} "
                      f"({type(exc).__name__}: {exc or 'connection closed'}){hint}")
    except OSError as exc:
        if deadline.expired():
            return None, _timeout_reason(timeout)
        return None, f"request to {where} failed: {exc.strerror or exc}"
    finally:
        deadline.cancel()
        if conn is not None:
            conn.close()
        elif "sock" in locals():
            sock.close()


def _timeout_reason(timeout: float) -> str:
    return f"no answer within {timeout:g}s"


def _s3_code(body: bytes) -> str | None:
    """The <Code> of an S3 error document, if the body is one."""
    match = re.search(rb"<Code>([A-Za-z0-9.]{1,64})</Code>", body)
    return match.group(1).decode() if match else None


def _status_reason(status: int, location: str | None, code: str | None, bearer: bool) -> str:
    detail = f" (S3 error {code})" if code else ""
    if status == 200:
        return "the repository's config object exists: Kyverno restores this PVC"
    if status == 404 and code == "NoSuchBucket":
        return "the bucket does not exist (S3 error NoSuchBucket): check s3.bucket"
    if status == 404:
        return "no repository at this path" + detail + ": the PVC starts empty"
    if status == 403:
        return ("access denied" + detail + ": the anonymous-read bucket policy "
                "(bucket-policy.json from `kpolgen render -o`) is missing or does not cover "
                "this path")
    if status == 400 and bearer:
        return ("the server rejects the Bearer header that Kyverno's legacy apiCall sends"
                + detail + ": the legacy engine cannot check this server directly")
    if status == 400:
        return ("the server rejected the request as malformed" + detail + ": is the endpoint "
                "an S3 API, and does the bucket name suit its addressing style?")
    if status == 401:
        return ("the server demands authentication" + detail + ": anonymous reads are not "
                "allowed; apply bucket-policy.json from `kpolgen render -o`")
    if 300 <= status < 400:
        to = f" to {location}" if location else ""
        return (f"the server redirects{to}; redirects are not followed and count as an "
                "error: point the endpoint at the S3 API itself")
    if status >= 500:
        return f"the S3 server failed{detail}: HTTP {status} is neither 200 nor 404"
    return f"HTTP {status}{detail} is neither 200 (restore) nor 404 (fresh)"

