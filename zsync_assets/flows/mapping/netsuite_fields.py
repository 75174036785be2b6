"""zsync's custom fields on NetSuite records, one name each.

NetSuite prefixes a custom field's script id with the kind of record it sits on: `custentity`
(customers), `custitem` (items), `custbody` (a transaction's header), `custcol` (a transaction
line). So the Zuora id that links a record to its Zuora counterpart is three fields, one per
kind (`zsync preflight` checks that the account has each one it needs: cli/preflight.py).
"""

from __future__ import annotations

CUSTOMER_ZUORA_ID_FIELD = "custentity_zsync_zuora_id"  # the Zuora account id
ITEM_ZUORA_ID_FIELD = "custitem_zsync_zuora_id"  # the Zuora product rate plan charge id
TRANSACTION_ZUORA_ID_FIELD = "custbody_zsync_zuora_id"  # the Zuora invoice, memo, payment, refund... id
ZUORA_TYPE_FIELD = "custbody_zsync_zuora_type"  # which Zuora object that id names (INVOICE, PAYMENT, ...)
LINE_ID_FIELD = "custcol_zsync_zuora_item_id"  # the Zuora invoice or memo item of a line
# Where a transaction was born; ORIGIN_ZUORA marks one zsync wrote from Zuora, which is never
# sent back to Zuora (echo prevention).
ORIGIN_FIELD = "custbody_zsync_origin"
ORIGIN_ZUORA = "ZUORA"
