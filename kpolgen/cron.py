"""How far apart the runs of a VolSync schedule are.

VolSync reads ``spec.trigger.schedule`` with robfig/cron v3's standard parser: five fields
(minute, hour, day of month, month, day of week), ``*``, ``*/n``, ``n/m`` (n to the end, step
m), ``a-b``, lists, and the ``@hourly``-style descriptors. Day of month and day of week are
alternatives (either may match) only when neither is ``*`` (a ``*/n`` with n > 1 counts as
restricted, as in robfig). ``kpolgen status`` uses the longest gap between two runs to decide
when a backup is overdue.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools

DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
               "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
               "@hourly": "0 * * * *"}
# the five fields and the values robfig's standard parser accepts (Sunday is 0 only)
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
          ("day of week", 0, 6))
# 2024-01-01 + 8 years covers every weekday/leap-day combination a schedule can wait for
# (29 February on a given weekday repeats within 28 years, but its gap is at most 8 years).
_START = dt.date(2024, 1, 1)
_DAYS = 366 * 8 + 7


class CronError(ValueError):
    """A schedule robfig/cron would not accept."""


def problems(expr: str) -> list[str]:
    """What robfig/cron v3's standard parser (VolSync) refuses in a schedule that already
    matches VolSync's CRD pattern (numbers, lists, ranges, steps, descriptors), in words; and a
    schedule that never runs (e.g. 31 February), which VolSync accepts and never backs up."""
    if expr.startswith("@"):
        return []
    fields = expr.split()
    if len(fields) != 5:
        return [f"expected 5 cron fields, got {len(fields)}"]
    found = []
    for text, (name, low, high) in zip(fields, FIELDS, strict=True):
        for part in text.split(","):
            span, _, step = part.partition("/")
            if step and int(step) == 0:
                found.append(f"{name} step must not be 0")
            if span == "*":
                continue
            start, _, end = span.partition("-")
            numbers = [int(start)] + ([int(end)] if end else [])
            found += [f"{name} {n} is outside {low}-{high}" for n in numbers
                      if not low <= n <= high]
            if end and int(start) > int(end):
                found.append(f"{name} range {span} ends before it starts")
    try:
        never = not found and longest_gap(expr) is None
    except CronError as exc:  # a form the checks above let through: say what robfig says
        return [str(exc)]
    if never:
        found.append("it never runs (no date matches its day of month, month and day of week)")
    return found


def _field(text: str, low: int, high: int) -> tuple[frozenset[int], bool]:
    """(values, star): star when the field is an unrestricted ``*`` (robfig's starBit)."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"bad step in {text!r}")
            step = int(step_text)
        if span in ("*", "?"):
            start, end = low, high
            star = star or step == 1
        else:
            first, dash, last = span.partition("-")
            if not first.isdigit() or (dash and not last.isdigit()):
                raise CronError(f"bad field {text!r}")
            start = int(first)
            end = int(last) if dash else (high if step_text else start)  # 'n/m': n to the end
        if not low <= start <= end <= high:
            raise CronError(f"{text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values), star


@functools.cache
def longest_gap(schedule: str) -> dt.timedelta | None:
    """The longest time between two consecutive runs; None when it never runs."""
    expr = DESCRIPTORS.get(schedule.strip(), schedule)
    fields = expr.split()
    if len(fields) != 5:
        raise CronError(f"expected 5 fields, got {len(fields)}")
    parsed = [_field(text, low, high)
              for text, (_name, low, high) in zip(fields, FIELDS, strict=True)]
    (minutes, _), (hours, _), (doms, dom_star), (months, _), (dows, dow_star) = parsed
    times = sorted(h * 60 + m for h in hours for m in minutes)
    longest = max((b - a for a, b in itertools.pairwise(times)), default=0)
    previous = None
    for offset in range(_DAYS):
        day = _START + dt.timedelta(days=offset)
        if day.month not in months:
            continue
        dom_ok, dow_ok = day.day in doms, (day.isoweekday() % 7) in dows
        if not ((dom_ok and dow_ok) if dom_star or dow_star else (dom_ok or dow_ok)):
            continue
        if previous is not None:
            longest = max(longest, (offset - previous) * 1440 - times[-1] + times[0])
        previous = offset
    if previous is None:
        return None
    if longest == 0:  # runs on one day in eight years at most once: not a real schedule
        return None
    return dt.timedelta(minutes=longest)
