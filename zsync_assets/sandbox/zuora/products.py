"""The product catalog through the CRUD ("proxy") calls, the sections "Products", "Product Rate
Plans" and "Product Rate Plan Charges" of Zuora's API reference: `POST /v1/object/product`
(Object_POSTProduct), `POST /v1/object/product-rate-plan` (Object_POSTProductRatePlan),
`POST /v1/object/product-rate-plan-charge` and `PUT /v1/object/product-rate-plan-charge/{id}`
(Object_POSTProductRatePlanCharge, Object_PUTProductRatePlanCharge).
"""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.zuora.errors import NOT_FOUND, ApiError
from zsync_assets.sandbox.zuora.fields import a_date, custom_fields, require
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.model import OBJECTS


def _proxy_create(
    obj: str,
    required: tuple[str, ...],
    mapping: dict[str, str],
    number: tuple[str, str] | None,
    parent: tuple[str, str] | None = None,
):
    """`POST /v1/object/<type>` (CRUD "proxy" calls): PascalCase fields in, `{Id, Success}` out."""

    def handler(call: Call) -> tuple[int, Any]:
        body, store = call.json(), call.store
        require(body, *required)
        if parent and store.get(parent[1], body[parent[0]]) is None:
            raise ApiError(404, NOT_FOUND, f"{parent[0]} '{body[parent[0]]}' does not exist")
        record = {target: body[source] for source, target in mapping.items() if source in body}
        for field in ("effectiveStartDate", "effectiveEndDate"):
            if field in record:
                record[field] = a_date(record[field], field)
        if number and not record.get(number[0]):
            record[number[0]] = number[1] % store.next_number(obj)
        record = store.insert(obj, {**record, **custom_fields(obj, body)})
        return 200, {"Id": record["id"], "Success": True}

    return handler


create_product = _proxy_create(
    "products",
    ("Name", "EffectiveStartDate", "EffectiveEndDate"),
    {
        "Name": "name",
        "SKU": "sKU",
        "Category": "category",
        "ProductNumber": "productNumber",
        "EffectiveStartDate": "effectiveStartDate",
        "EffectiveEndDate": "effectiveEndDate",
        "AllowFeatureChanges": "allowFeatureChanges",
    },
    ("productNumber", "PC-%08d"),
)

create_rate_plan = _proxy_create(
    "product-rate-plans",
    ("Name", "ProductId"),
    {
        "Name": "name",
        "ProductId": "productId",
        "ProductRatePlanNumber": "productRatePlanNumber",
        "EffectiveStartDate": "effectiveStartDate",
        "EffectiveEndDate": "effectiveEndDate",
    },
    ("productRatePlanNumber", "PRP-%08d"),
    parent=("ProductId", "products"),
)

create_charge = _proxy_create(
    "product-rate-plan-charges",
    (
        "Name",
        "ProductRatePlanId",
        "ChargeModel",
        "ChargeType",
        "BillingPeriod",
        "TriggerEvent",
        "BillCycleType",
        "ProductRatePlanChargeTierData",
    ),
    {
        "Name": "name",
        "ProductRatePlanId": "productRatePlanId",
        "ChargeModel": "chargeModel",
        "ChargeType": "chargeType",
        "BillingPeriod": "billingPeriod",
        "BillingTiming": "billingTiming",
        "TriggerEvent": "triggerEvent",
        "EndDateCondition": "endDateCondition",
        "AccountingCode": "accountingCode",
        "UOM": "uOM",
        "DefaultQuantity": "defaultQuantity",
        "ListPriceBase": "listPriceBase",
        "DeferredRevenueAccount": "deferredRevenueAccount",
        "RecognizedRevenueAccount": "recognizedRevenueAccount",
        "RevenueRecognitionRuleName": "revenueRecognitionRuleName",
    },
    ("productRatePlanChargeNumber", "PRPC-%08d"),
    parent=("ProductRatePlanId", "product-rate-plans"),
)


def _proxy_update(obj: str, mapping: dict[str, str]):
    """`PUT /v1/object/<type>/{id}` (CRUD "proxy" update): PascalCase fields and custom fields
    (`IntegrationId__NS`, ...: how Zuora's NetSuite connector writes back), `{Id, Success}` out."""

    def handler(call: Call) -> tuple[int, Any]:
        body, store = call.json(), call.store
        record_id = call.path_params["id"]
        if store.get(obj, record_id) is None:
            raise ApiError(404, NOT_FOUND, f"{OBJECTS[obj].zoql} '{record_id}' does not exist")
        changes = {target: body[source] for source, target in mapping.items() if source in body}
        store.update(obj, record_id, {**changes, **custom_fields(obj, body)})
        return 200, {"Id": record_id, "Success": True}

    return handler


update_charge = _proxy_update(
    "product-rate-plan-charges",
    {
        "Name": "name",
        "AccountingCode": "accountingCode",
        "UOM": "uOM",
        "DefaultQuantity": "defaultQuantity",
        "DeferredRevenueAccount": "deferredRevenueAccount",
        "RecognizedRevenueAccount": "recognizedRevenueAccount",
    },
)
