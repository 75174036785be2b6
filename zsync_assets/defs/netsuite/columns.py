"""The declared columns of every staged NetSuite table: what staging guarantees to the mappings.

A staged table (and its line table) exists with these columns, typed, from its first staging on,
even when NetSuite returned no record (a new account without customers still has
`netsuite.customers`), so a mapping never meets a missing table or column. Columns are the
flattened record fields (`defs/netsuite/rows.py`: RecordRefs as `<field>_internal_id` /
`<field>_name`, custom fields by script id); fields beyond these are added as they come.
Types are DuckDB's.
"""

COLUMNS: dict[str, dict[str, str]] = {
    "accounts": {
        "acct_type": "TEXT", "acct_number": "TEXT", "acct_name": "TEXT", "internal_id": "TEXT",
        "record_type": "TEXT",
    },
    "credit_memo_lines": {
        "transaction_internal_id": "TEXT", "item_internal_id": "TEXT", "item_name": "TEXT",
        "line": "BIGINT", "quantity": "DOUBLE", "rate": "TEXT", "amount": "DOUBLE",
        "description": "TEXT", "custcol_zsync_zuora_item_id": "TEXT",
    },
    "credit_memos": {
        "created_date": "TIMESTAMPTZ", "last_modified_date": "TIMESTAMPTZ",
        "currency_internal_id": "TEXT", "currency_name": "TEXT", "entity_internal_id": "TEXT",
        "entity_name": "TEXT", "tran_date": "DATE", "tran_id": "TEXT",
        "created_from_internal_id": "TEXT", "created_from_name": "TEXT",
        "subsidiary_internal_id": "TEXT", "subsidiary_name": "TEXT", "amount_remaining": "DOUBLE",
        "unapplied": "DOUBLE", "applied": "DOUBLE", "sub_total": "DOUBLE", "total": "DOUBLE",
        "status": "TEXT", "item_list": "TEXT", "apply_list": "TEXT", "internal_id": "TEXT",
        "record_type": "TEXT", "memo": "TEXT", "custbody_zsync_origin": "TEXT",
        "custbody_zsync_zuora_id": "TEXT", "custbody_zsync_zuora_type": "TEXT",
        "custbody_zsync_sync_date": "TIMESTAMPTZ", "external_id": "TEXT",
    },
    "currencies": {
        "name": "TEXT", "symbol": "TEXT", "is_base_currency": "BOOLEAN", "exchange_rate": "DOUBLE",
        "internal_id": "TEXT", "external_id": "TEXT", "record_type": "TEXT",
    },
    "customer_payment_lines": {
        "transaction_internal_id": "TEXT", "apply": "BOOLEAN", "doc": "BIGINT", "type": "TEXT",
        "ref_num": "TEXT", "total": "DOUBLE", "due": "DOUBLE", "amount": "DOUBLE", "line": "BIGINT",
    },
    "customer_payments": {
        "created_date": "TIMESTAMPTZ", "last_modified_date": "TIMESTAMPTZ",
        "customer_internal_id": "TEXT", "customer_name": "TEXT", "currency_internal_id": "TEXT",
        "currency_name": "TEXT", "payment": "DOUBLE", "tran_date": "DATE", "tran_id": "TEXT",
        "total": "DOUBLE", "subsidiary_internal_id": "TEXT", "subsidiary_name": "TEXT",
        "applied": "DOUBLE", "unapplied": "DOUBLE", "status": "TEXT", "apply_list": "TEXT",
        "internal_id": "TEXT", "record_type": "TEXT", "memo": "TEXT",
        "custbody_zsync_origin": "TEXT", "custbody_zsync_zuora_id": "TEXT",
        "custbody_zsync_zuora_type": "TEXT", "custbody_zsync_sync_date": "TIMESTAMPTZ",
        "external_id": "TEXT",
    },
    "customer_refund_lines": {
        "transaction_internal_id": "TEXT", "apply": "BOOLEAN", "doc": "BIGINT", "type": "TEXT",
        "ref_num": "TEXT", "total": "DOUBLE", "due": "DOUBLE", "amount": "DOUBLE", "line": "BIGINT",
    },
    "customer_refunds": {
        "created_date": "TIMESTAMPTZ", "last_modified_date": "TIMESTAMPTZ", "status": "TEXT",
        "customer_internal_id": "TEXT", "customer_name": "TEXT", "total": "DOUBLE",
        "currency_internal_id": "TEXT", "currency_name": "TEXT", "tran_date": "DATE",
        "tran_id": "TEXT", "subsidiary_internal_id": "TEXT", "subsidiary_name": "TEXT",
        "apply_list": "TEXT", "internal_id": "TEXT", "record_type": "TEXT", "memo": "TEXT",
        "custbody_zsync_origin": "TEXT", "custbody_zsync_zuora_id": "TEXT",
        "custbody_zsync_zuora_type": "TEXT", "custbody_zsync_sync_date": "TIMESTAMPTZ",
        "external_id": "TEXT",
    },
    "customers": {
        "entity_id": "TEXT", "company_name": "TEXT", "email": "TEXT", "date_created": "TIMESTAMPTZ",
        "subsidiary_internal_id": "TEXT", "subsidiary_name": "TEXT", "terms_internal_id": "TEXT",
        "terms_name": "TEXT", "currency_internal_id": "TEXT", "currency_name": "TEXT",
        "last_modified_date": "TIMESTAMPTZ", "addressbook_list": "TEXT",
        "custentity_zsync_send_to_zuora": "BOOLEAN", "internal_id": "TEXT", "record_type": "TEXT",
        "parent_internal_id": "TEXT", "parent_name": "TEXT", "phone": "TEXT",
        "custentity_zsync_zuora_id": "TEXT", "external_id": "TEXT", "is_person": "BOOLEAN",
        "first_name": "TEXT", "last_name": "TEXT",
    },
    "invoice_lines": {
        "transaction_internal_id": "TEXT", "item_internal_id": "TEXT", "item_name": "TEXT",
        "line": "BIGINT", "amount": "DOUBLE", "quantity": "DOUBLE", "rate": "TEXT",
        "description": "TEXT", "rev_rec_start_date": "DATE", "rev_rec_end_date": "DATE",
        "custcol_zsync_zuora_item_id": "TEXT",
    },
    "invoices": {
        "created_date": "TIMESTAMPTZ", "last_modified_date": "TIMESTAMPTZ",
        "entity_internal_id": "TEXT", "entity_name": "TEXT", "tran_date": "DATE", "tran_id": "TEXT",
        "subsidiary_internal_id": "TEXT", "subsidiary_name": "TEXT", "currency_internal_id": "TEXT",
        "currency_name": "TEXT", "memo": "TEXT", "amount_paid": "DOUBLE",
        "amount_remaining": "DOUBLE", "sub_total": "DOUBLE", "total": "DOUBLE", "status": "TEXT",
        "item_list": "TEXT", "internal_id": "TEXT", "record_type": "TEXT", "due_date": "DATE",
        "custbody_zsync_origin": "TEXT", "custbody_zsync_zuora_id": "TEXT",
        "custbody_zsync_zuora_type": "TEXT", "custbody_zsync_sync_date": "TIMESTAMPTZ",
        "external_id": "TEXT",
    },
    "items": {
        "created_date": "TIMESTAMPTZ", "last_modified_date": "TIMESTAMPTZ",
        "sales_description": "TEXT", "income_account_internal_id": "TEXT",
        "income_account_name": "TEXT", "item_id": "TEXT", "display_name": "TEXT",
        "internal_id": "TEXT", "external_id": "TEXT", "record_type": "TEXT",
        "custitem_zsync_zuora_id": "TEXT",
    },
    "sales_order_lines": {
        "transaction_internal_id": "TEXT", "item_internal_id": "TEXT", "item_name": "TEXT",
        "quantity": "DOUBLE", "rate": "TEXT", "amount": "DOUBLE", "line": "BIGINT",
    },
    "sales_orders": {
        "created_date": "TIMESTAMPTZ", "entity_internal_id": "TEXT", "entity_name": "TEXT",
        "currency_internal_id": "TEXT", "currency_name": "TEXT", "tran_date": "DATE",
        "tran_id": "TEXT", "order_status": "TEXT", "start_date": "DATE", "memo": "TEXT",
        "sub_total": "DOUBLE", "total": "DOUBLE", "subsidiary_internal_id": "TEXT",
        "subsidiary_name": "TEXT", "last_modified_date": "TIMESTAMPTZ", "status": "TEXT",
        "item_list": "TEXT", "internal_id": "TEXT", "record_type": "TEXT",
    },
    "subsidiaries": {
        "name": "TEXT", "country": "TEXT", "legal_name": "TEXT", "currency_internal_id": "TEXT",
        "currency_name": "TEXT", "internal_id": "TEXT", "record_type": "TEXT",
        "parent_internal_id": "TEXT", "parent_name": "TEXT",
    },
    "tax_items": {
        "item_id": "TEXT", "display_name": "TEXT", "rate": "TEXT", "internal_id": "TEXT",
        "record_type": "TEXT",
    },
    "terms": {
        "name": "TEXT", "days_until_net_due": "BIGINT", "internal_id": "TEXT",
        "record_type": "TEXT",
    },
}
