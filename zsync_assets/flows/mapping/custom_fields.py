"""Custom fields several flows declare (`Flow.custom_fields`), named once.

Zuora: the connector fields its NetSuite integration adds to every object it syncs; zsync
writes them back on each synced record (targets/zuora.py `write_back`). NetSuite: the custom
fields zsync creates on the documents it writes (README, "NetSuite custom fields").
"""

ZUORA_WRITE_BACK = ("IntegrationId__NS", "IntegrationStatus__NS", "SyncDate__NS")
# A document written from a Zuora one: its Zuora id and type, who made it, when it last synced.
DOCUMENT = ("custbody_zsync_zuora_id", "custbody_zsync_zuora_type", "custbody_zsync_origin", "custbody_zsync_sync_date")
LINES = ("custcol_zsync_zuora_item_id",)
# A document entered in NetSuite learns its Zuora id, and why Zuora refused it (targets/netsuite.py).
FROM_NETSUITE = ("custbody_zsync_zuora_id", "custbody_zsync_origin", "custbody_zsync_status")
