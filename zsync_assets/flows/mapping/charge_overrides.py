"""A NetSuite sales order line as the charge override of a Zuora subscription. Pure functions.

The line is the contract: quantity Q at rate R is worth its amount A (NetSuite keeps
A = Q x R on the line). Zuora bills a subscribed charge by its `chargeModel` (the `ChargeModel`
enum of `zsync_assets/vendor/zuora-openapi/zuora_openapi.yaml`), taking the overrides
`POSTScCreateType` declares for `POST /v1/subscriptions` (`price`, `quantity`,
`discountAmount`, `discountPercentage`, `tiers`). So that the subscription bills what the line
is worth:

| model | override | Zuora bills a period |
|---|---|---|
| Flat Fee Pricing | `price` = A | A (no quantity: R alone would bill 1/Q of the line) |
| Per Unit Pricing | `quantity` = Q, `price` = R | Q x R |
| Per Unit Pricing, Usage charge | `price` = R | R per unit used (Q is an estimate, not subscribed) |
| Discount-Fixed Amount | `discountAmount` = -A (A <= 0) | the same amount off |
| Discount-Percentage | `discountPercentage` = x for a rate "-x%" | the same percentage off |
| Tiered, Volume, (Tiered with) Overage, other | none: the order is blocked | (a price per tier) |

A line that cannot be billed as it says comes with the reason. Its override is then the one
zsync sent before it checked this (the quantity, for the quantity-based models), so that a
subscription created back then does not look amended.
"""

from __future__ import annotations

from typing import Any

FLAT_FEE, PER_UNIT = "Flat Fee Pricing", "Per Unit Pricing"
DISCOUNT_FIXED, DISCOUNT_PERCENTAGE = "Discount-Fixed Amount", "Discount-Percentage"
# Models whose subscribed charge carries a quantity (Zuora refuses one on the others).
QUANTITY_MODELS = (PER_UNIT, "Volume Pricing", "Tiered Pricing", "Tiered with Overage Pricing")


def number(value: Any) -> float | None:
    try:
        return float(str(value).replace(",", "").rstrip("%"))
    except (TypeError, ValueError):
        return None


def _is_percentage(rate: Any) -> bool:
    return str(rate or "").strip().endswith("%")


def _amount(line: dict, quantity: float, rate: float | None) -> float | None:
    """The line's worth: NetSuite's own amount, else quantity x rate."""
    amount = number(line.get("amount"))
    if amount is None and rate is not None:
        amount = round(quantity * rate, 2)
    return amount


def _describe(line: dict, quantity: float, rate: Any, amount: float | None) -> str:
    worth = f" = {amount:.2f}" if amount is not None else ""
    return f"line {line.get('line')} ('{line.get('item_name') or ''}', {quantity:g} x {rate}{worth})"


def charge_override(line: dict, charge: dict) -> tuple[dict[str, Any], str | None]:
    """(the `chargeOverrides` item for this line, why Zuora could not bill the line as it says)."""
    override: dict[str, Any] = {"productRatePlanChargeId": charge["id"]}
    model, usage = charge.get("charge_model"), charge.get("charge_type") == "Usage"
    raw_rate = line.get("rate")
    quantity = number(line.get("quantity"))
    quantity = 1.0 if quantity is None else quantity  # NetSuite prices a line without quantity once
    rate = None if _is_percentage(raw_rate) else number(raw_rate)
    amount = None if _is_percentage(raw_rate) else _amount(line, quantity, rate)
    default = number(charge.get("default_quantity"))
    takes_quantity = model in QUANTITY_MODELS and not usage and quantity != default
    name = f"Zuora charge '{charge.get('name') or charge['id']}'"

    def cannot(why: str) -> tuple[dict[str, Any], str]:
        legacy = {**override, "quantity": quantity} if takes_quantity else override
        return legacy, f"{_describe(line, quantity, raw_rate, amount)}: {name} {why}"

    if model == FLAT_FEE:
        return ({**override, "price": amount} if amount is not None else override), None
    if model == PER_UNIT:
        if takes_quantity:
            override["quantity"] = quantity
        if rate is None and amount is not None and quantity:
            rate = round(amount / quantity, 6)
        return ({**override, "price": rate} if rate is not None else override), None
    if model == DISCOUNT_FIXED:
        if _is_percentage(raw_rate):
            return cannot("is a fixed amount discount; the line gives a percentage")
        if amount is None:
            return override, None  # nothing on the line: the catalog discount
        if amount > 0:
            return cannot("is a discount; the line charges money instead of taking it off")
        return {**override, "discountAmount": abs(amount)}, None
    if model == DISCOUNT_PERCENTAGE:
        if _is_percentage(raw_rate):
            # A percentage takes its share of what it discounts, whatever the line's quantity.
            return {**override, "discountPercentage": abs(number(raw_rate) or 0.0)}, None
        if amount is None:
            return override, None
        return cannot(
            "is a percentage discount; the line gives an amount, and the share of what it discounts is not known here"
        )
    if model in ("Tiered Pricing", "Volume Pricing", "Tiered with Overage Pricing", "Overage Pricing"):
        return cannot(f"prices by tier ({model}), which one line rate cannot set: create this subscription in Zuora")
    return cannot(f"has charge model {model or 'unknown'}, which zsync does not map: create this subscription in Zuora")
