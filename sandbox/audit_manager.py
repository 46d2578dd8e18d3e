"""AWS Audit Manager, the calls flink-remediator uses (moto has no Audit Manager).

Modelled on the API reference (https://docs.aws.amazon.com/audit-manager/latest/APIReference/):
CreateControl, CreateAssessmentFramework (every control id must exist), CreateAssessment (the
framework must exist; control sets and controls copied in, the control set's id is its name),
GetAssessment, BatchImportEvidenceToAssessmentControl (API_BatchImportEvidenceToAssessmentControl:
1-50 manualEvidence items, each exactly one of s3ResourcePath, textResponse (1-1000
characters) or evidenceFileName; evidence lands in the control's folder of the day),
GetEvidenceFoldersByAssessmentControl and GetEvidenceByEvidenceFolder. Errors as documented:
ValidationException (400), ResourceNotFoundException (404). Not modelled: the 100 manual
uploads per control and day, delegations, automated evidence collection.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Answer = tuple[int, bytes]
_ID = "[a-f0-9-]{36}"
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern), name)
    for method, pattern, name in (
        ("POST", r"/controls", "CreateControl"),
        ("POST", r"/assessmentFrameworks", "CreateAssessmentFramework"),
        ("POST", r"/assessments", "CreateAssessment"),
        ("GET", rf"/assessments/(?P<assessment>{_ID})", "GetAssessment"),
        (
            "POST",
            r"/assessments/(?P<assessment>[^/]+)/controlSets/(?P<set>[^/]+)/controls/(?P<control>[^/]+)/evidence",
            "BatchImportEvidenceToAssessmentControl",
        ),
        (
            "GET",
            r"/assessments/(?P<assessment>[^/]+)/evidenceFolders-by-assessment-control/(?P<set>[^/]+)/(?P<control>[^/]+)",
            "GetEvidenceFoldersByAssessmentControl",
        ),
        (
            "GET",
            r"/assessments/(?P<assessment>[^/]+)/controlSets/(?P<set>[^/]+)/evidenceFolders/(?P<folder>[^/]+)/evidence",
            "GetEvidenceByEvidenceFolder",
        ),
    )
)


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _missing(kind: str, ident: str) -> ApiError:
    return ApiError("ResourceNotFoundException", f"The {kind} {ident} doesn't exist.", 404)


class AuditManager:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._region = ""
        self._lock = threading.Lock()
        self._controls: dict[str, dict[str, Any]] = {}
        self._frameworks: dict[str, dict[str, Any]] = {}
        self._assessments: dict[str, dict[str, Any]] = {}
        self._evidence: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    def reset(self) -> None:
        with self._lock:
            for store in (self._controls, self._frameworks, self._assessments, self._evidence):
                store.clear()

    def handle(
        self, account: str, region: str, method: str, path: str, body: bytes
    ) -> tuple[str, Answer]:
        """(operation, (status, JSON body)) of one REST call."""
        for route_method, pattern, name in _ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                try:
                    request = json.loads(body or b"{}")
                    with self._lock:  # one call at a time: the Region of this one
                        self._region = region
                        out = getattr(self, "_" + name)(account, request, **match.groupdict())
                    return name, (200, json.dumps(out, default=str).encode())
                except ApiError as exc:
                    error = {"__type": exc.code, "message": exc.message}
                    return name, (exc.status, json.dumps(error).encode())
        return f"{method} {path}", (
            404,
            b'{"__type": "ResourceNotFoundException", "message": "no such route"}',
        )

    def _CreateControl(self, account: str, req: dict[str, Any]) -> dict[str, Any]:
        _require(req, "name", "controlMappingSources")
        if not req["controlMappingSources"]:
            raise ApiError("ValidationException", "controlMappingSources must not be empty")
        for source in req["controlMappingSources"]:
            if source.get("sourceType") == "AWS_Config" and not (
                source.get("sourceKeyword") or {}
            ).get("keywordValue"):
                raise ApiError(
                    "ValidationException", "an AWS_Config source needs sourceKeyword.keywordValue"
                )
        ident = str(uuid.uuid4())
        control: dict[str, Any] = {
            "arn": f"arn:aws:auditmanager:{self._region}:{account}:control/{ident}",
            "id": ident,
            "type": "Custom",
            **{k: req[k] for k in ("name", "description", "testingInformation") if k in req},
            "controlMappingSources": [
                {**s, "sourceId": str(uuid.uuid4())} for s in req["controlMappingSources"]
            ],
            "createdAt": self._now(),
            "state": "ACTIVE",
        }
        self._controls[ident] = control
        return {"control": control}

    def _CreateAssessmentFramework(self, account: str, req: dict[str, Any]) -> dict[str, Any]:
        _require(req, "name", "controlSets")
        sets = []
        for control_set in req["controlSets"]:
            name = str(control_set.get("name", ""))
            if not name or "_" in name or "\\" in name:  # ControlSetName: ^[^\\_]*$
                raise ApiError("ValidationException", f"invalid control set name {name!r}")
            controls = control_set.get("controls") or []
            if not controls:
                raise ApiError("ValidationException", f"control set {name} has no controls")
            for c in controls:
                if c.get("id") not in self._controls:
                    raise _missing("control", str(c.get("id")))
            sets.append(
                {"id": name, "name": name, "controls": [self._controls[c["id"]] for c in controls]}
            )
        ident = str(uuid.uuid4())
        framework = {
            "arn": f"arn:aws:auditmanager:{self._region}:{account}:assessmentFramework/{ident}",
            "id": ident,
            "name": req["name"],
            "type": "Custom",
            "complianceType": req.get("complianceType", ""),
            "description": req.get("description", ""),
            "controlSets": sets,
            "createdAt": self._now(),
        }
        self._frameworks[ident] = framework
        return {"framework": framework}

    def _CreateAssessment(self, account: str, req: dict[str, Any]) -> dict[str, Any]:
        _require(req, "name", "assessmentReportsDestination", "scope", "roles", "frameworkId")
        framework = self._frameworks.get(str(req["frameworkId"]))
        if framework is None:
            raise _missing("framework", str(req["frameworkId"]))
        ident = str(uuid.uuid4())
        sets = [
            {
                "id": s["id"],
                "status": "ACTIVE",
                "controls": [
                    {"id": c["id"], "name": c["name"], "status": "UNDER_REVIEW", "evidenceCount": 0}
                    for c in s["controls"]
                ],
            }
            for s in framework["controlSets"]
        ]
        assessment = {
            "arn": f"arn:aws:auditmanager:{self._region}:{account}:assessment/{ident}",
            "awsAccount": {"id": account},
            "metadata": {
                "id": ident,
                "name": req["name"],
                "status": "ACTIVE",
                "scope": req["scope"],
                "roles": req["roles"],
                "assessmentReportsDestination": req["assessmentReportsDestination"],
                "creationTime": self._now(),
            },
            "framework": {"id": framework["id"], "arn": framework["arn"], "controlSets": sets},
        }
        self._assessments[ident] = assessment
        return {"assessment": assessment}

    def _GetAssessment(self, account: str, req: dict[str, Any], assessment: str) -> dict[str, Any]:
        return {"assessment": self._assessment(assessment)}

    def _BatchImportEvidenceToAssessmentControl(
        self, account: str, req: dict[str, Any], assessment: str, set: str, control: str
    ) -> dict[str, Any]:
        self._control_of(assessment, set, control)
        items = req.get("manualEvidence") or []
        if not 1 <= len(items) <= 50:
            raise ApiError("ValidationException", "manualEvidence must hold 1 to 50 items")
        for item in items:
            given = [
                k for k in ("s3ResourcePath", "textResponse", "evidenceFileName") if item.get(k)
            ]
            if len(given) != 1:
                raise ApiError(
                    "ValidationException",
                    "manualEvidence can be only one of evidenceFileName, s3ResourcePath, "
                    "or textResponse",
                )
            if not 1 <= len(str(item.get("textResponse", "x"))) <= 1000:
                raise ApiError("ValidationException", "textResponse must be 1 to 1000 characters")
        day = datetime.fromtimestamp(self._now(), UTC).date().isoformat()
        folder = self._evidence.setdefault((assessment, set, control), [])
        for item in items:
            folder.append(
                {
                    "id": str(uuid.uuid4()),
                    "evidenceFolderId": f"{control}-{day}",
                    "dataSource": "Manual",
                    "evidenceByType": "Manual",
                    "time": self._now(),
                    "awsAccountId": account,
                    "attributes": {k: str(v) for k, v in item.items()},
                }
            )
        self._control_of(assessment, set, control)["evidenceCount"] = len(folder)
        return {"errors": []}

    def _GetEvidenceFoldersByAssessmentControl(
        self, account: str, req: dict[str, Any], assessment: str, set: str, control: str
    ) -> dict[str, Any]:
        found = self._control_of(assessment, set, control)
        by_folder: dict[str, int] = {}
        for e in self._evidence.get((assessment, set, control), []):
            by_folder[e["evidenceFolderId"]] = by_folder.get(e["evidenceFolderId"], 0) + 1
        folders = [
            {
                "id": folder,
                "name": folder[len(control) + 1 :],  # the day, as Audit Manager names folders
                "assessmentId": assessment,
                "controlSetId": set,
                "controlId": control,
                "controlName": found["name"],
                "dataSource": "Manual",
                "totalEvidence": count,
                "evidenceByTypeManualCount": count,
            }
            for folder, count in sorted(by_folder.items())
        ]
        return {"evidenceFolders": folders}

    def _GetEvidenceByEvidenceFolder(
        self, account: str, req: dict[str, Any], assessment: str, set: str, folder: str
    ) -> dict[str, Any]:
        self._assessment(assessment)
        evidence = [
            e
            for (a, s, _), items in self._evidence.items()
            if a == assessment and s == set
            for e in items
            if e["evidenceFolderId"] == folder
        ]
        if not evidence:
            raise _missing("evidence folder", folder)
        return {"evidence": evidence}

    def _assessment(self, ident: str) -> dict[str, Any]:
        found = self._assessments.get(ident)
        if found is None:
            raise _missing("assessment", ident)
        return found

    def _control_of(self, assessment: str, set: str, control: str) -> dict[str, Any]:
        for control_set in self._assessment(assessment)["framework"]["controlSets"]:
            if control_set["id"] == set:
                for c in control_set["controls"]:
                    if c["id"] == control:
                        found: dict[str, Any] = c  # the stored one: callers update it
                        return found
                raise _missing("control", control)
        raise _missing("control set", set)


def _require(req: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if not req.get(n)]
    if missing:
        raise ApiError("ValidationException", f"missing required fields: {', '.join(missing)}")
