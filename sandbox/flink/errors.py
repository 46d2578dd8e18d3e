"""Errors of the kinesisanalyticsv2 API, rendered in AWS's JSON-protocol error format."""

from __future__ import annotations

import json


class FlinkApiError(Exception):
    """An error the real API returns; `code` is the botocore error code."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> bytes:
        return json.dumps({"__type": self.code, "message": self.message}).encode()


def not_found(name: str) -> FlinkApiError:
    return FlinkApiError("ResourceNotFoundException", f"Application {name} not found.")


def in_use(name: str, status: str) -> FlinkApiError:
    return FlinkApiError(
        "ResourceInUseException",
        f"Application {name} is in {status} state; the operation is not allowed now.",
    )


def invalid(message: str) -> FlinkApiError:
    return FlinkApiError("InvalidArgumentException", message)


def concurrent(message: str) -> FlinkApiError:
    return FlinkApiError("ConcurrentModificationException", message)
