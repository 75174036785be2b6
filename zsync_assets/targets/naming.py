"""How the vendors name collections of a record type."""

import re


def plural_snake_case(record_type: str) -> str:
    """`customerPayment` / `CreditMemo` -> `customer_payments` / `credit_memos`: how both
    vendors' record types name their collections (Zuora's Object Query objects, zsync's staged
    tables)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", record_type).lower() + "s"
