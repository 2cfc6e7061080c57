"""Error responses declared in the OpenAPI document, so that clients see the 4xx statuses each endpoint returns."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """The body of every 4xx response except 422: what failed and, where it helps, what to do."""

    detail: str


def error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


BAD_REQUEST = {400: error("Invalid parameter or body value; `detail` names it and the allowed values")}
AUTHENTICATION = {
    401: error("Missing, unknown or revoked API token"),
    403: error("The token's role is too low for this call"),
}
NOT_FOUND = {404: error("No row with this id")}
CONFLICT = {409: error("The alert is not in a state this change applies to")}
