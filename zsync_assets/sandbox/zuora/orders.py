"""`PUT /v1/subscriptions/{subscriptionNumber}/customFields` (PUT_UpdateSubscriptionCustomFields,
body `PUTSubscriptionPatchRequestType`: `customFields`), which Zuora's API reference files under
"Orders": the one operation of that section the sandbox serves. Custom fields change on the
current version in place: no new version, no amendment.
"""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, ApiError
from zsync_assets.sandbox.zuora.fields import custom_fields
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.subscriptions import find_subscription


def update_custom_fields(call: Call) -> tuple[int, Any]:
    """Custom fields change on the current version in place: no new version, no amendment."""
    store, body = call.store, call.json()
    subscription = find_subscription(store, call.path_params["subscription_number"])
    fields = body.get("customFields") or {}
    if not isinstance(fields, dict):
        raise ApiError(400, INVALID_VALUE, "customFields must be an object")
    store.update("subscriptions", subscription["id"], custom_fields("subscriptions", fields))
    return 200, {"success": True}
