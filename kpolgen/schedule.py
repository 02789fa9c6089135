"""Each PVC's backup schedule: the tier's schedule, with the minute (and, for tiers with an
hour window, the hour) taken from the PVC's uid so that backups do not all start at once.

The spread is computed in three places from one definition: here for ``explain``, and as
CEL and JMESPath by the policies (the legacy engine's JMESPath reads each tier's numbers from
the tier table ConfigMap, ``entry``, since its generate rules are frozen). It uses the
decimal digits of the uid (the uid's hex digits that are 0-9, in order, padded with zeros):
the first four give the minute (mod 60), the next four the offset into the hour window (mod
the window). Both policy languages can pick decimal digits out of a string and do integer
arithmetic on them (CEL: split/filter/substring/int; Kyverno >= 1.10 JMESPath:
regex_replace_all/truncate/to_number/modulo), which neither can do with hexadecimal.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from kpolgen.config.model import Config, Tier
from kpolgen.quoting import CelStringExpr, cel_string, jmespath_string

WIDTH = 4  # digits per number
PAD = "0" * (2 * WIDTH)
_NUMBER = re.compile(r"^[0-9]+$")


class Spread(NamedTuple):
    """How one tier's schedule becomes a PVC's schedule."""

    template: str  # the tier's schedule as configured
    minute: bool  # the minute field is replaced by the PVC's minute
    hour: int | None  # first hour of the window (None: the hour field is kept)
    window: int  # hours in the window
    rest: str  # the fields after the replaced ones


def for_tier(cfg: Config, tier: Tier) -> Spread:
    """Spread only a schedule whose minute is one number (and whose hour is one number for a
    window): '*/15 * * * *' or '@daily' stay as written."""
    fields = tier.schedule.split()
    if not cfg.spread or len(fields) != 5 or not _NUMBER.match(fields[0]):
        return Spread(tier.schedule, False, None, 1, tier.schedule)
    if tier.hour_window > 1 and _NUMBER.match(fields[1]):
        return Spread(tier.schedule, True, int(fields[1]), tier.hour_window, " ".join(fields[2:]))
    return Spread(tier.schedule, True, None, 1, " ".join(fields[1:]))


def digits(uid: str) -> str:
    return re.sub(r"[^0-9]", "", uid) + PAD


def fill(spread: Spread, uid: str) -> str:
    """The schedule of the PVC with this uid."""
    if not spread.minute:
        return spread.template
    d = digits(uid)
    fields = [str(int(d[:WIDTH]) % 60)]
    if spread.hour is not None:
        fields.append(str((spread.hour + int(d[WIDTH:2 * WIDTH]) % spread.window) % 24))
    return " ".join([*fields, spread.rest])


def formula(spread: Spread) -> str:
    """What ``fill`` does, in words, for a PVC whose uid is not known yet."""
    if not spread.minute:
        return f"{spread.template!r} for every PVC (not spread)"
    text = "minute = first 4 decimal digits of the PVC's uid mod 60"
    if spread.hour is not None:
        text += (f"; hour = {spread.hour} + (next 4 digits mod {spread.window}), "
                 f"i.e. {spread.hour:02d}:00-{(spread.hour + spread.window - 1) % 24:02d}:59")
    return f"{text}; then {spread.rest!r} (uid digits padded with 0)"


# --- the policies' side ----------------------------------------------------------------------
CEL_DIGITS = ("(has(object.metadata.uid) ? object.metadata.uid : '').split('')"
              f".filter(c, c >= '0' && c <= '9').join('') + {cel_string(PAD)}")
JMESPATH_DIGITS = ("join('', [regex_replace_all('[^0-9]', request.object.metadata.uid || '', ''), "
                   f"{jmespath_string(PAD)}])")


def cel(spread: Spread, digits_expr: str) -> CelStringExpr:
    if not spread.minute:
        return CelStringExpr(cel_string(spread.template))
    parts = [f"string(int({digits_expr}.substring(0, {WIDTH})) % 60)"]
    if spread.hour is not None:
        parts.append(f"string(({spread.hour} + int({digits_expr}.substring({WIDTH}, "
                     f"{2 * WIDTH})) % {spread.window}) % 24)")
    return CelStringExpr(" + ' ' + ".join(parts) + f" + {cel_string(' ' + spread.rest)}")


def entry(spread: Spread) -> dict[str, object]:
    """What ``jmespath`` reads from a tier's entry in the legacy engine's tier table."""
    return {"schedule": spread.template, "spread": spread.minute, "hour": spread.hour,
            "window": spread.window, "rest": spread.rest}


def jmespath(entry_expr: str, digits_expr: str) -> str:
    """What ``fill`` does, as Kyverno JMESPath over the tier's table entry (``entry``, read at
    run time) rather than over literals: the expression is the same for every tier and every
    schedule, so a schedule change leaves the legacy generate rule (frozen) as it is.
    JMESPath has no if/else: ``&&`` and ``||`` return an operand (a non-empty string is
    true, and so is the number 0)."""
    e = entry_expr
    number = f"to_number(truncate({digits_expr}, `{WIDTH}`))"
    offset = (f"to_number(truncate(regex_replace_all('^{'.' * WIDTH}', {digits_expr}, ''), "
              f"`{WIDTH}`))")
    hour = (f"({e}.hour != `null` && join('', [' ', to_string(modulo(add({e}.hour, "
            f"modulo({offset}, {e}.window)), `24`))])) || ''")
    return (f"({e}.spread && join('', [to_string(modulo({number}, `60`)), {hour}, ' ', "
            f"{e}.rest])) || {e}.schedule")


def any_spread(cfg: Config) -> bool:
    return any(for_tier(cfg, t).minute for t in cfg.tiers)
