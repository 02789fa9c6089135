"""kpolgen.schedule: each PVC's minute is spread by its uid, the same way in explain, CEL
and the legacy engine's JMESPath (the policies' side is in test_cel_semantics/test_legacy)."""

from __future__ import annotations

import random
import uuid
from collections import Counter

import pytest
from conftest import HOMELAB
from hypothesis import given, settings
from hypothesis import strategies as st

from kpolgen import schedule
from kpolgen.config import load


def tier(name: str, *sets: str):
    cfg, _, _ = load(HOMELAB, sets=list(sets))
    return schedule.for_tier(cfg, next(t for t in cfg.tiers if t.name == name))


def test_minutes_are_spread_evenly_and_deterministically() -> None:
    rng = random.Random(7)
    spread = tier("hourly")
    uids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(6000)]
    minutes = Counter(int(schedule.fill(spread, uid).split()[0]) for uid in uids)
    assert set(minutes) == set(range(60))
    assert max(minutes.values()) < 2 * min(minutes.values())  # 100 expected per minute
    assert schedule.fill(spread, uids[0]) == schedule.fill(spread, uids[0])


def test_hour_window() -> None:
    spread = tier("daily", "backup.tiers.daily.hourWindow=4")
    rng = random.Random(11)
    hours = {int(schedule.fill(spread, str(uuid.UUID(int=rng.getrandbits(128), version=4)))
                 .split()[1]) for _ in range(400)}
    assert hours == {2, 3, 4, 5}
    assert "02:00-05:59" in schedule.formula(spread)


@pytest.mark.parametrize("template", ["*/15 * * * *", "0,30 * * * *", "@daily"])
def test_schedules_that_are_not_one_minute_stay_as_written(template: str) -> None:
    spread = tier("hourly", f"backup.tiers.hourly.schedule={template}")
    assert not spread.minute and schedule.fill(spread, "1234-5678") == template
    assert "not spread" in schedule.formula(spread)


def test_spread_off() -> None:
    spread = tier("daily", "backup.spread=false")
    assert schedule.fill(spread, "1234-5678") == "30 2 * * *"


def test_few_digits_are_padded() -> None:
    spread = tier("hourly")
    assert schedule.fill(spread, "") == "0 * * * *"
    assert schedule.fill(spread, "abcd-ef7") == "40 * * * *"  # '7000' mod 60


@pytest.mark.parametrize(("sets", "message"), [
    (("backup.tiers.hourly.hourWindow=3",), "'0 * * * *' has other fields"),
    (("backup.tiers.daily.hourWindow=3", "backup.spread=false"), "is not spread"),
])
def test_hour_window_needs_a_spread_hour(cli, sets, message) -> None:
    args = [a for s in sets for a in ("--set", s)]
    result = cli("validate", HOMELAB, *args)
    assert result.code == 2 and message in result.err and "hourWindow" in result.err


@settings(max_examples=200, deadline=None)
@given(uid=st.one_of(st.uuids().map(str), st.text(max_size=40)),
       minute=st.sampled_from(["7", "0", "*/15", "0,30"]), hour=st.integers(0, 23),
       window=st.integers(1, 24), spread=st.booleans(), lookup=st.booleans())
def test_python_cel_and_jmespath_agree(uid: str, minute: str, hour: int, window: int,
                                       spread: bool, lookup: bool) -> None:
    """The legacy JMESPath reads the tier from the rendered tier table ConfigMap data."""
    from celeval import KUBERNETES_EXTRAS, evaluate
    from kyverno_vars import substitute

    from kpolgen.components import tier_table

    window = window if spread and minute.isdigit() else 1  # a window needs a spread hour
    cfg, _, _ = load(HOMELAB, sets=[f"backup.spread={str(spread).lower()}",
                                    f"backup.tiers.daily.schedule={minute} {hour} * * *",
                                    f"backup.tiers.daily.hourWindow={window}"])
    spread_ = schedule.for_tier(cfg, next(t for t in cfg.tiers if t.name == "daily"))
    want = schedule.fill(spread_, uid)
    obj = {"metadata": {"uid": uid}}
    digits = evaluate(schedule.CEL_DIGITS, object=obj, extra_functions=KUBERNETES_EXTRAS)
    cel = evaluate(str(schedule.cel(spread_, "variables.d")), variables={"d": digits},
                   extra_functions=KUBERNETES_EXTRAS)
    context = {"request": {"object": obj}, "tier": "daily",
               "tiers": {"data": tier_table.data(cfg)}}
    context["spread"] = substitute("{{ " + schedule.JMESPATH_DIGITS + " }}", context)
    entry = ("parse_json(lookup(tiers.data, tier))" if lookup
             else 'parse_json(tiers.data."{{ tier }}")')
    legacy = substitute("{{ " + schedule.jmespath(entry, "spread") + " }}", context)
    assert cel == want and legacy == want
