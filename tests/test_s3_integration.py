"""`kpolgen probe` against real components: moto's S3 server on loopback, a repository
written by the real `restic`, and the bucket policy kpolgen renders.

moto (in server mode, without IAM authentication, its default) accepts any signature, so
restic can write with dummy keys, and it still enforces access for *anonymous* requests:
an unsigned GET of an existing object is refused with 403 unless the bucket policy allows
it (moto.s3.responses `_key_response`). That is exactly the check kpolgen's policies make.
Turning moto's IAM authentication on (INITIAL_NO_AUTH_ACTION_COUNT=0) would break the
anonymous case instead: it then requires an Authorization header on every request.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import HOMELAB

pytest.importorskip("moto.server", reason="moto[server] is not installed (pip install "
                    "'moto[server]')")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (it comes with moto)")
RESTIC = shutil.which("restic")
if RESTIC is None:
    pytest.skip("restic is not installed (apt-get install restic)", allow_module_level=True)

BUCKET = "volsync-backups"  # examples/homelab.yaml
PRIVATE_BUCKET = "volsync-private"  # the same layout without the bucket policy
UNMARKED_BUCKET = "volsync-unmarked"  # bucket policy and a repository, no root marker
FOREIGN_BUCKET = "volsync-foreign"  # holds the marker rendered for another bucket
KEYS = {"AWS_ACCESS_KEY_ID": "kpolgen-test", "AWS_SECRET_ACCESS_KEY": "kpolgen-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Moto:
    """`moto_server` as a subprocess on 127.0.0.1."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = (tmp / f"moto-{self.port}.log").open("wb")
        env = {k: v for k, v in os.environ.items() if k != "INITIAL_NO_AUTH_ACTION_COUNT"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise

    def _wait(self, limit: float = 20.0) -> None:
        import http.client

        end = time.monotonic() + limit
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}: "
                                   f"{Path(self.log.name).read_text()[-2000:]}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                conn.request("GET", "/moto-api/")
                if conn.getresponse().status < 500:
                    return
            except OSError:
                time.sleep(0.05)
            finally:
                conn.close()
        raise RuntimeError(f"moto_server did not answer on port {self.port} within {limit}s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint,
                            aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"],
                            region_name=KEYS["AWS_DEFAULT_REGION"])


