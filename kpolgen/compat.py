"""The one table of what works: Kyverno version x engine x restore mode.

``decide`` picks the engine for ``auto`` and returns warnings, or raises ``Refusal`` with a
reason and the alternatives. The README's compatibility matrix is generated from ``RULES``.
"""

from __future__ import annotations

from typing import NamedTuple

MIN_MINOR = 10
CEL_AUTO_FROM = 18  # first minor whose http.Get reports status codes
TESTED_MINOR = 19
API_CALL_TIMEOUT_FROM = 18  # first minor with --apiCallTimeout

# The first Kyverno minor whose ClusterPolicy CRD has each field the legacy engine writes only
# on some versions ("[]" is any list item). The one table the renderer's features
# (engines/clusterpolicy.Features) and the tests' per-version field check read. Source: the
# kyverno/kyverno CRDs (config/crds) and api/kyverno/v1/spec_types.go of the tags v1.10.0 to
# v1.13.0, quoted in the source review of the legacy engine (finding F1: admission and
# useServerSideApply appear in v1.11.0, apiCall.default and service.headers in v1.13.0).
CLUSTERPOLICY_FIELDS_SINCE: dict[str, int] = {
    "spec.admission": 11,
    "spec.useServerSideApply": 11,
    "spec.webhookConfiguration.matchConditions": 12,
    "spec.webhookConfiguration.failurePolicy": 13,
    "spec.webhookConfiguration.timeoutSeconds": 13,
    "spec.rules[].validate.failureAction": 13,
    "spec.rules[].generate.generateExisting": 13,
    "spec.rules[].generate.orphanDownstreamOnPolicyDelete": 12,
    "spec.rules[].context[].apiCall.default": 13,
    "spec.rules[].context[].apiCall.service.headers": 13,
}
ORPHAN_DOWNSTREAM_FROM = CLUSTERPOLICY_FIELDS_SINCE[
    "spec.rules[].generate.orphanDownstreamOnPolicyDelete"]
# the check endpoint's call needs apiCall.default (an endpoint failure is an answer, not a
# context error) and service.headers (no service-account token is sent)
CHECK_ENDPOINT_FROM = max(CLUSTERPOLICY_FIELDS_SINCE["spec.rules[].context[].apiCall.default"],
                          CLUSTERPOLICY_FIELDS_SINCE[
                              "spec.rules[].context[].apiCall.service.headers"])


class Rule(NamedTuple):
    engine: str
    modes: tuple[str, ...]
    minors: tuple[int, int]  # inclusive range
    outcome: str  # "refuse" | "warn"
    message: str
    check_endpoint: bool | None = None  # None: with or without restore.check.url


HTTP_BLOCKLIST = (
    "Kyverno 1.18 blocks http.Get to private addresses (10/8, 172.16/12, 192.168/16), which "
    "includes the bridge Service's ClusterIP: start the admission and background controllers "
    "with --httpBlocklist=169.254.0.0/16,127.0.0.0/8,::1/128,metadata.google.internal "
    "(Helm: admissionController.container.extraArgs.httpBlocklist and "
    "backgroundController.extraArgs.httpBlocklist), or upgrade to Kyverno 1.19"
)
NO_API_CALL_TIMEOUT = (
    f"Kyverno before 1.{API_CALL_TIMEOUT_FROM} has no --apiCallTimeout: a check endpoint that "
    "hangs holds the admission request until the webhook times out, and the PVC is refused"
)
LEGACY_SMART = (
    "restore.mode 'smart' cannot check raw S3 with the legacy ClusterPolicy engine: its apiCall "
    "reports no status code, treats 404 like any failure, needs a JSON body (restic's config "
    "object is binary) and sends an 'Authorization: Bearer' header that S3 servers reject. "
    "Alternatives: Kyverno >= 1.18 with the CEL engine (--engine cel); restore.mode 'always' "
    "(--set restore.mode=always); or a JSON check endpoint (restore.check.url, see the README)"
)

LEGACY_CHECK_ENDPOINT = (
    f"restore.mode 'smart' with a check endpoint needs Kyverno >= 1.{CHECK_ENDPOINT_FROM} on the "
    f"legacy ClusterPolicy engine: before 1.{CHECK_ENDPOINT_FROM} the ClusterPolicy CRD has no "
    "apiCall.default nor apiCall.service.headers, so a strict apply (kubectl, Argo CD) refuses "
    "the policy, and without them Kyverno sends its service-account token to the endpoint and an "
    "endpoint error breaks context loading instead of refusing the PVC with a reason. "
    "Alternatives: restore.mode 'always' (--set restore.mode=always); upgrade to Kyverno "
    f">= 1.{CHECK_ENDPOINT_FROM}; or Kyverno >= 1.{CEL_AUTO_FROM} with the CEL engine, which "
    "checks S3 directly"
)

