"""What kpolgen's policies will do for one PVC: a pure function of the plan and naming, so it
can never disagree with `render` about a URL, a repository or an object name."""

from __future__ import annotations

import json
from typing import Any

from kpolgen import decision, limits, mover, naming, schedule
from kpolgen.plan import Plan


def explain(plan: Plan, namespace: str, pvc: str, label: tuple[str, str] | None,
            assumed: bool = False, uid: str | None = None,
            annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """``label`` is the PVC's backup label as (key, value), or None for an unlabelled PVC;
    ``assumed`` says the label was not given but taken from the config's first tier; ``uid``
    and ``annotations`` are the PVC's, when known (schedule, mover identity)."""
    from kpolgen.classify import REFUSED_IDENTITY, RESTORE_ONLY, Classifier

    cfg = plan.config
    labels = dict([label]) if label else {}
    tier = next((t for t in cfg.tiers if label and t.name == label[1]), None)
    # the same classification `audit` gives this PVC
    annotations = annotations or {}
    entry = Classifier(cfg, namespace).classify(
        namespace, pvc, "PersistentVolumeClaim", {"labels": labels, "annotations": annotations},
        {}, "")
    # still backed up (audit: conflict, same reason): a name the populator cannot take, and
    # a PVC whose identity annotations are refused at creation (when it exists already)
    restorable = limits.restorable(cfg, len(pvc))
    protected = entry.status == "protected" or (
        entry.status == "conflict" and entry.reason.startswith((RESTORE_ONLY, REFUSED_IDENTITY)))
    identity = mover.resolve(cfg, tier, annotations) if tier and protected else None
    reason = None if entry.status == "protected" else entry.reason
    restores = protected and plan.restores
    smart = restores and cfg.restore.mode == "smart"
    if smart and plan.checks_s3_directly:
        check_url: str | None = naming.check_url(cfg).fill(namespace, pvc)
    elif smart:
        check_url = naming.check_endpoint_url(cfg).fill(namespace, pvc)
    else:
        check_url = None
    out: dict[str, Any] = {
        "namespace": namespace,
        "pvc": pvc,
        "label": f"{label[0]}={label[1]}" if label else None,
        "assumed_label": assumed,
        "protected": protected,
        "reason": reason or "labelled with a configured tier, namespace not excluded",
        "restore_blocked": None if restorable or not restores else limits.restore_problem(cfg),
        "engine": plan.engine,
        "restore_mode": cfg.restore.mode,
        "tier": tier.name if tier and protected else None,
        "schedule": (schedule.fill(schedule.for_tier(cfg, tier), uid) if uid is not None
                     else tier.schedule) if tier and protected else None,
        "schedule_rule": schedule.formula(schedule.for_tier(cfg, tier))
        if tier and protected else None,
        "uid": uid,
        "mover": None if identity is None else {
            "security_context": identity.context, "source": identity.source,
            "refused_annotations": identity.problem},
        "retain": dict(tier.retain) if tier and protected else None,
        "check_url": check_url,
        "repository": naming.restic_repository(cfg).fill(namespace, pvc) if protected else None,
        "objects": {
            "secret": naming.secret_name(cfg).fill(namespace, pvc),
            "replication_source": naming.source_name(cfg).fill(namespace, pvc),
            "replication_destination": (naming.destination_name(cfg).fill(namespace, pvc)
                                        if restores and restorable else None),
        } if protected else None,
        "decisions": ([{"answer": "(before any check)", "decision": decision.DENY,
                        "you_see": "the PVC is refused: " + identity.problem}]
                      if restores and identity and identity.problem
                      else _decisions(plan, pvc, restorable) if restores else []),
        "requirements": plan.requirements(),
    }
    return out


def first_tier(data: dict[str, Any]) -> str:
    """The first tier as written in the config (the schema's default tiers if it sets none);
    the model keeps tiers sorted by name."""
    from kpolgen.config.schema import schema

    written = data.get("backup", {}).get("tiers") if isinstance(data.get("backup"), dict) \
        else None
    tiers = written or schema()["properties"]["backup"]["properties"]["tiers"]["default"]
    return str(next(iter(tiers)))


def _decisions(plan: Plan, pvc: str, restorable: bool) -> list[dict[str, str]]:
    cfg = plan.config
    rd = naming.destination_name(cfg).fill("", pvc)
    restored = (f"spec.dataSourceRef points at ReplicationDestination {rd}; VolSync restores "
                "the newest backup, then the PVC binds and the app starts with its data")
    on_error = cfg.restore.on_check_error
    if not restorable:  # the guard refuses what it cannot restore; fresh-on-error starts empty
        refused = decision.DENY if on_error == "deny" or cfg.restore.mode == "always" \
            else decision.FRESH
        restored = ("the PVC is refused: its name is too long to restore (see above)"
                    if refused == decision.DENY else "the PVC starts empty (restore.onCheckError:"
                    " fresh): its name is too long to restore (see above)")
    else:
        refused = decision.RESTORE
    if cfg.restore.mode == "always":
        return [{"answer": "(no check)", "decision": refused,
                 "you_see": restored + (" (a PVC with no backup restores empty)"
                                        if restorable else "")}]
    denied = ("the PVC is refused with a message naming it, the URL and the answer; Argo CD "
              "retries until the check can tell")
    error_outcome = decision.for_status(None, on_error=on_error)
    error_text = denied if error_outcome == decision.DENY else \
        "the PVC starts empty (restore.onCheckError: fresh), even if a backup exists"
    if plan.checks_s3_directly:
        return [
            {"answer": f"HTTP {decision.FOUND} (found)", "decision": refused,
             "you_see": restored},
            *([{"answer": f"HTTP {decision.NOT_FOUND}, and the root marker "
                          f"{naming.root_marker_url(cfg)} names this bucket and prefix",
                "decision": decision.FRESH, "you_see": "a new, empty PVC"},
               {"answer": f"HTTP {decision.NOT_FOUND}, and the root marker is missing or "
                          "names another bucket or prefix",
                "decision": decision.DENY,
                "you_see": denied + " (a wrong bucket or prefix also answers 404)"}]
              if plan.uses_root_marker else
              [{"answer": f"HTTP {decision.NOT_FOUND} (not found)", "decision": decision.FRESH,
                "you_see": "a new, empty PVC"}]),
            {"answer": "anything else: 403, 5xx, timeout, refused", "decision": error_outcome,
             "you_see": error_text},
        ]
    return [
        {"answer": '200 {"exists": true}', "decision": refused, "you_see": restored},
        {"answer": '200 {"exists": false}', "decision": decision.FRESH,
         "you_see": "a new, empty PVC"},
        {"answer": f'anything else: an "{decision.CHECK_ERROR_FIELD}" field, another status, '
                   "timeout, refused", "decision": error_outcome, "you_see": error_text},
    ]


def as_text(info: dict[str, Any]) -> str:
    labelled = f"labelled {info['label']}" if info["label"] else "with no backup label"
    lines = [f"PVC {info['namespace']}/{info['pvc']} {labelled}"
             + (" (the config's first tier, assumed; pass --label or --unlabelled)"
                if info["assumed_label"] else "")]
    if not info["protected"]:
        lines.append(f"  not protected: {info['reason']}")
        return "\n".join(lines) + "\n"
    objects = info["objects"]
    retain = ", ".join(f"{k} {v}" for k, v in info["retain"].items())
    lines += [
        f"  engine {info['engine']}, restore mode {info['restore_mode']}",
        f"  tier:        {info['tier']}: keep {retain}",
        f"  schedule:    {_schedule_text(info)}",
        f"  mover:       {_mover_text(info['mover'])}",
        f"  repository:  {info['repository']}",
        f"  check:       {'GET ' + info['check_url'] if info['check_url'] else 'none'}",
        f"  objects:     Secret {objects['secret']}, ReplicationSource "
        f"{objects['replication_source']}"
        + (f", ReplicationDestination {objects['replication_destination']}"
           if objects["replication_destination"] else ""),
    ]
    if info["restore_blocked"]:
        lines.append(f"  not restored: {info['restore_blocked']}")
    if info["decisions"]:
        lines.append("  at creation:")
        lines += [f"    {d['answer']}: {d['decision']}: {d['you_see']}" for d in info["decisions"]]
    lines.append("  the cluster needs:")
    lines += [f"    - {need}" for need in info["requirements"]]
    return "\n".join(lines) + "\n"


def _mover_text(identity: dict[str, Any]) -> str:
    context = identity["security_context"]
    if context is None:
        return identity["source"]
    who = ", ".join(f"{k} {v}" for k, v in context.items() if k != "seccompProfile")
    text = f"{who or 'no user set'}, seccomp RuntimeDefault; from {identity['source']}"
    if identity["refused_annotations"]:
        text += f"; annotations ignored: {identity['refused_annotations']}"
    return text


def _schedule_text(info: dict[str, Any]) -> str:
    rule = info["schedule_rule"]
    if info["uid"] is not None:
        return f"{info['schedule']!r} for uid {info['uid']} ({rule})"
    if "not spread" in rule:
        return rule
    return f"from the template {info['schedule']!r}: {rule} (pass --uid for this PVC's)"


def as_json(info: dict[str, Any]) -> str:
    return json.dumps(info, indent=2) + "\n"


def _m(text: str) -> str:
    """A quoted Mermaid label: quotes and angle brackets as entities."""
    return '"' + (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
                  .replace(">", "#gt;")) + '"'


def as_mermaid(info: dict[str, Any]) -> str:
    title = (f"PVC {info['namespace']}/{info['pvc']} created, "
             + (info["label"] or "no backup label"))
    lines = ["flowchart TD", f"  pvc[{_m(title)}]"]
    if not info["protected"]:
        lines.append(f"  pvc --> skip[{_m('untouched: ' + info['reason'])}]")
        return "\n".join(lines) + "\n"
    objects = info["objects"]
    backup = _m(f"ReplicationSource {objects['replication_source']}: {info['schedule']}")
    if info["decisions"] and info["check_url"]:
        lines.append(f"  pvc --> check{{{_m('GET ' + info['check_url'])}}}")
        for i, row in enumerate(info["decisions"]):
            outcome = _m(f"{row['decision']}: {row['you_see']}")
            lines.append(f"  check -- {_m(row['answer'])} --> d{i}[{outcome}]")
            if row["decision"] != "deny":
                lines.append(f"  d{i} --> backup")
    elif info["decisions"]:
        row = info["decisions"][0]
        lines.append(f"  pvc --> d0[{_m(row['decision'] + ': ' + row['you_see'])}]")
        lines.append("  d0 --> backup")
    else:
        lines.append("  pvc --> backup")
    lines.append(f"  backup[{backup}] --> s3[({_m(info['repository'])})]")
    return "\n".join(lines) + "\n"


FORMATS = {"text": as_text, "json": as_json, "mermaid": as_mermaid}
