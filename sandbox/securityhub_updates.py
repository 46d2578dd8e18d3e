"""Security Hub BatchUpdateFindings, which moto 5.2.5 does not serve: how customers (and the
daemon, for waived findings) set a finding's `Workflow.Status` and `Note`, which
BatchImportFindings cannot change once the finding exists.

As AWS documents it (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchUpdateFindings.html):
- `FindingIdentifiers` (Id + ProductArn), 1 to 100 per call; each one not found is returned in
  `UnprocessedFindings` with an ErrorCode and ErrorMessage (the code's text: docs silent, the
  sandbox says `FindingNotFound`), the others in `ProcessedFindings`.
- `Workflow.Status`: NEW, NOTIFIED, RESOLVED or SUPPRESSED; `Note` needs both `Text` (at most
  512 characters) and `UpdatedBy`; anything else is InvalidInputException (HTTP 400).
- "your updates don't affect the value for the UpdatedAt field of the finding"; the note gets
  its own `UpdatedAt`.
Only Workflow and Note are modelled (the daemon's use); other fields are refused.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

WORKFLOW_STATUSES = frozenset({"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"})
MAX_IDENTIFIERS = 100
MAX_NOTE = 512
MODELLED = frozenset({"FindingIdentifiers", "Workflow", "Note"})


class InvalidInput(Exception):
    pass


def batch_update(findings: list[Any], body: bytes, now: datetime) -> tuple[int, bytes]:
    """Apply one BatchUpdateFindings request to moto's findings (its backend's list)."""
    try:
        request = json.loads(body or b"{}")
        workflow, note = _checked(request)
    except (InvalidInput, ValueError) as exc:
        error = {"__type": "InvalidInputException", "Code": "InvalidInputException"}
        return 400, json.dumps({**error, "Message": str(exc)}).encode()
    by_key = {(f.id, f.data.get("ProductArn")): f for f in findings}
    processed, unprocessed = [], []
    for ident in request["FindingIdentifiers"]:
        finding = by_key.get((ident.get("Id"), ident.get("ProductArn")))
        if finding is None:
            unprocessed.append(
                {
                    "FindingIdentifier": ident,
                    "ErrorCode": "FindingNotFound",
                    "ErrorMessage": "Finding not found",
                }
            )
            continue
        if workflow:
            finding.data["Workflow"] = {"Status": workflow}
        if note:
            finding.data["Note"] = {**note, "UpdatedAt": now.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
        processed.append(ident)
    answer = {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}
    return 200, json.dumps(answer).encode()


def _checked(request: dict[str, Any]) -> tuple[str, dict[str, str]]:
    unknown = set(request) - MODELLED
    if unknown:
        raise InvalidInput(f"not modelled by the sandbox: {', '.join(sorted(unknown))}")
    idents = request.get("FindingIdentifiers")
    if not isinstance(idents, list) or not 1 <= len(idents) <= MAX_IDENTIFIERS:
        raise InvalidInput("FindingIdentifiers must list 1 to 100 findings")
    workflow = str((request.get("Workflow") or {}).get("Status", ""))
    if "Workflow" in request and workflow not in WORKFLOW_STATUSES:
        raise InvalidInput(f"Invalid Workflow.Status: {workflow!r}")
    note = request.get("Note")
    if note is not None:
        if not note.get("Text") or not note.get("UpdatedBy"):
            raise InvalidInput("Note needs Text and UpdatedBy")
        if len(str(note["Text"])) > MAX_NOTE:
            raise InvalidInput("Note.Text is longer than 512 characters")
        note = {"Text": str(note["Text"]), "UpdatedBy": str(note["UpdatedBy"])}
    return workflow, note or {}
