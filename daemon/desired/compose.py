"""A YAML composer that enforces `Limits` while it reads, so hostile input stops early.

ruamel's composer builds the node graph recursively (deep nesting ends in RecursionError) and
leaves aliases shared; copying the data out later expands them (a billion-laughs file becomes
10**9 values). This composer counts as it goes and raises `LimitExceeded` at the first node
over a limit: nesting depth, nodes (an alias counts as the full size of what it names),
alias references, and top-level overrides. Parsing is lazy, so the rest of the file is never
scanned. It also records duplicate keys (each mapping checked once, when composed).

`BoundedScanner` stops `[[[[...` and `{a: {a: ...` even earlier: the scanner reads up to 1,024
characters ahead for a possible key at each open bracket, which costs seconds at depth 1,000.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.composer import Composer
from ruamel.yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.scanner import RoundTripScanner

from daemon.desired.limits import Limits
from daemon.desired.location import Loc, Problem, format_path

_SHOWN_PARTS = 6  # a path thousands deep is cut after this many parts


class LimitExceeded(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def bounded(limits: Limits) -> tuple[type[BoundedComposer], type[BoundedScanner]]:
    """Composer and scanner classes for ruamel's `YAML.Composer` / `.Scanner` (it makes
    the instances itself), enforcing `limits`."""
    settings = {"limits": limits}
    return (
        type("Composer", (BoundedComposer,), settings),
        type("Scanner", (BoundedScanner,), settings),
    )


class BoundedComposer(Composer):
    """`duplicates` holds the duplicate-key problems found."""

    limits = Limits()

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader=loader)
        self.duplicates: list[Problem] = []
        self._path: list[str | int] = []
        self._depth = 0
        self._nodes = 0
        self._aliases = 0
        self._sizes: dict[int, int] = {}  # id(anchored node) -> its size with aliases expanded

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        part = _part(parent, index)
        if part is not None:
            self._path.append(part)
        try:
            self._check_position(event, part)
            if isinstance(event, AliasEvent):
                return self._alias(event)
            return self._composed(event, parent, index)
        finally:
            if part is not None:
                self._path.pop()

    def _check_position(self, event: Any, part: str | int | None) -> None:
        limits = self.limits
        if (
            self._path[:1] == ["overrides"]
            and len(self._path) == 2
            and part == limits.max_overrides
        ):
            self._fail(event, f"more than {limits.max_overrides} overrides (the limit)", 1)
        opens = isinstance(event, MappingStartEvent | SequenceStartEvent)
        if opens and self._depth >= limits.max_depth:  # the root mapping is level 1
            self._fail(event, f"nested deeper than {limits.max_depth} levels (the limit)")

    def _alias(self, event: Any) -> Any:
        limits = self.limits
        self._aliases += 1
        if self._aliases > limits.max_aliases:
            self._fail(event, f"more than {limits.max_aliases} alias references (the limit)")
        target = self.anchors.get(event.anchor)
        size = None if target is None else self._sizes.get(id(target))
        if target is not None and size is None:
            self._fail(event, f"alias *{event.anchor} is used inside its own anchor")
        self._count(event, size or 1)
        return super().compose_node(None, None)  # resolves it (or reports it undefined)

    def _composed(self, event: Any, parent: Any, index: Any) -> Any:
        before = self._nodes
        self._count(event, 1)
        self._depth += 1
        try:
            node: Node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if event.anchor is not None:
            self._sizes[id(node)] = self._nodes - before
        if isinstance(node, MappingNode):
            self._find_duplicates(node)
        return node

    def _count(self, event: Any, nodes: int) -> None:
        self._nodes += nodes
        if self._nodes > self.limits.max_nodes:
            message = (
                f"more than {self.limits.max_nodes} values with aliases expanded (the limit)"
                if self._aliases
                else f"more than {self.limits.max_nodes} values (the limit)"
            )
            self._fail(event, message)

    def _find_duplicates(self, node: MappingNode) -> None:
        first_seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node.value, str) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_seen and key != "<<":
                self.duplicates.append(
                    Problem(
                        line,
                        format_path((*self._path, key)),
                        f"duplicate key (first defined on line {first_seen[key]})",
                    )
                )
            first_seen.setdefault(key, line)

    def _fail(self, event: Any, message: str, keep: int | None = None) -> None:
        loc: Loc = tuple(self._path[:keep] if keep is not None else self._path)
        path = format_path(loc[:_SHOWN_PARTS]) + ("..." if len(loc) > _SHOWN_PARTS else "")
        raise LimitExceeded(Problem(event.start_mark.line + 1, path, message))


class BoundedScanner(RoundTripScanner):
    limits = Limits()

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
        if self.flow_level >= self.limits.max_depth:
            line = self.reader.get_mark().line + 1
            message = f"[ and {{ nested deeper than {self.limits.max_depth} levels (the limit)"
            raise LimitExceeded(Problem(line, "", message))
        super().fetch_flow_collection_start(TokenClass, to_push)


def _part(parent: Any, index: Any) -> str | int | None:
    """The path part of the node being composed: a list index, a mapping key, or None for
    the root and for keys themselves."""
    if isinstance(parent, SequenceNode) and isinstance(index, int):
        return index
    if isinstance(parent, MappingNode) and isinstance(index, ScalarNode):
        return str(index.value)
    if isinstance(parent, MappingNode) and isinstance(index, Node):
        return "<key>"
    return None