def restic(repository: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), **KEYS,
           "RESTIC_REPOSITORY": repository, "RESTIC_PASSWORD": "kpolgen-test-password"}
    proc = subprocess.run([RESTIC, "--no-cache", *args], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, f"restic {' '.join(args)} failed:\n{proc.stderr}"
    return proc


def repository_for(endpoint: str, namespace: str, pvc: str, *sets: str) -> str:
    """RESTIC_REPOSITORY as kpolgen renders it, with moto in place of the bridge."""
    from kpolgen import naming
    from kpolgen.config import load

    cfg, _doc, _warnings = load(HOMELAB, list(sets))
    repository = naming.restic_repository(cfg).fill(namespace, pvc)
    inside = "s3:" + naming.endpoint(cfg)
    assert repository.startswith(inside + "/")
    return "s3:" + endpoint + repository[len(inside):]


@pytest.fixture(scope="module")
def s3(tmp_path_factory, module_cli):
    """moto with two buckets holding a restic repository for apps/data: `volsync-backups`
    with kpolgen's bucket policy, `volsync-private` without one."""
    tmp = tmp_path_factory.mktemp("s3")
    moto = Moto(tmp)
    try:
        client = moto.client()
        for bucket in (BUCKET, PRIVATE_BUCKET, UNMARKED_BUCKET, FOREIGN_BUCKET):
            client.create_bucket(Bucket=bucket)
        for bucket in (BUCKET, UNMARKED_BUCKET, FOREIGN_BUCKET):
            # what `render -o` writes for this bucket: its policy, and the marker uploaded
            rendered = tmp / f"rendered-{bucket}"
            result = module_cli("render", HOMELAB, "-o", rendered, "--set", f"s3.bucket={bucket}")
            assert result.code == 0, result.err
            client.put_bucket_policy(Bucket=bucket,
                                     Policy=(rendered / "bucket-policy.json").read_text())
        marker = (tmp / f"rendered-{BUCKET}" / "kpolgen-root.json").read_bytes()
        client.put_object(Bucket=BUCKET, Key="kpolgen-root.json", Body=marker)
        client.put_object(Bucket=FOREIGN_BUCKET, Key="kpolgen-root.json", Body=marker)

        data = tmp / "pvc-data"
        data.mkdir()
        (data / "hello.txt").write_text("kpolgen integration test\n")
        for bucket in (BUCKET, PRIVATE_BUCKET, UNMARKED_BUCKET):
            repo = repository_for(moto.endpoint, "apps", "data", f"s3.bucket={bucket}")
            restic(repo, tmp, "init")
            restic(repo, tmp, "backup", "--host", "test", str(data))
        yield moto
    finally:
        moto.stop()


@pytest.fixture(scope="module")
def module_cli():
    from conftest import Result

    from kpolgen.__main__ import main

    def run(*args):
        # module scope cannot use capsys; the commands used here write files or JSON
        import contextlib
        import io

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
        return Result(code, out.getvalue(), err.getvalue())

    return run


def probe(cli, endpoint: str, pvc: str = "data", *sets: str):
    args = ["probe", HOMELAB, "--namespace", "apps", "--pvc", pvc, "--endpoint", endpoint,
            "--format", "json", "--timeout", "5"]
    for item in sets:
        args += ["--set", item]
    result = cli(*args)
    return result, json.loads(result.out)


def test_restic_wrote_the_repository_kpolgen_checks(s3):
    keys = {o["Key"] for o in s3.client().list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "apps/data/config" in keys
    assert any(k.startswith("apps/data/snapshots/") for k in keys)


def test_an_existing_repository_is_restored(cli, s3):
    result, data = probe(cli, s3.endpoint)
    assert result.code == 0, result.err
    assert data == {"decision": "restore", "status": 200,
                    "url": f"{s3.endpoint}/{BUCKET}/apps/data/config",
                    "reason": "the repository's config object exists: Kyverno restores "
                              "this PVC", "marker": None}


def test_a_pvc_without_a_repository_starts_fresh(cli, s3):
    result, data = probe(cli, s3.endpoint, "other")
    assert result.code == 0, result.err
    assert (data["decision"], data["status"]) == ("fresh", 404)
    assert data["url"] == f"{s3.endpoint}/{BUCKET}/apps/other/config"
    assert data["marker"]["url"] == f"{s3.endpoint}/{BUCKET}/kpolgen-root.json"
    assert data["marker"]["status"] == 200


def test_a_repository_is_restored_even_without_the_marker(cli, s3):
    result, data = probe(cli, s3.endpoint, "data", f"s3.bucket={UNMARKED_BUCKET}")
    assert (result.code, data["decision"], data["marker"]) == (0, "restore", None)


@pytest.mark.parametrize(("bucket", "marker_status", "needle"), [
    pytest.param(UNMARKED_BUCKET, 404, "marker is missing (S3 error NoSuchKey)", id="marker-absent"),
    pytest.param(FOREIGN_BUCKET, 200, "bucket 'volsync-backups', prefix ''", id="marker-foreign"),
    pytest.param("volsync-typo", 404, "does not exist (S3 error NoSuchBucket)", id="bucket-absent"),
])
def test_a_404_that_cannot_be_trusted_is_denied(cli, s3, bucket, marker_status, needle):
    result, data = probe(cli, s3.endpoint, "other", f"s3.bucket={bucket}")
    assert result.code == 1
    assert (data["decision"], data["status"]) == ("deny", 404)
    assert data["marker"]["url"] == f"{s3.endpoint}/{bucket}/kpolgen-root.json"
    assert data["marker"]["status"] == marker_status
    assert needle in data["marker"]["reason"]


def test_the_marker_with_a_prefix(cli, s3):
    """A marker at the bucket root does not prove a prefix: each repository root has its own."""
    result, data = probe(cli, s3.endpoint, "other", "s3.prefix=k8s/prod")
    assert (result.code, data["decision"]) == (1, "deny")
    assert data["marker"]["url"] == f"{s3.endpoint}/{BUCKET}/k8s/prod/kpolgen-root.json"


def test_without_the_bucket_policy_the_check_is_denied(cli, s3):
    assert "apps/data/config" in {o["Key"] for o in s3.client().list_objects_v2(
        Bucket=PRIVATE_BUCKET)["Contents"]}
    result, data = probe(cli, s3.endpoint, "data", f"s3.bucket={PRIVATE_BUCKET}")
    assert result.code == 1
    assert (data["decision"], data["status"]) == ("deny", 403)
    assert "bucket-policy.json" in data["reason"]


def test_the_bucket_policy_opens_config_objects_only(s3):
    """Anonymous GETs of the repository's other objects (keys, snapshots, data) are refused.
    (Anonymous bucket listing is not checked: moto does not enforce it.)"""
    import http.client

    keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket=BUCKET)["Contents"]]
    others = [k for k in keys if not k.endswith("/config") and k != "kpolgen-root.json"]
    assert others
    conn = http.client.HTTPConnection("127.0.0.1", s3.port, timeout=5)
    try:
        for key in others:
            conn.request("GET", f"/{BUCKET}/{key}")
            response = conn.getresponse()
            response.read()
            assert response.status == 403, (key, response.status)
    finally:
        conn.close()


def test_a_stopped_server_is_denied(cli, tmp_path):
    moto = Moto(tmp_path)
    try:
        _result, before = probe(cli, moto.endpoint)
        assert before["status"] == 404  # answering (no such bucket)
    finally:
        moto.stop()
    result, data = probe(cli, moto.endpoint)
    assert result.code == 1
    assert (data["decision"], data["status"]) == ("deny", None)
    assert data["reason"].startswith("connection refused: nothing listens at 127.0.0.1:")
