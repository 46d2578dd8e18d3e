"""Where a problem is: a path like ("overrides", 0, "match"), its dotted form, and the
`FILE:LINE: PATH: MESSAGE` finding every check reports."""

from __future__ import annotations

from dataclasses import dataclass

from daemon.errors import ConfigError

Loc = tuple[str | int, ...]
_MAX_MESSAGE = 300  # a message quoting a huge value stays one readable line


def format_path(loc: Loc) -> str:
    """("overrides", 0, "match", "names", 1) -> "overrides[0].match.names[1]"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part and all(c.isalnum() or c in "_-/" for c in part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


@dataclass(frozen=True, order=True)
class Problem:
    """One finding; sorted by line so a file's problems read top to bottom."""

    line: int
    path: str
    message: str
    choices: str = ""  # the valid values ("known rules: a, b, c"): listed whole, never cut

    def format(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        message = self.message
        if len(message) > _MAX_MESSAGE:  # it quotes a huge value from the file
            message = f"{message[:_MAX_MESSAGE]}... ({len(message):,} characters)"
        if self.choices:
            message = f"{message}; {self.choices}"
        message = message.replace("\n", " ")
        return f"{where}: {self.path}: {message}" if self.path else f"{where}: {message}"


def fail(file: str, problems: list[Problem]) -> ConfigError:
    return ConfigError(file, [p.format(file) for p in sorted(problems)])
