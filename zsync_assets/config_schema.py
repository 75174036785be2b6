"""The settings zsync.yaml may hold: the schema every config layer is validated against, with
each key's default and its checks (config.py finds and layers the files and overrides).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

ItemType = Literal["NonInventorySaleItem", "ServiceSaleItem"]
ChargeType = Literal["Recurring", "OneTime", "Usage"]
CHARGE_TYPES: tuple[ChargeType, ...] = get_args(ChargeType)
DEFAULT_ITEM_TYPES: dict[ChargeType, ItemType] = {
    "Recurring": "ServiceSaleItem",
    "OneTime": "NonInventorySaleItem",
    "Usage": "ServiceSaleItem",
}

# Vendor ceilings per call (README, Configuration: `batch_sizes`): NetSuite addList <= 200 records, updateList /
# upsertList <= 100, getList <= 1000; Zuora has no list write, 50 keeps one batch of
# single-record calls short enough to log and retry as a unit.
BATCH_LIMITS: dict[str, int] = {
    "netsuite_add_list": 200,
    "netsuite_update_list": 100,
    "netsuite_upsert_list": 100,
    "netsuite_get_list": 1000,
    "zuora_write": 50,
}


class FieldOverrides(BaseModel):
    """Per-flow adjustments applied to the mapped payload, after the mapping function."""

    model_config = ConfigDict(extra="forbid")

    constants: dict[str, Any] = Field(default_factory=dict)  # payload field -> fixed value
    renames: dict[str, str] = Field(default_factory=dict)  # payload field -> new field name


class SubscriptionTerms(BaseModel):
    """Terms of the Zuora subscriptions created from NetSuite sales orders (a SuiteTalk 2023_2
    SalesOrder carries no term length, so they come from here)."""

    model_config = ConfigDict(extra="forbid")

    term_type: Literal["TERMED", "EVERGREEN"] = "TERMED"
    initial_term: int = Field(default=12, ge=1)
    renewal_term: int = Field(default=12, ge=1)
    term_period_type: Literal["Month", "Year", "Day", "Week"] = "Month"
    auto_renew: bool = True


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_master: Literal["zuora", "netsuite"] = "zuora"
    invoice_settlement: bool = False
    cutover_date: date | None = None
    item_type_by_charge_type: dict[ChargeType, ItemType] = Field(default_factory=lambda: dict(DEFAULT_ITEM_TYPES))
    default_subsidiary: str | None = None
    subsidiary_by_currency: dict[str, str] = Field(default_factory=dict)
    default_terms: str | None = None
    income_account_by_accounting_code: dict[str, str] = Field(default_factory=dict)
    default_income_account: str | None = None
    # NetSuite tax item (by name) per Zuora tax code; then a tax item named like the code, then the default.
    tax_item_by_tax_code: dict[str, str] = Field(default_factory=dict)
    default_tax_item: str | None = None
    batch_sizes: dict[str, int] = Field(default_factory=lambda: dict(BATCH_LIMITS))
    netsuite_concurrency: int = Field(default=5, ge=1, le=100)
    # Zuora requests in flight at once (push batches; staged objects and the slices of a large
    # window read side by side); Zuora's default tenant limit is 40 concurrent requests.
    zuora_concurrency: int = Field(default=4, ge=1, le=40)
    payments_ns_to_zuora: bool = False
    # The Zuora payment method (an external one of the tenant: Check, Cash, Other, ...) that the
    # payments `payments_ns_to_zuora` sends are recorded with. Required without Invoice Settlement:
    # Zuora creates those payments only through an action call, whose create() of a Payment needs
    # a `PaymentMethodId`. With it, unset means the account's default payment method.
    zuora_payment_method_id: str | None = Field(default=None, min_length=1, max_length=32)
    field_overrides: dict[str, FieldOverrides] = Field(default_factory=dict)
    overlap_minutes: int = Field(default=5, ge=0, le=24 * 60)
    subscription_terms: SubscriptionTerms = Field(default_factory=SubscriptionTerms)
    # When the `sync_all_schedule` starts the full sync (cron, in `schedule_timezone`); the schedule
    # itself is off until turned on in the UI or with `dagster schedule start`.
    sync_all_cron: str = "0 * * * *"
    schedule_timezone: str = "UTC"

    @field_validator("sync_all_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        # Dagster's own parser: what it accepts here is what the schedule will run on.
        from dagster._utils.schedules import is_valid_cron_string

        if not is_valid_cron_string(value):
            raise ValueError("must be a cron expression such as '0 * * * *' (hourly) or '*/15 * * * *'")
        return value

    @field_validator("schedule_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as 'UTC' or 'Europe/Berlin'") from None
        return value

    @field_validator("batch_sizes")
    @classmethod
    def _within_vendor_limits(cls, value: dict[str, int]) -> dict[str, int]:
        for op, size in value.items():
            if op not in BATCH_LIMITS:
                raise ValueError(f"unknown operation {op!r}; known: {', '.join(BATCH_LIMITS)}")
            if not 1 <= size <= BATCH_LIMITS[op]:
                raise ValueError(f"{op} must be between 1 and the vendor limit {BATCH_LIMITS[op]}, got {size}")
        return {**BATCH_LIMITS, **value}

    @field_validator("subsidiary_by_currency")
    @classmethod
    def _iso_currency_codes(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [code for code in value if len(code) != 3 or not code.isalpha()]
        if bad:
            raise ValueError(f"keys must be ISO 4217 currency codes, got {bad}")
        return {code.upper(): name for code, name in value.items()}

    def batch_size(self, operation: str) -> int:
        return self.batch_sizes.get(operation, BATCH_LIMITS[operation])
