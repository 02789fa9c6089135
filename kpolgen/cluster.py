"""Reading live objects: from kubectl, or from saved ``kubectl get -o json`` output.

The only code that runs kubectl. Secrets are reduced as they are read: their values are
dropped (kept: the names of their keys, and a digest of RESTIC_REPOSITORY so that a wrong
repository can be told without keeping or showing it), and so are annotations and
managedFields, which can hold a copy of the data (kubectl's last-applied-configuration).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from typing import Any

from kpolgen import naming
from kpolgen.tables import clean
from kpolgen.volsync_objects import REPOSITORY_KEY, digest

RESOURCES = ("persistentvolumeclaims,replicationsources.volsync.backube,"
             "replicationdestinations.volsync.backube")
SECRET_SELECTOR = ",".join(f"{k}={v}" for k, v in naming.PART_OF.items())
TIMEOUT = 120  # seconds for each kubectl call


class ReadError(Exception):
    """The live state could not be read: ``where`` (a file, file:line:col, or the kubectl
    command) and ``message`` (why, and what to do); printed as ``WHERE: error: MESSAGE``."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: error: {message}")
        self.where, self.message = where, message


def kubectl_commands(context: str | None) -> list[list[str]]:
    """The exact kubectl invocations: every PVC and VolSync object, and only kpolgen's
    Secrets (a label selector on one multi-kind get would also filter the PVCs)."""
    base = ["kubectl"] + (["--context", context] if context else [])
    return [[*base, "get", RESOURCES, "-A", "-o", "json"],
            [*base, "get", "secrets", "-A", "-l", SECRET_SELECTOR, "-o", "json"]]


def _reduce_secret(item: dict[str, Any]) -> dict[str, Any]:
    import base64
    import binascii

    data = item.get("data") if isinstance(item.get("data"), dict) else {}
    kept: dict[str, str | None] = dict.fromkeys(data)
    raw = data.get(REPOSITORY_KEY)
    if isinstance(raw, str):
        try:
            kept[REPOSITORY_KEY] = digest(base64.b64decode(raw, validate=True).decode())
        except (binascii.Error, UnicodeDecodeError):
            kept[REPOSITORY_KEY] = None
    metadata = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
    return {"apiVersion": item.get("apiVersion"), "kind": "Secret",
            "metadata": {k: metadata[k] for k in ("name", "namespace", "labels", "uid")
                         if k in metadata},
            "type": item.get("type"), "data": kept}


def items_of(value: Any, where: str) -> list[dict[str, Any]]:
    """The objects of one ``kubectl get -o json`` List, Secrets reduced (each List is
    reduced as soon as it is parsed, before the next is read or anything looks at it)."""
    kind = value.get("kind") if isinstance(value, dict) else None
    if not (isinstance(kind, str) and kind.endswith("List")
            and isinstance(value.get("items"), list)):
        shown = f"kind {kind!r}" if isinstance(kind, str) else f"a JSON {type(value).__name__}"
        raise ReadError(where, f"expected a List from `kubectl get ... -o json`, got {shown}")
    return [_reduce_secret(item) if item.get("kind") == "Secret" else item
            for item in value["items"] if isinstance(item, dict)]


def parse(text: str, where: str) -> list[dict[str, Any]]:
    """Every List in ``text`` (one or more JSON values one after another, so the output of
    both kubectl calls can be piped in together)."""
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    position, found = 0, 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            break
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise ReadError(f"{where}:{exc.lineno}:{exc.colno}", f"not JSON: {exc.msg}") from None
        out += items_of(value, where)
        found += 1
    if not found:
        raise ReadError(where, "empty input: expected the JSON of `kubectl get ... -o json`")
    return out


def read_files(paths: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for raw in paths:
        where = "<stdin>" if raw == "-" else raw
        try:
            if raw == "-":
                text = sys.stdin.read()
            else:
                with open(raw, encoding="utf-8") as handle:
                    text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ReadError(where, f"cannot read: {reason}") from None
        out += parse(text, where)
    return out


def read_cluster(context: str | None) -> list[dict[str, Any]]:
    """Run both kubectl calls (at the same time) and return their objects."""
    commands = kubectl_commands(context)
    if shutil.which(commands[0][0]) is None:
        raise ReadError("kubectl", "not found on PATH; install it, or give the output of the "
                        "two `kubectl get ... -o json` commands (README: Day two) as INPUT")
    running: list[subprocess.Popen[bytes]] = []
    try:
        for cmd in commands:
            try:
                running.append(subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL))
            except OSError as exc:
                raise ReadError(" ".join(cmd), "cannot run kubectl: "
                                f"{exc.strerror or exc}") from None
        return [item for cmd, proc in zip(commands, running, strict=True)
                for item in _collect(cmd, proc)]
    finally:
        for proc in running:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()


def _collect(cmd: list[str], proc: subprocess.Popen[bytes]) -> list[dict[str, Any]]:
    shown = " ".join(cmd)
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ReadError(shown, f"no answer in {TIMEOUT} s") from None
    if proc.returncode != 0:
        raise ReadError(" ".join(cmd), _explain(proc.returncode, _message(stderr)))
    try:
        text = stdout.decode()
    except UnicodeDecodeError:
        raise ReadError(shown, "the output is not UTF-8") from None
    return parse(text, shown)


_KLOG = re.compile(r"[EWI]\d{4} \d\d:\d\d:\d\d\.\d+ ")


def _message(stderr: bytes) -> str:
    """kubectl's own message: its client-go log lines (which repeat one error per retry)
    only when there is nothing else."""
    lines = [clean(line) for line in stderr.decode(errors="replace").strip().splitlines()]
    said = [line for line in lines if not _KLOG.match(line)]
    return "\n".join((said or lines[-1:])[-20:])


def _explain(code: int, stderr: str) -> str:
    detail = stderr or f"exit code {code}"
    if "doesn't have a resource type" in stderr:
        return ("VolSync's CRDs are not installed in this cluster (or this is not the cluster "
                f"you meant; see --context). kubectl said: {detail}")
    return f"failed (exit code {code}): {detail}"
