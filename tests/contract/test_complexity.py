"""The reconciler and the commands stay readable: no function in `daemon/reconcile` or
`daemon/commands` above cyclomatic complexity 15 (radon, as `radon cc -s` counts it), and the
reconciler takes at most 6 constructor parameters (the safeguards and listeners carry the rest)."""

from __future__ import annotations

import inspect
from pathlib import Path

from radon.complexity import cc_visit

from daemon.reconcile.reconciler import Reconciler

ROOT = Path(__file__).parents[2]
WATCHED = ("daemon/reconcile", "daemon/commands")
MAX_COMPLEXITY = 15
MAX_RECONCILER_PARAMETERS = 6


def too_complex(source: str, limit: int = MAX_COMPLEXITY) -> list[str]:
    """`name (complexity)` of each function or method in `source` above `limit`."""
    return [
        f"{block.fullname} ({block.complexity})"
        for block in cc_visit(source)
        if block.complexity > limit and block.letter in ("F", "M")
    ]


def test_no_function_in_the_reconciler_or_the_commands_is_above_the_limit() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for folder in WATCHED
        for path in sorted((ROOT / folder).rglob("*.py"))
        for name in too_complex(path.read_text())
    ]
    assert found == [], f"split these (complexity above {MAX_COMPLEXITY}): {found}"


def test_the_check_sees_a_function_above_the_limit() -> None:
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(MAX_COMPLEXITY))
    source = f"def tangled(x):\n{branches}    return -1\n"
    assert too_complex(source) == [f"tangled ({MAX_COMPLEXITY + 1})"]
    assert too_complex(source, MAX_COMPLEXITY + 1) == []


def test_the_reconciler_takes_few_parameters() -> None:
    parameters = list(inspect.signature(Reconciler.__init__).parameters)[1:]  # without self
    assert len(parameters) <= MAX_RECONCILER_PARAMETERS, parameters
