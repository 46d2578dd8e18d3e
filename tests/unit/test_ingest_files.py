"""Reading events from CloudTrail log files and JSON lines, for `replay`."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from daemon.errors import EventError
from daemon.ingest.events import parse
from daemon.ingest.files import EventFileError, read_events

EVENTS = Path(__file__).parent / "events"
NAMES = ("kinesisanalytics-UpdateApplication", "iam-AttachRolePolicy", "ec2-CreateRoute")
ENVELOPES: list[dict[str, Any]] = [json.loads((EVENTS / f"{n}.json").read_text()) for n in NAMES]
OPTIONS: dict[str, Any] = {
    "accounts": frozenset({"123456789012"}),
    "regions": frozenset({"eu-west-1"}),
    "event_names": frozenset({"UpdateApplication", "AttachRolePolicy", "CreateRoute"}),
    "bare_records": True,  # replay reads CloudTrail log files: records without envelopes
}


def outcome(body: str) -> str:
    try:
        return parse(body, **OPTIONS).event_name
    except EventError as error:
        return error.reason


def write(path: Path, text: str) -> Path:
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["trail.json", "trail.json.gz"])
def test_cloudtrail_log_file(tmp_path: Path, name: str) -> None:
    records = [e["detail"] for e in ENVELOPES]
    path = write(tmp_path / name, json.dumps({"Records": [*records, {"bogus": 1}]}))
    events = list(read_events(path))
    assert [location for location, _ in events] == [f"{path}:#{n}" for n in (1, 2, 3, 4)]
    assert [outcome(body) for _, body in events] == [
        "UpdateApplication",
        "AttachRolePolicy",
        "CreateRoute",
        "unknown_shape",
    ]


@pytest.mark.parametrize("name", ["events.jsonl", "events.jsonl.gz", "events.json"])
def test_json_lines_with_broken_and_blank_lines(tmp_path: Path, name: str) -> None:
    lines = [json.dumps(ENVELOPES[0]), "", '{"truncated": ', json.dumps(ENVELOPES[2]), "   "]
    path = write(tmp_path / name, "\n".join(lines) + "\n")
    events = list(read_events(str(path)))
    assert [location for location, _ in events] == [f"{path}:1", f"{path}:3", f"{path}:4"]
    assert [outcome(body) for _, body in events] == ["UpdateApplication", "not_json", "CreateRoute"]


def test_invalid_utf8_in_a_line_does_not_stop_the_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"detail-type": "\xff\xfe"}\n' + json.dumps(ENVELOPES[1]).encode() + b"\n")
    assert [outcome(body) for _, body in read_events(path)] == ["unknown_shape", "AttachRolePolicy"]


def test_a_pretty_printed_single_envelope_and_an_array(tmp_path: Path) -> None:
    single = write(tmp_path / "one.json", json.dumps(ENVELOPES[0], indent=2))
    assert [(loc, outcome(b)) for loc, b in read_events(single)] == [
        (f"{single}:#1", "UpdateApplication")
    ]
    array = write(tmp_path / "many.json", json.dumps(ENVELOPES[1:]))
    assert [outcome(b) for _, b in read_events(array)] == ["AttachRolePolicy", "CreateRoute"]


def test_a_sample_event_file_reads_as_one_event() -> None:
    path = EVENTS / "ec2-CreateRoute.json"
    assert [outcome(body) for _, body in read_events(path)] == ["CreateRoute"]


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json.gz"
    with pytest.raises(EventFileError, match=re.escape(str(missing))):
        list(read_events(missing))
    with pytest.raises(EventFileError, match="directory"):
        list(read_events(tmp_path))


@pytest.mark.parametrize("name", ["bad.json.gz", "bad.jsonl.gz"])
def test_corrupt_gzip_names_the_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(EventFileError, match=re.escape(name)):
        list(read_events(path))


def test_truncated_gzip_yields_what_it_can_then_names_the_file(tmp_path: Path) -> None:
    text = "\n".join(json.dumps(ENVELOPES[n % 3]) for n in range(200)) + "\n"
    compressed = gzip.compress(text.encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    seen: list[str] = []
    with pytest.raises(EventFileError, match=re.escape(str(path))):
        for location, _ in read_events(path):
            seen.append(location)
    assert seen, "lines before the damage are still replayed"
