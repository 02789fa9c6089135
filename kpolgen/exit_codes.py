"""What each exit code means, per command: the source of every `--help` epilog (kpolgen.cli)
and of the README's table (kpolgen.docs). Code 3 for a write error or an internal error
(``ANY_COMMAND``) applies to every command."""

from __future__ import annotations

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_OUTPUT = 0, 1, 2, 3

INVALID = "invalid config, usage error or refused combination"
EXIT_CODES: dict[str, dict[int, str]] = {
    "render": {0: "rendered (with --check: DIR is up to date)",
               1: "--check: DIR is out of date (the diff is printed)",
               2: f"{INVALID}; -o names a file, not a directory",
               3: "-o DIR would replace a file kpolgen did not write (see --force; nothing is "
                  "written), or a file in DIR cannot be written"},
    "validate": {0: "the config is valid (warnings on stderr)", 2: INVALID},
    "lint": {0: "no finding at or above --fail-on",
             1: "findings at or above --fail-on (default error; a file that does not parse is "
                "a KP000 error)",
             2: f"{INVALID}; a PATH that does not exist; an unknown rule ID in a "
                "'# kpolgen: disable=' comment"},
    "audit": {0: "no volume has a status listed in --fail-on",
              1: "a volume has a status listed in --fail-on, or a file did not parse and "
                 "--fail-on lists 'unreadable'",
              2: f"{INVALID}; a PATH that does not exist; no Kubernetes object in the input"},
    "status": {0: "no PVC or object has a status listed in --fail-on",
               1: "a PVC or object has a status listed in --fail-on",
               2: f"{INVALID}; kubectl missing or failing (wrong context, VolSync's CRDs not "
                  "installed); INPUT that is not the JSON List `kubectl get -o json` prints"},
    "explain": {0: "explained", 2: f"{INVALID}; an invalid --namespace or --pvc name"},
    "probe": {0: "restore or fresh, or no request is made (restore.mode always/off, an "
                 "excluded namespace)",
              1: "deny",
              2: f"{INVALID}; an invalid --namespace, --pvc or --endpoint"},
    "init": {0: "written", 2: "the file exists (see --force), or a usage error",
             3: "the file cannot be written"},
    "schema": {0: "printed"},
}
ANY_COMMAND = {3: "the output cannot be written (a full disk, a closed pipe) or an internal "
                  "error (reported without a traceback; KPOLGEN_DEBUG=1 shows it)",
               130: "interrupted (Ctrl-C)"}


