"""cron.longest_gap: the longest time between two runs of a VolSync (robfig/cron v3) schedule."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpolgen.cron import CronError, longest_gap

H, D = dt.timedelta(hours=1), dt.timedelta(days=1)


@pytest.mark.parametrize(("schedule", "gap"), [
    ("0 * * * *", H),
    ("30 2 * * *", D),
    ("*/15 * * * *", dt.timedelta(minutes=15)),
    ("5/20 * * * *", dt.timedelta(minutes=20)),  # 5, 25, 45: then 20 to the next hour's 5
    ("0 0,12 * * *", 12 * H),
    ("0 1-5/2 * * *", 20 * H),  # 1, 3, 5, then 1 the next day
    ("0 2 * * 0", 7 * D),
    ("0 2 * * 1-5", 3 * D),  # Friday to Monday
    ("0 0 1 * *", 31 * D),
    ("0 0 1 * 1", 7 * D),  # both restricted: either matches (robfig, like Vixie cron)
    ("0 0 */2 * 1", 2 * D),  # */2 with a step is restricted too: odd days OR Mondays
    ("0 0 */1 * 1", 7 * D),  # */1 is "*": every Monday
    ("0 0 * * */2", 2 * D),  # Sun, Tue, Thu, Sat
    ("0 0 * * 1/2", 3 * D),  # 'n/m' runs to the end (Saturday): Mon, Wed, Fri, then Mon
    ("0 0 29 2 *", 1461 * D),
    ("@hourly", H), ("@daily", D), ("@weekly", 7 * D), ("@monthly", 31 * D),
    ("@yearly", 366 * D),
])
def test_known_schedules(schedule, gap):
    assert longest_gap(schedule) == gap


def test_never_runs():
    assert longest_gap("0 0 30 2 *") is None


@pytest.mark.parametrize("schedule", ["0 * * *", "60 * * * *", "0 0 * * 7", "0 24 * * *", "* * 0 * *",
                                      "*/0 * * * *", "a * * * *", "5-1 * * * *"])
def test_refused(schedule):
    with pytest.raises(CronError):
        longest_gap(schedule)


def _matches(field: str, value: int, low: int, high: int) -> bool:
    """One field, read directly from the cron grammar (independent of kpolgen.cron)."""
    for part in field.split(","):
        span, _, step = part.partition("/")
        start, end = (low, high) if span == "*" else (
            (int(span.split("-")[0]), int(span.split("-")[1])) if "-" in span else
            (int(span), high if step else int(span)))
        if start <= value <= end and (value - start) % int(step or 1) == 0:
            return True
    return False


def _brute_force(schedule: str, days: int) -> dt.timedelta | None:
    minute, hour, dom, month, dow = schedule.split()
    start = dt.datetime(2024, 1, 1)
    runs = []
    for offset in range(days * 1440):
        t = start + dt.timedelta(minutes=offset)
        if not (_matches(minute, t.minute, 0, 59) and _matches(hour, t.hour, 0, 23)
                and _matches(month, t.month, 1, 12)):
            continue
        by_dom = _matches(dom, t.day, 1, 31)
        by_dow = _matches(dow, t.isoweekday() % 7, 0, 6)
        unrestricted = dom in ("*", "*/1") or dow in ("*", "*/1")
        if (by_dom and by_dow) if unrestricted else (by_dom or by_dow):
            runs.append(t)
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    return max(gaps) if gaps else None


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        st.integers(1, 12).map(lambda s: f"*/{s}"),
        number.map(str),
        st.lists(number, min_size=1, max_size=3, unique=True).map(
            lambda xs: ",".join(map(str, sorted(xs)))),
        st.tuples(number, number).map(lambda ab: f"{min(ab)}-{max(ab)}"),
        st.tuples(number, st.integers(1, 9)).map(lambda ab: f"{ab[0]}/{ab[1]}"),
    )


@settings(max_examples=20, deadline=None)
@given(minute=_field(0, 59), hour=_field(0, 23), dow=st.one_of(st.just("*"), _field(0, 6)))
def test_agrees_with_brute_force(minute, hour, dow):
    """Any minute/hour/weekday schedule: its longest gap is at most a week, so two weeks
    minute by minute see it."""
    schedule = f"{minute} {hour} * * {dow}"
    assert longest_gap(schedule) == _brute_force(schedule, 15)