RULES: tuple[Rule, ...] = (
    Rule("cel", ("smart", "always", "off"), (0, 16), "refuse",
         "the CEL engine needs Kyverno >= 1.17: the policies.kyverno.io/v1 kinds "
         "(MutatingPolicy, ValidatingPolicy, GeneratingPolicy) do not exist before it"),
    Rule("cel", ("smart",), (17, 17), "refuse",
         "restore.mode 'smart' with the CEL engine needs Kyverno >= 1.18: before 1.18 http.Get "
         "fails on 404 and on non-JSON bodies, so 'no backup' cannot be told from 'S3 down'. "
         "Alternatives: upgrade to Kyverno 1.18+; or restore.mode 'always'"),
    Rule("cel", ("smart",), (18, 18), "warn", HTTP_BLOCKLIST),
    Rule("cel", ("smart", "always", "off"), (0, 999), "warn",
         "restore.check.url is only used by the clusterpolicy engine; the CEL engine checks S3 "
         "directly", check_endpoint=True),
    Rule("clusterpolicy", ("smart",), (0, 999), "refuse", LEGACY_SMART, check_endpoint=False),
    Rule("clusterpolicy", ("smart",), (0, CHECK_ENDPOINT_FROM - 1), "refuse",
         LEGACY_CHECK_ENDPOINT, check_endpoint=True),
    Rule("clusterpolicy", ("smart",), (0, API_CALL_TIMEOUT_FROM - 1), "warn", NO_API_CALL_TIMEOUT,
         check_endpoint=True),
    Rule("clusterpolicy", ("smart", "always", "off"), (17, 999), "warn",
         "ClusterPolicy is deprecated since Kyverno 1.17 and planned for removal in 1.20; the "
         "CEL engine (--engine cel) renders the same behaviour with policies.kyverno.io/v1"),
)


def advice(engine: str, minor: int, mode: str, check_timeout: int) -> list[str]:
    """Version-dependent advice for the output header's "the cluster needs" (and so for
    `explain`): the one place that knows which Kyverno version has which flag or field."""
    out = []
    if engine == "cel" and minor == 18 and mode == "smart":
        out.append(HTTP_BLOCKLIST)
    if engine == "clusterpolicy" and mode == "smart":
        if minor >= API_CALL_TIMEOUT_FROM:
            out.append(f"Kyverno's --apiCallTimeout={check_timeout}s on the admission and "
                       "background controllers (Helm: admissionController.container.extraArgs."
                       "apiCallTimeout, backgroundController.extraArgs.apiCallTimeout)")
        else:
            out.append(f"a check endpoint that answers within {check_timeout}s by itself "
                       f"({NO_API_CALL_TIMEOUT})")
    if engine == "clusterpolicy":
        kept = ("the generated objects are kept (orphanDownstreamOnPolicyDelete)"
                if minor >= ORPHAN_DOWNSTREAM_FROM else
                f"Kyverno 1.{minor} deletes the generated objects with the policy and "
                "creates them again when it is back (generateExisting)")
        out.append(
            "legacy generate rules are immutable: when a change alters a generate rule's name, "
            "match, exclude, context or preconditions (schedules and retention do not: they "
            "live in the tier table ConfigMap), delete the ClusterPolicy and create it again "
            "(kubectl delete, then apply; in Argo CD annotate it with "
            "argocd.argoproj.io/sync-options: Force=true,Replace=true, because Replace=true "
            "alone runs kubectl replace, an update that Kyverno rejects); " + kept
            + (". While the restore policy is gone, labelled PVCs are neither restored nor "
               "refused (they start empty): it is safe only while no labelled PVC is being "
               "created" if mode != "off" else ""))
    return out


class Refusal(Exception):
    """A combination that cannot work; the message says why and what to do instead."""


class Decision(NamedTuple):
    engine: str
    warnings: tuple[str, ...]


def auto_engine(minor: int) -> str:
    return "cel" if minor >= CEL_AUTO_FROM else "clusterpolicy"


def decide(version: str, engine: str, mode: str, check_endpoint: bool = False) -> Decision:
    minor = int(version.split(".")[1])
    if minor < MIN_MINOR:
        raise Refusal(f"Kyverno {version} is not supported; kpolgen renders for Kyverno "
                      f">= 1.{MIN_MINOR}")
    chosen = auto_engine(minor) if engine == "auto" else engine
    warnings = []
    for rule in RULES:
        if rule.engine == chosen and mode in rule.modes and \
                rule.minors[0] <= minor <= rule.minors[1] and \
                rule.check_endpoint in (None, check_endpoint):
            text = f"Kyverno {version}, engine {chosen}: {rule.message}"
            if rule.outcome == "refuse":
                raise Refusal(text)
            warnings.append(text)
    if minor > TESTED_MINOR:
        warnings.append(f"Kyverno {version} is newer than the newest version kpolgen was "
                        f"checked against (1.{TESTED_MINOR})")
    return Decision(chosen, tuple(warnings))
