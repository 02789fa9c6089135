"""A small, canonical YAML emitter for plain data (dict, list, str, int, bool, None).

One way to write every value, independent of template whitespace, so output is byte-for-byte
deterministic. Strings are written plain only when no YAML 1.1 or 1.2 reader can take them
for anything else; otherwise double-quoted with JSON escapes (valid YAML), or as a literal
block when they span lines. Mapping keys keep their insertion order: the renderers decide it.
"""

from __future__ import annotations

import re
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_RESERVED = {
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", ".nan", ".inf",
}
_BLOCK_SAFE = re.compile(r"^[\t\n\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*$")


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise TypeError("floats are not emitted; render quantities as strings")
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"cannot emit {type(value).__name__}")


def quote(text: str) -> str:
    if _PLAIN.match(text) and text.lower() not in _RESERVED and len(text) <= 200:
        return text
    return _double(text)


_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_NEEDS_ESCAPE = re.compile(r'[^\x20-\x7e]|["\\]')


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[ch]
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _double(text: str) -> str:
    """A double-quoted scalar in printable ASCII: YAML escapes for everything else."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _block_ok(text: str) -> bool:
    if "\n" not in text or "\r" in text or not _BLOCK_SAFE.match(text):
        return False
    lines = text.split("\n")
    if text.endswith("\n"):
        lines = lines[:-1]
        if lines and lines[-1] == "":
            return False
    if not lines or lines[0][:1] in (" ", "\t") or lines[0] == "":
        return False
    return all(line == line.rstrip(" \t") for line in lines)


def _string_lines(text: str, indent: int) -> list[str] | None:
    if not _block_ok(text):
        return None
    chomp = "|" if text.endswith("\n") else "|-"
    body = text[:-1] if text.endswith("\n") else text
    pad = " " * indent
    return [chomp] + [(pad + line) if line else "" for line in body.split("\n")]


def _emit_entry(item: Any, child_indent: int, out: list[str], head: str) -> None:
    """Write ``head`` (``key:`` or ``-``) followed by ``item``; nested lines use child_indent."""
    if isinstance(item, str):
        block = _string_lines(item, child_indent)
        if block:
            out.append(f"{head} {block[0]}")
            out.extend(block[1:])
        else:
            out.append(f"{head} {quote(item)}")
    elif isinstance(item, dict):
        if item:
            out.append(head)
            _emit_mapping_body(item, child_indent, out)
        else:
            out.append(f"{head} {{}}")
    elif isinstance(item, list):
        if item:
            out.append(head)
            _emit_sequence_body(item, child_indent, out)
        else:
            out.append(f"{head} []")
    else:
        out.append(f"{head} {scalar(item)}")


MAX_KEY = 1000  # YAML limits implicit keys to 1024 characters


def _key(key: str) -> str:
    text = quote(key)
    if len(text) > MAX_KEY:
        raise ValueError(f"mapping key longer than {MAX_KEY} characters")
    return text


def _emit_mapping_body(mapping: dict[str, Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for key, item in mapping.items():
        _emit_entry(item, indent + 2, out, f"{pad}{_key(key)}:")


def _emit_sequence_body(items: list[Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            keys = list(item.items())
            k0, v0 = keys[0]
            _emit_entry(v0, indent + 4, out, f"{pad}- {_key(k0)}:")
            for key, value in keys[1:]:
                _emit_entry(value, indent + 4, out, f"{pad}  {_key(key)}:")
        else:
            _emit_entry(item, indent + 2, out, f"{pad}-")


def dump(document: dict[str, Any]) -> str:
    """One document as YAML text (no '---'), ending in a newline."""
    out: list[str] = []
    _emit_mapping_body(document, 0, out)
    return "\n".join(out) + "\n"


def flow(value: Any) -> str:
    """A value on one line: scalars as ``scalar``, collections in YAML flow style."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{quote(str(k))}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, str) and "\n" in value:
        return _double(value)
    return scalar(value)
