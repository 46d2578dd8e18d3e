"""Reading AWS wire formats the middleware passes through: query-protocol requests (IAM, EC2),
their XML responses, and error bodies of both the XML and the JSON protocols."""

from __future__ import annotations

import functools
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree

import botocore.exceptions
import botocore.session

_LIST_TAGS = frozenset({"item", "member"})


def query_params(body: bytes, query_string: str = "") -> dict[str, str]:
    """Form-encoded parameters from the body and the query string."""
    params = dict(parse_qsl(query_string, keep_blank_values=True))
    params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_listify(node[key]) for key in sorted(node, key=int)]
    if set(node) == {"member"}:
        return _listify(node["member"])
    return {key: _listify(value) for key, value in node.items()}


def nested_params(params: dict[str, str]) -> dict[str, Any]:
    """Query parameters without Action/Version, dotted keys nested (Tags.member.1.Key)."""
    root: dict[str, Any] = {}
    for key, value in params.items():
        if key in ("Action", "Version"):
            continue
        parts = key.split(".")
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                child = node[part] = {"": child}
            node = child
        node[parts[-1]] = value
    result: dict[str, Any] = _listify(root)
    return result


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element(element: ElementTree.Element) -> Any:
    children = list(element)
    if not children:
        text = (element.text or "").strip()
        return {"true": True, "false": False}.get(text, text)
    if all(_local(child.tag) in _LIST_TAGS for child in children):
        return [_element(child) for child in children]
    result: dict[str, Any] = {}
    for child in children:
        name, value = _local(child.tag), _element(child)
        if name in result:
            previous = result[name]
            result[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            result[name] = value
    return result


def xml_response_elements(body: bytes) -> dict[str, Any] | None:
    """The payload of a query-protocol XML response, without ResponseMetadata/*Result wrappers."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    value = _element(root)
    if not isinstance(value, dict):
        return None
    value.pop("ResponseMetadata", None)
    results = [key for key in value if key.endswith("Result")]
    if len(results) == 1 and len(value) == 1:
        value = value[results[0]] if isinstance(value[results[0]], dict) else {}
    return value or None


def error_of(body: bytes, headers: dict[str, str]) -> tuple[str, str]:
    """(code, message) of a failed call in either protocol."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        code = str(data.get("__type") or headers.get("x-amzn-errortype", "Unknown"))
        message = str(data.get("message") or data.get("Message") or "")
        return code.rsplit("#", 1)[-1].split(":", 1)[0], message
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return "InternalFailure", body.decode("utf-8", "replace")[:200]
    code = message = ""
    for element in root.iter():
        if _local(element.tag) == "Code" and not code:
            code = (element.text or "").strip()
        if _local(element.tag) == "Message" and not message:
            message = (element.text or "").strip()
    return code or "Unknown", message


Route = tuple[str, re.Pattern[str], frozenset[str], str]


@functools.cache
def _rest_routes(service: str) -> tuple[Route, ...]:
    """(method, path pattern, query keys the URI requires, operation) of a REST service's
    operations, from botocore's model; the routes needing most query keys first (S3's
    `GET /{Bucket}?publicAccessBlock` before `GET /{Bucket}`). A `{Label+}` label (S3 keys) and
    a label holding an ARN (MSK's `/api/v2/clusters/{ClusterArn}`) may span slashes."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except botocore.exceptions.UnknownServiceError:
        return ()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query = http["requestUri"].partition("?")
        keys = frozenset(k.split("=", 1)[0] for k in query.split("&") if k)
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(path))
        pattern = re.sub(r"\\\{[^}]*Arn\\\}", "arn:.+", pattern)
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        routes.append((http["method"], re.compile(pattern + "/?"), keys, name))
    return tuple(sorted(routes, key=lambda r: -len(r[2])))


def rest_operation(service: str, method: str, path: str, query: str = "") -> str:
    """The operation a REST call names by its method, path and query keys
    (`BatchImportFindings` for Security Hub's POST /findings/import), else "METHOD path"."""
    present = {k.split("=", 1)[0] for k in query.split("&") if k}
    for route_method, pattern, keys, name in _rest_routes(service):
        if route_method == method and keys <= present and pattern.fullmatch(path):
            return name
    return f"{method} {path}"


_REQUEST_ID_TAG = re.compile(rb"<(RequestId|requestId|RequestID)>[^<]*</\1>")


def fresh_request_id(
    body: bytes, headers: list[tuple[str, str]]
) -> tuple[bytes, list[tuple[str, str]], str]:
    """Give a moto answer a request id of its own, as AWS gives every request one: moto writes
    a constant into many XML answers (IAM's `7a62c49f-...EXAMPLE`), and CloudTrail's
    `requestID` must be the id the caller saw (the daemon's ledger of its writes matches them).
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
    (requestID: "The value that identifies the request. The service being called generates this
    value.") The id goes into the XML's RequestId (EC2: requestId) and `x-amzn-RequestId`."""
    request_id = str(uuid.uuid4())
    body = _REQUEST_ID_TAG.sub(
        lambda m: b"<%s>%s</%s>" % (m[1], request_id.encode(), m[1]), body, count=1
    )
    kept = [(k, v) for k, v in headers if k.lower() not in ("x-amzn-requestid", "content-length")]
    if any(k.lower() == "content-length" for k, _ in headers):
        kept.append(("Content-Length", str(len(body))))
    return body, [*kept, ("x-amzn-RequestId", request_id)], request_id
