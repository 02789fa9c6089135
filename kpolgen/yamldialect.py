"""The YAML kpolgen reads in manifests (``audit``, ``lint``): one loader configuration.

Kubernetes reads manifests as YAML 1.1 (sigs.k8s.io/yaml), and so does PyYAML, whose C
parser (libyaml) is the fastest at hand. On top of PyYAML's safe loader this accepts what
real repositories hold and the safe loader refuses:

- the plain scalar ``=`` (YAML 1.1 resolves it to the ``value`` type, which has no
  constructor): read as the string ``"="``;
- custom tags (``!secret``, ``!include``, ``!env_var``: Home Assistant, ESPHome, mkdocs):
  read as the untagged scalar, list or mapping;
- a redefined anchor (an alias means the latest definition, as in libyaml's emitter and
  go-yaml): libyaml's composer refuses it, so a stream that redefines one is composed again
  by PyYAML's Python composer over the same C parser, from the document where it failed.

``=`` and tags cost nothing on the fast path; only a stream that redefines an anchor pays
for the slower composer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

WITH_LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))


def _untagged(loader: Any, node: Node) -> Any:
    """Any tag without a constructor of its own: the value as if untagged (not resolved
    again: a tagged scalar stays a string)."""
    if isinstance(node, ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, MappingNode):
        return loader.construct_mapping(node, deep=True)
    return None  # pragma: no cover - every node is one of the three


def _equals(loader: Any, node: Node) -> Any:
    return loader.construct_scalar(node)


class _AnchorsRedefinable(Composer):
    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if not isinstance(event, AliasEvent) and event.anchor is not None:
            self.anchors.pop(event.anchor, None)
        return super().compose_node(parent, index)


if WITH_LIBYAML:
    from yaml._yaml import CParser

    class Loader(yaml.CSafeLoader):
        """The fast path: libyaml parses and composes."""

    class TolerantLoader(_AnchorsRedefinable, yaml.constructor.SafeConstructor,
                         yaml.resolver.Resolver, CParser):
        """libyaml's events, PyYAML's Python composer (which lets an anchor be redefined)."""

        def __init__(self, stream: Any) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
else:  # pragma: no cover - PyYAML built without libyaml
    class Loader(yaml.SafeLoader):  # type: ignore[no-redef]
        pass

    class TolerantLoader(_AnchorsRedefinable, yaml.SafeLoader):  # type: ignore[no-redef]
        pass

for _cls in (Loader, TolerantLoader):
    _cls.add_constructor("tag:yaml.org,2002:value", _equals)
    _cls.add_constructor(None, _untagged)


class YamlError(Exception):
    """Text that is not YAML: where (1-based line and column) and why, on one line."""

    def __init__(self, line: int, col: int, problem: str) -> None:
        super().__init__(f"{line}:{col}: {problem}")
        self.line, self.col, self.problem = line, col, problem


def _error(exc: Exception) -> YamlError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return YamlError(line, col, " ".join(str(problem).split())[:200])


def _redefined_anchor(exc: Exception) -> bool:
    return isinstance(exc, yaml.composer.ComposerError) and "duplicate anchor" in str(exc)


class Composed(NamedTuple):
    node: Node
    loader: Any  # constructs the node's values (PyYAML's loader is its own constructor)


def compose(text: Any) -> Iterator[Composed]:
    """Each document's root node (empty documents skipped), in order; raises YamlError."""
    done = 0
    for cls in (Loader, TolerantLoader):
        loader = cls(text)
        try:
            index = 0
            while loader.check_node():
                node = loader.get_node()
                index += 1
                if index <= done or node is None:
                    continue
                done = index
                yield Composed(node, loader)
            return
        except yaml.YAMLError as exc:
            if cls is Loader and _redefined_anchor(exc):
                continue
            raise _error(exc) from None
        except (ValueError, RecursionError) as exc:
            raise YamlError(1, 1, " ".join(str(exc).split())[:200]) from None
        finally:
            loader.dispose()


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _MergeKey(Exception):
    """A ``<<`` merge key: left to PyYAML's constructor, which implements it."""


def _plain(node: Node, loader: Any, memo: dict[int, Any]) -> Any:
    """The node's value; what PyYAML's constructor gives, in a third of the time: strings,
    plain mappings and lists are built here, every other tag by the loader's constructors.
    ``memo`` builds a node that aliases share only once (no alias bomb)."""
    if node.id == "scalar":
        return node.value if node.tag == _STR else loader.construct_object(node, deep=True)
    key = id(node)
    if key in memo:
        return memo[key]
    if node.id == "sequence" and node.tag == _SEQ:
        items: list[Any] = []
        memo[key] = items
        items += [_plain(item, loader, memo) for item in node.value]
        return items
    if node.id == "mapping" and node.tag == _MAP:
        out: dict[Any, Any] = {}
        memo[key] = out
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _MergeKey
            name = _plain(key_node, loader, memo)
            if name in out:  # kubectl refuses it too ("mapping key ... already defined")
                mark = key_node.start_mark
                raise YamlError(mark.line + 1, mark.column + 1,
                                f"duplicate key {name!r} (invalid YAML; Kubernetes refuses it)")
            out[name] = _plain(value_node, loader, memo)
        return out
    return loader.construct_object(node, deep=True)


def documents(text: Any) -> Iterator[tuple[int, Any]]:
    """(line where the document starts, its value) for every document of ``text`` (str or
    bytes); raises YamlError."""
    for composed in compose(text):
        node, loader = composed
        try:
            try:
                value = _plain(node, loader, {})
            except _MergeKey:
                value = loader.construct_document(node)
        except yaml.YAMLError as exc:
            raise _error(exc) from None
        except (TypeError, ValueError, RecursionError) as exc:  # e.g. an unhashable key
            mark = node.start_mark
            raise YamlError(mark.line + 1, mark.column + 1,
                            " ".join(str(exc).split())[:200]) from None
        yield node.start_mark.line + 1, value
