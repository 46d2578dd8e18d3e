"""Hostile or broken desired-state files (issue 19), generated so nothing large is committed.

Each generator returns the file's bytes; `HOSTILE` names them for tests and the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable

HEAD = 'version: 1\naccounts: ["123456789012"]\nregions: [us-east-1, eu-west-1]\n'
MIB = 1024 * 1024


def alias_bomb(levels: int = 9, width: int = 10) -> bytes:
    """Billion laughs: 10 anchors, each a list of `width` aliases of the one before."""
    lines = [HEAD.rstrip("\n"), "rules:", "  cloudwatch_logging:", '    a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"    a{level}: &a{level} [{refs}]")
    return ("\n".join(lines) + "\n").encode()


def _override(index: int, name_glob: str = "orders-*") -> str:
    return (
        f"  - name: o{index}\n"
        f"    match: {{names: [{name_glob!r}], regions: [eu-*]}}\n"
        "    rules: {cloudwatch_logging: {log_level: ERROR}}\n"
    )


def overrides_of_size(size: int) -> bytes:
    """Valid-looking overrides up to about `size` bytes."""
    parts = [HEAD, "overrides:\n"]
    total, index = len(HEAD) + 11, 0
    while total < size:
        part = _override(index)
        parts.append(part)
        total += len(part)
        index += 1
    return "".join(parts).encode()[:size] if total > size else "".join(parts).encode()


def overrides_just_under(limit: int = MIB) -> bytes:
    """As many whole overrides as fit under `limit` bytes (a file the size limit lets in)."""
    parts, total, index = [HEAD, "overrides:\n"], len(HEAD) + 11, 0
    while True:
        part = _override(index)
        if total + len(part) >= limit:
            return "".join(parts).encode()
        parts.append(part)
        total += len(part)
        index += 1


def glob_overrides(count: int = 5000) -> bytes:
    parts = [HEAD, "overrides:\n"]
    parts += [_override(i, f"*o*r*d*e*r*s*-{i}-*") for i in range(count)]
    return "".join(parts).encode()


def deep_flow_sequence(depth: int = 100_000) -> bytes:
    return (HEAD + "overrides: " + "[" * depth + "]" * depth + "\n").encode()


def deep_flow_mapping(depth: int = 100_000) -> bytes:
    return (HEAD + "rules: " + "{a: " * depth + "1" + "}" * depth + "\n").encode()


def deep_block_mapping(depth: int = 1400) -> bytes:
    """Nested block mappings, one more space per level (depth 1400 is about 1 MiB)."""
    lines = [HEAD.rstrip("\n"), "rules:"]
    lines += [" " * level + "k:" for level in range(1, depth + 1)]
    return ("\n".join(lines) + " 1\n").encode()


def deep_block_sequence(depth: int = 1400) -> bytes:
    lines = [HEAD.rstrip("\n"), "overrides:"]
    lines += [" " * level + "-" for level in range(1, depth + 1)]
    return ("\n".join(lines) + " 1\n").encode()


PATHOLOGICAL_GLOB = "*a" * 40 + "*b"  # backtracks exponentially in a naive regex
PATHOLOGICAL_NAME = "a" * 128  # the longest Managed Flink application name


def pathological_glob() -> bytes:
    return (HEAD + "overrides:\n" + _override(0, PATHOLOGICAL_GLOB)).encode()


HOSTILE: dict[str, Callable[[], bytes]] = {
    "alias_bomb": alias_bomb,
    "overrides_10mb": lambda: overrides_of_size(10 * MIB),
    "overrides_1mib": lambda: overrides_of_size(MIB),
    "overrides_under_1mib": overrides_just_under,
    "glob_overrides_5000": glob_overrides,
    "deep_flow_sequence": deep_flow_sequence,
    "deep_flow_mapping": deep_flow_mapping,
    "deep_block_mapping": deep_block_mapping,
    "deep_block_sequence": deep_block_sequence,
    "pathological_glob": pathological_glob,
}
