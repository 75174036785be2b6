"""NetSuite as a push target and as a write-back destination, through the NetSuiteClient.

Creates and updates are `upsertList` keyed by the deterministic externalId: a replay after a
crash updates the record it already created instead of adding a second one. A record matched
to a pre-existing customer (no zsync externalId yet) is updated by internalId with the
externalId set, so from then on the upsert key finds it. Lists are capped by the client at the
vendor limits (upsertList/updateList <= 100 records).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from zsync_assets.clients.netsuite.interface import (
    MAX_DELETE_LIST,
    MAX_GET_LIST,
    MAX_UPSERT_LIST,
    NetSuiteAuthError,
    NetSuiteClient,
    NetSuiteError,
    WriteResult,
)
from zsync_assets.config import Config
from zsync_assets.engine.flow import WriteBack
from zsync_assets.engine.sink import LinkNotice, Outcome, Outgoing, Reversal
from zsync_assets.lib.failure import Failure
from zsync_assets.targets.naming import plural_snake_case

# Where a record born in NetSuite says how its last sync went, for finance users who work in
# NetSuite: Zuora's refusal (code, message, date) or `Synced <date>`. Text Area custom fields
# (README, "NetSuite custom fields"), which NetSuite caps at 4,000 characters.
STATUS_FIELDS = {"customer": "custentity_zsync_status"}
TRANSACTION_STATUS_FIELD = "custbody_zsync_status"
STATUS_MAX_CHARS = 4000
# Transactions carry the time of their last sync (README, "Custom fields"). Stamped here, at write time:
# in the planned payload it would change the payload hash on every run.
SYNC_DATE_FIELD = "custbody_zsync_sync_date"
TRANSACTION_TYPES = frozenset({"invoice", "creditMemo", "customerPayment", "customerRefund", "salesOrder"})
# Where the records of each type zsync writes are staged (defs/netsuite/assets.py `STAGED`):
# the audit finds a link's target there, and a link whose target is missing breaks
# `links_resolve`. A record type's table is named after it (customerPayment ->
# netsuite.customer_payments), except the item types: one ItemSearch finds items of every type,
# so they share one table.
ITEM_TABLE = "netsuite.items"
ITEM_TYPES = frozenset({"serviceSaleItem", "nonInventorySaleItem"})


def staged_table(record_type: str) -> str:
    if record_type in ITEM_TYPES:
        return ITEM_TABLE
    return f"netsuite.{plural_snake_case(record_type)}"


# What a reversal may delete: transactions zsync wrote from Zuora documents, never a master record.
REVERSIBLE_TYPES = frozenset({"invoice", "creditMemo", "customerPayment", "customerRefund"})


def _outcome(source_id: str, result: WriteResult) -> Outcome:
    return Outcome(source_id, result.ok, result.internal_id, result.failure)


class NetSuiteSink:
    system = "netsuite"

    def __init__(self, client: NetSuiteClient):
        self.client = client

    def instance_id(self) -> str:
        return str(self.client.account_id)

    def batch_size(self, config: Config, action: str) -> int:
        if action == "reverse":
            return MAX_DELETE_LIST  # one deleteList call (<= 200 records)
        return min(config.batch_size("netsuite_upsert_list"), MAX_UPSERT_LIST)

    def parallel_batches(self, config: Config) -> int:
        # NetSuite counts concurrent requests per account (README, Configuration: 5 Standard .. 20
        # Enterprise, +10 per SuiteCloud Plus); one batch is one list call. The client's slots
        # hold that limit across threads and processes; its own setting (NETSUITE_CONCURRENCY)
        # wins over zsync.yaml, as it does for the client.
        return getattr(self.client, "concurrency", None) or config.netsuite_concurrency

    def write(self, records: Sequence[Outgoing]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        by_type: dict[tuple[str, str], list[int]] = {}
        for i, rec in enumerate(records):
            op = "update" if rec.target_id else "upsert"
            by_type.setdefault((rec.record_type, op), []).append(i)
        for (record_type, op), indexes in by_type.items():
            body = [self._record(records[i]) for i in indexes]
            try:
                results = (self.client.update_list if op == "update" else self.client.upsert_list)(record_type, body)
            except NetSuiteAuthError:
                raise  # a credential problem fails the step; no record is to blame
            except NetSuiteError as error:
                results = [WriteResult(False, failure=error.failure) for _ in indexes]
            for i, result in zip(indexes, results, strict=True):
                outcomes[i] = _outcome(records[i].source_id, result)
        return [outcomes[i] for i in range(len(records))]

    @staticmethod
    def _record(rec: Outgoing) -> dict:
        record = {**rec.payload, "externalId": rec.external_id}
        if rec.record_type in TRANSACTION_TYPES and isinstance(record.get("customFieldList"), dict):
            record["customFieldList"] = {**record["customFieldList"], SYNC_DATE_FIELD: datetime.now(UTC)}
        if rec.target_id:
            record["internalId"] = rec.target_id
        return record

    def lookup(self, records: Sequence[Outgoing]) -> dict[str, str]:
        found: dict[str, str] = {}
        by_type: dict[str, list[Outgoing]] = {}
        for rec in records:
            by_type.setdefault(rec.record_type, []).append(rec)
        for record_type, recs in by_type.items():
            for start in range(0, len(recs), MAX_GET_LIST):
                chunk = recs[start : start + MAX_GET_LIST]
                source_of = {r.external_id: r.source_id for r in chunk}
                for record in self.client.get_list(record_type, external_ids=list(source_of)):
                    if record.get("externalId") in source_of and record.get("internalId"):
                        found[source_of[record["externalId"]]] = str(record["internalId"])
        return found

    def reverse(self, records: Sequence[Reversal]) -> list[Outcome]:
        """Delete the transactions zsync created for documents canceled or deleted in Zuora.

        Why delete: a canceled Zuora payment is canceled "as of the original payment date" and a
        Zuora memo is only canceled once unposted, so the NetSuite mirror is that the document
        never posted — which is what deleting it does (NetSuite keeps the deletion in its system
        notes, zsync in zsync.push_log). NetSuite refuses where accountants need to decide
        (a closed period, a deposited payment, other transactions applied to it): that refusal
        is the record's blocked reason until a person reverses it in an open period.
        A record already deleted (RCRD_DSNT_EXIST) is a success: the reversal is idempotent."""
        outcomes: dict[int, Outcome] = {}
        by_type: dict[str, list[int]] = {}
        for i, rec in enumerate(records):
            if rec.record_type in REVERSIBLE_TYPES:
                by_type.setdefault(rec.record_type, []).append(i)
            else:  # zsync never deletes a master record (README, "Deletions")
                outcomes[i] = Outcome.failed(
                    rec.source_id,
                    Failure(
                        "data",
                        "ZSYNC_NOT_REVERSIBLE",
                        f"zsync deletes only transactions it created, not a {rec.record_type}",
                    ),
                )
        for record_type, indexes in by_type.items():
            try:
                results = self.client.delete_list(record_type, [records[i].target_id for i in indexes])
            except NetSuiteAuthError:
                raise
            except NetSuiteError as error:
                results = [WriteResult(False, failure=error.failure) for _ in indexes]
            for i, result in zip(indexes, results, strict=True):
                gone = result.ok or result.code == "RCRD_DSNT_EXIST"
                if gone:
                    outcomes[i] = Outcome(records[i].source_id, True, records[i].target_id)
                else:
                    assert result.failure is not None  # a WriteResult that is not ok carries its verdict
                    outcomes[i] = Outcome.failed(records[i].source_id, result.failure)
        return [outcomes[i] for i in range(len(records))]

    def write_back(self, write_back: WriteBack, notices: Sequence[LinkNotice]) -> list[Outcome]:
        """The record learns its Zuora counterpart (in the custom field its flow's `WriteBack`
        names) and that it synced, or why Zuora refused it."""
        record_type, field = write_back.record_type, write_back.field
        if not field:  # a declaration fault: test_flow_checks checks every declared flow for it
            raise ValueError(f"the write-back to NetSuite {record_type} names no custom field for the link")
        status_field = STATUS_FIELDS.get(record_type, TRANSACTION_STATUS_FIELD)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        todo, body = [], []
        for n in notices:
            if n.ok and n.target_id:
                custom = {field: n.target_id, status_field: f"Synced {stamp}"}
            elif not n.ok:
                custom = {status_field: refusal_status(n.message, stamp)}
            else:
                continue
            todo.append(n)
            body.append({"internalId": n.source_id, "customFieldList": custom})
        try:
            results = self.client.update_list(record_type, body) if body else []
        except NetSuiteAuthError:
            raise
        except NetSuiteError as error:
            results = [WriteResult(False, failure=error.failure) for _ in todo]
        done = {n.source_id: _outcome(n.source_id, r) for n, r in zip(todo, results, strict=True)}
        return [done.get(n.source_id, Outcome(n.source_id, True)) for n in notices]


def refusal_status(message: str | None, stamp: str) -> str:
    """`Not synced: Zuora refused it on <date>: <code>: <message>`, cut to the field's limit."""
    text = f"Not synced: Zuora refused it on {stamp}: {message or 'no message'}"
    return text if len(text) <= STATUS_MAX_CHARS else text[: STATUS_MAX_CHARS - 1] + "…"
