"""`validate` and `schema` through the real command line, and the shipped example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from ruamel.yaml import YAML

from daemon.cli import main
from daemon.desired import load_config
from remediations import RULES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "desired-state.example.yaml"
CONSOLE_SCRIPT = Path(sys.executable).parent / "flink-remediator"
GOOD = 'version: 1\naccounts: ["123456789012"]\nregions: [us-east-1]\n'
BAD = GOOD + "defaults:\n  mode: loud\n  colour: red\n"
BAD_PROBLEMS = [
    "5: defaults.mode: Input should be 'enforce', 'dry-run' or 'alert'",
    "6: defaults.colour: unknown key 'colour'; allowed keys: mode, disruption",
]
needs_logging_rule = pytest.mark.skipif(
    "cloudwatch_logging" not in RULES, reason="cloudwatch_logging is not registered yet"
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(BAD)
    return good, bad


def test_validate_valid_file_exits_0(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    good, _ = files
    assert main(["validate", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: valid\n"


def test_validate_prints_every_problem_of_every_file_and_exits_1(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = files
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\naccounts: [\n")
    assert main(["validate", str(bad), str(good), str(broken)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        *(f"{bad}:{p}" for p in BAD_PROBLEMS),
        f"{good}: valid",
        f"{broken}:3: YAML syntax error: while parsing a flow node on line 3, "
        "expected the node content, but found '<stream end>'",
    ]


def test_validate_needs_a_file() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate"])
    assert caught.value.code == 2


def test_schema_prints_the_json_schema_of_every_registered_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == {
        "version",
        "accounts",
        "regions",
        "defaults",
        "ignore_tag",
        "execution_roles",
        "daemon_role_arn",
        "assume_role",
        "external_id",
        "organization",
        "rules",
        "overrides",
        "evidence",
        "controls",
        "waivers",
        "waiver_policy",
    }
    assert schema["additionalProperties"] is False
    rules_def = schema["$defs"][schema["properties"]["rules"]["$ref"].split("/")[-1]]
    assert set(rules_def["properties"]) == set(RULES)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(YAML(typ="safe").load(GOOD)))
    assert list(validator.iter_errors(YAML(typ="safe").load(BAD)))  # unknown key, bad mode


def test_console_script_validate_runs_as_a_process(files: tuple[Path, Path]) -> None:
    good, bad = files
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "validate", str(good), str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [f"{good}: valid", *(f"{bad}:{p}" for p in BAD_PROBLEMS)]


@needs_logging_rule
def test_the_example_is_valid_by_validate_and_by_the_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", str(EXAMPLE)]) == 0
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    schema: dict[str, Any] = json.loads(out[out.index("{") :])
    jsonschema.validate(YAML(typ="safe").load(EXAMPLE.read_text()), schema)


@needs_logging_rule
def test_the_example_says_what_it_documents() -> None:
    config = load_config(EXAMPLE)
    assert config.default_mode == "enforce"
    assert [o.name for o in config.overrides] == [
        "development-apps-log-debug",
        "legacy-payments-report-only",
    ]
    assert config.rules["cloudwatch_logging"].model_dump()["retention_days"] == 365
