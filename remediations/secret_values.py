"""What a literal secret in an application property looks like, and its redacted fingerprint.

Pure helpers of `secrets_in_properties`. A finding names the property group and key, the kind
of secret and a fingerprint (4 hex digits of the value's SHA-256): enough to tell "the same
value is still there" from "it changed", never enough to recover or even confirm a guess of
most values. The value itself, or any part of it, never leaves this module.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

# AWS access key ids: AKIA (long-term user keys), ASIA (STS temporary keys).
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Z0-9])")
# A secret access key is 40 characters of base64 (A-Z a-z 0-9 / +).
SECRET_KEY_SHAPE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
PEM_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
# scheme://user:password@host (JDBC, Kafka SASL URLs, Redis, Mongo, HTTP basic auth).
URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:(?P<password>[^/\s@]+)@")
# password=... / pwd=... inside a connection string (JDBC, ODBC, URL query).
PARAM_PASSWORD = re.compile(
    r"(?i)(?:^|[;&?\s,])(?:password|passwd|pwd)\s*=\s*(?P<password>[^;&\s,]+)"
)

KINDS = {
    "aws_access_key_id": "an AWS access key id",
    "aws_secret_access_key": "an AWS secret access key",
    "private_key": "a PEM private key",
    "url_password": "a URL with a password",
    "connection_string_password": "a connection string with a password",
    "secret_named_property": "a literal value under a secret-like name",
}


def fingerprint(value: str) -> str:
    """`sha256:` + the first 4 hex digits of the value's SHA-256 (never a part of the value)."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:4]


def is_reference(value: str, patterns: Iterable[re.Pattern[str]]) -> bool:
    return any(p.search(value.strip()) for p in patterns)


def secret_kinds(
    key: str,
    value: str,
    *,
    secret_words: Iterable[str],
    references: Iterable[re.Pattern[str]],
    group_has_access_key: bool,
) -> Iterator[str]:
    """The kinds of literal secret `value` (under property `key`) holds; none for a reference."""
    refs = tuple(references)
    if not value.strip() or is_reference(value, refs):
        return
    if ACCESS_KEY_ID.search(value):
        yield "aws_access_key_id"
    secret_named = _secret_named(key, secret_words)
    if SECRET_KEY_SHAPE.search(value) and (secret_named or group_has_access_key):
        yield "aws_secret_access_key"
    if PEM_PRIVATE_KEY.search(value):
        yield "private_key"
    if any(not is_reference(m["password"], refs) for m in URL_PASSWORD.finditer(value)):
        yield "url_password"
    if any(not is_reference(m["password"], refs) for m in PARAM_PASSWORD.finditer(value)):
        yield "connection_string_password"
    if secret_named:
        yield "secret_named_property"


def _secret_named(key: str, words: Iterable[str]) -> bool:
    """`db.password`, `apiKey`, `sasl_jaas_secret`: the name, lowercased and without separators,
    contains one of the words (also lowercased, without separators)."""
    flat = re.sub(r"[^a-z0-9]", "", key.lower())
    return any(re.sub(r"[^a-z0-9]", "", w.lower()) in flat for w in words)


def has_access_key(values: Iterable[str]) -> bool:
    return any(ACCESS_KEY_ID.search(v) for v in values)
