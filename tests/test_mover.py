"""kpolgen.mover: the identity annotations are judged alike in Python (explain, audit), in
CEL (the guard and the generating policies) and in the legacy engine's JMESPath, for any
string a user might write."""

from __future__ import annotations

from celeval import KUBERNETES_EXTRAS, evaluate
from conftest import HOMELAB
from hypothesis import given, settings
from hypothesis import strategies as st
from kyverno_vars import search

from kpolgen import mover
from kpolgen.components import tier_table
from kpolgen.config import load

VALUES = st.one_of(st.text(max_size=14), st.from_regex(r"\A[0-9]{1,12}\Z"),
                   st.integers(-5, 2**33).map(str),
                   st.sampled_from(["2147483647", "2147483648", "0", "00", "999\n", "٩٩٩"]))


TABLE = {"t": {"runAsUser": 568, "seccompProfile": dict(mover.SECCOMP)}}
CFG, _, _ = load(HOMELAB, sets=["backup.tiers.daily.moverSecurityContext.runAsUser=999"])
TIERS = {"data": tier_table.data(CFG)}  # the legacy engine's tier table ConfigMap


@settings(max_examples=300, deadline=None)
@given(uid=st.none() | VALUES, gid=st.none() | VALUES, fsgroup=st.none() | VALUES)
def test_python_cel_and_jmespath_agree(uid: str | None, gid: str | None,
                                       fsgroup: str | None) -> None:
    given_ = {mover.UID: uid, mover.GID: gid, mover.FSGROUP: fsgroup}
    annotations = {k: v for k, v in given_.items() if v is not None}
    python = mover.problem(annotations) is None and mover.UID in annotations
    obj = {"metadata": {"annotations": annotations}}
    cel = evaluate(mover.cel_usable(), object=obj, extra_functions=KUBERNETES_EXTRAS)
    ctx = {"request": {"object": obj}, "tiers": TIERS, "seccomp": dict(mover.SECCOMP)}
    jmespath = bool(search(mover.jmespath_usable(), ctx))
    assert cel is python and jmespath is python, (annotations, python, cel, jmespath)
    refused = evaluate(f"{mover.cel_any_given()} && !({mover.cel_usable()})", object=obj,
                       extra_functions=KUBERNETES_EXTRAS)
    assert refused is (mover.problem(annotations) is not None)
    assert bool(search(mover.jmespath_any_given(), ctx)) is bool(annotations)
    want = mover.from_annotations(annotations) if python else TABLE["t"]
    cel_context = evaluate(mover.cel_context(str(TABLE).replace("True", "true"), "'t'"),
                           object=obj, extra_functions=KUBERNETES_EXTRAS)
    assert cel_context == want
    for tier in CFG.tiers:  # the legacy engine reads the tier's identity from the tier table
        legacy = search(mover.jmespath_context(f"parse_json(tiers.data.{tier.name}).mover",
                                               "seccomp"), ctx)
        assert legacy == mover.resolve(CFG, tier, annotations).context
