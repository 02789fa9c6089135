"""The pure core: Config -> Plan -> resources -> one deterministic YAML stream."""

from __future__ import annotations

from kpolgen import __version__, engines, naming, yamlout
from kpolgen.plan import Plan
from kpolgen.resources import Resource, sort_key


def resources(plan: Plan) -> list[Resource]:
    return sorted(engines.render(plan), key=sort_key)


def one_line(text: str) -> str:
    """One comment line: anything that could end the comment or the line is escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode()
                   for ch in text)


FRESH_WARNING = (
    "!!! WARNING: restore.onCheckError is 'fresh'. When the S3 check fails (S3 down,",
    "!!! 403, 5xx, timeout) PVCs are ADMITTED EMPTY even if a backup exists.",
)


def header(plan: Plan) -> list[str]:
    """The stream's one header: version, config hash, the check and what the cluster needs
    (in a ``-o`` tree these live in the notes file instead, see ``tree``)."""
    cfg = plan.config
    lines = [
        f"# Rendered by kpolgen {__version__} (engine {plan.engine}); do not edit by hand.",
        f"# Effective config sha256: {cfg.digest}",
        f"# Restore mode: {cfg.restore.mode}; check at PVC creation: {check_text(plan)}",
    ]
    if warns_fresh(plan):
        lines += ["#", *(f"# {line}" for line in FRESH_WARNING)]
    lines += ["#", "# The cluster needs:"]
    lines += [f"# - {need}" for need in plan.requirements()]
    return [one_line(line) for line in lines]


def warns_fresh(plan: Plan) -> bool:
    return plan.config.restore.mode == "smart" and plan.config.restore.on_check_error == "fresh"


def check_text(plan: Plan) -> str:
    """The request the policies make when a labelled PVC is created."""
    if plan.checks_s3_directly:
        return "GET " + naming.check_url(plan.config).fill("<namespace>", "<pvc>")
    if plan.config.restore.mode == "smart":
        return f"GET {plan.config.restore.check_url}/<namespace>/<pvc> (JSON check endpoint)"
    return "none"


def document_text(resource: Resource) -> str:
    return yamlout.dump(resource.document)


def stream(plan: Plan, items: list[Resource] | None = None) -> str:
    items = resources(plan) if items is None else items
    head = "\n".join(header(plan)) + "\n"
    return head + "".join("---\n" + document_text(item) for item in items)
