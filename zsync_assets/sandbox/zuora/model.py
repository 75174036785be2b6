"""The objects the Zuora sandbox holds, with the field names Zuora's Object Query returns.

Field names and types follow the `Expanded<Object>` schemas of Zuora's OpenAPI spec (camelCase)
plus the NetSuite-connector custom fields the spec declares in `<Object>ObjectNSFields`
(exact spelling: `IntegrationId__NS`, ...). A field is declared as `name` (string) or
`name:<type>` with t = date-time, d = date, n = number, i = integer, b = boolean. Filtering on a
field that is not declared here is a 400, as in Zuora.

A tenant may lack some of the custom fields (one that never ran Zuora's NetSuite connector has
no `__NS` fields): `absent_fields(setting)` names them, the gateway sets `ABSENT_FIELDS` for the
request it serves, and every field lookup (`has`, `canonical`) then treats them as unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

# (object path, field) of the custom fields the tenant serving this request does not have.
ABSENT_FIELDS: ContextVar[frozenset[tuple[str, str]]] = ContextVar("zuora_absent_fields", default=frozenset())

_SYNC_NS = "IntegrationId__NS IntegrationStatus__NS SyncDate__NS"
_AUDIT = "id createdById createdDate:t updatedById updatedDate:t"


@dataclass(frozen=True)
class ObjectType:
    path: str  # Object Query path segment: "product-rate-plan-charges"
    zoql: str  # ZOQL / action object name: "ProductRatePlanCharge"
    spec: str = ""  # whitespace-separated field declarations
    types: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for decl in self.spec.split():
            name, _, kind = decl.partition(":")
            self.types[name] = kind or "s"

    @property
    def fields(self) -> list[str]:
        return list(self.types)

    def has(self, name: str) -> bool:
        """`name`, spelled exactly, is a field of this object in the current tenant."""
        return name in self.types and (self.path, name) not in ABSENT_FIELDS.get()

    def canonical(self, name: str) -> str | None:
        """Object Query field names match case-insensitively (Zuora docs, "Expand, filter, fields")."""
        found = name if name in self.types else {f.lower(): f for f in self.types}.get(name.lower())
        return found if found is not None and self.has(found) else None

    def blank(self) -> dict:
        return dict.fromkeys(self.types)


OBJECTS: dict[str, ObjectType] = {
    o.path: o
    for o in [
        ObjectType(
            "accounts",
            "Account",
            f"""{_AUDIT} accountNumber name status currency balance:n
            totalInvoiceBalance:n creditBalance:n unappliedBalance:n totalDebitMemoBalance:n
            unappliedCreditMemoAmount:n autoPay:b billCycleDay:i billToId soldToId parentId crmId
            notes paymentTerm batch purchaseOrderNumber salesRepName lastInvoiceDate:d
            invoiceDeliveryPrefsEmail:b invoiceDeliveryPrefsPrint:b taxExemptStatus
            {_SYNC_NS} SynctoNetSuite__NS CustomerType__NS Subsidiary__NS Class__NS Department__NS
            Location__NS""",
        ),
        ObjectType(
            "contacts",
            "Contact",
            f"""{_AUDIT} accountId firstName lastName nickname workEmail
            personalEmail workPhone address1 address2 city state postalCode country county
            taxRegion""",
        ),
        ObjectType(
            "products",
            "Product",
            f"""{_AUDIT} name sKU productNumber category
            effectiveStartDate:d effectiveEndDate:d allowFeatureChanges:b {_SYNC_NS} ItemType__NS""",
        ),
        ObjectType(
            "product-rate-plans",
            "ProductRatePlan",
            f"""{_AUDIT} productId name
            productRatePlanNumber effectiveStartDate:d effectiveEndDate:d {_SYNC_NS} ItemType__NS
            BillingPeriod__NS Subsidiary__NS Class__NS Department__NS Location__NS""",
        ),
        ObjectType(
            "product-rate-plan-charges",
            "ProductRatePlanCharge",
            f"""{_AUDIT}
            productRatePlanId name productRatePlanChargeNumber chargeType chargeModel billingPeriod
            billingTiming triggerEvent endDateCondition accountingCode uOM defaultQuantity:n
            listPriceBase revRecCode revenueRecognitionRuleName deferredRevenueAccount
            recognizedRevenueAccount {_SYNC_NS} ItemType__NS Subsidiary__NS Class__NS Department__NS
            Location__NS DeferredRevAccount__NS RecognizedRevAccount__NS""",
        ),
        ObjectType(
            "subscriptions",
            "Subscription",
            f"""{_AUDIT} accountId invoiceOwnerId name
            status version:i isLatestVersion:b termType initialTerm:i initialTermPeriodType
            currentTerm:i currentTermPeriodType renewalTerm:i renewalTermPeriodType autoRenew:b
            contractEffectiveDate:d serviceActivationDate:d contractAcceptanceDate:d
            subscriptionStartDate:d subscriptionEndDate:d termStartDate:d termEndDate:d
            cancelledDate:d currency notes {_SYNC_NS} SalesOrder__NS Project__NS""",
        ),
        ObjectType(
            "invoices",
            "Invoice",
            f"""{_AUDIT} accountId invoiceNumber invoiceDate:d
            dueDate:d targetDate:d status currency amount:n amountWithoutTax:n balance:n
            paymentAmount:n adjustmentAmount:n creditMemoAmount:n refundAmount:n
            creditBalanceAdjustmentAmount:n postedBy postedDate:t source sourceType comments
            includesOneTime:b includesRecurring:b includesUsage:b reversed:b {_SYNC_NS}""",
        ),
        ObjectType(
            "invoice-items",
            "InvoiceItem",
            f"""{_AUDIT} invoiceId accountId subscriptionId
            subscriptionNumber productId productRatePlanId productRatePlanChargeId ratePlanChargeId
            chargeName chargeNumber chargeDate:t chargeAmount:n unitPrice:n quantity:n uOM
            discountAmount:n processingType appliedToInvoiceItemId serviceStartDate:d
            serviceEndDate:d revRecStartDate:d sKU accountingCode sourceItemType balance:n
            {_SYNC_NS}""",
        ),
        ObjectType(
            "taxation-items",
            "TaxationItem",
            f"""{_AUDIT} invoiceItemId name jurisdiction
            locationCode taxAmount:n taxRate:n taxRateType taxMode taxCode taxCodeDescription
            taxDate:d taxableAmount:n exemptAmount:n creditAmount:n paymentAmount:n balance:n
            countryCode accountingCode""",
        ),
        ObjectType(
            "payments",
            "Payment",
            f"""{_AUDIT} accountId paymentNumber amount:n
            appliedAmount:n unappliedAmount:n refundAmount:n currency effectiveDate:d status type
            source comment referenceId gatewayState cancelledOn:t paymentMethodId
            {_SYNC_NS} Origin__NS Transaction__NS""",
        ),
        ObjectType(
            "payment-applications",
            "PaymentApplication",
            """id createdDate:t updatedDate:t
            paymentId invoiceId debitMemoId accountId applyAmount:n effectiveDate:d
            paymentApplicationStatus""",
        ),
        ObjectType(
            "refunds",
            "Refund",
            f"""{_AUDIT} accountId refundNumber amount:n currency
            refundDate:d status type sourceType methodType reasonCode comment
            {_SYNC_NS} Origin__NS SynctoNetSuite__NS""",
        ),
        # A refund names its payment (or credit memo) through a refund application.
        ObjectType(
            "refund-applications",
            "RefundApplication",
            f"""{_AUDIT} accountId refundId
            paymentId creditMemoId applyAmount:n effectiveDate:d""",
        ),
        ObjectType(
            "credit-memos",
            "CreditMemo",
            f"""{_AUDIT} accountId memoNumber memoDate:d
            status currency totalAmount:n totalAmountWithoutTax:n taxAmount:n appliedAmount:n
            refundAmount:n balance:n reasonCode comment source sourceType invoiceId postedOn:t
            postedById {_SYNC_NS} Origin__NS Transaction__NS""",
        ),
        # What a credit memo was applied to (PUT /v1/credit-memos/{key}/apply): one row per
        # invoice or debit memo, `ExpandedCreditMemoApplication` fields.
        ObjectType(
            "credit-memo-applications",
            "CreditMemoApplication",
            f"""{_AUDIT} amount:n
            effectiveDate:d creditMemoId accountId applicationGroupId debitMemoId invoiceId""",
        ),
        ObjectType(
            "credit-memo-items",
            "CreditMemoItem",
            f"""{_AUDIT} creditMemoId amount:n
            amountWithoutTax:n taxAmount:n chargeName productRatePlanChargeId invoiceItemId
            quantity:n unitPrice:n sku serviceStartDate:d serviceEndDate:d sourceItemType
            unappliedAmount:n""",
        ),
        ObjectType(
            "debit-memos",
            "DebitMemo",
            f"""{_AUDIT} accountId memoNumber memoDate:d
            dueDate:d status currency totalAmount:n totalAmountWithoutTax:n taxAmount:n
            balance:n reasonCode comments source sourceType invoiceId postedOn:t postedById
            {_SYNC_NS}""",
        ),
        ObjectType(
            "debit-memo-items",
            "DebitMemoItem",
            f"""{_AUDIT} debitMemoId amount:n
            amountWithoutTax:n taxAmount:n chargeName productRatePlanChargeId quantity:n
            unitPrice:n sku serviceStartDate:d serviceEndDate:d sourceItemType balance:n""",
        ),
        # Not an Object Query object (Zuora serves it through ZOQL only), stored the same way.
        ObjectType(
            "invoice-item-adjustments",
            "InvoiceItemAdjustment",
            f"""{_AUDIT} accountId
            invoiceId invoiceNumber invoiceItemName sourceId sourceType type amount:n
            adjustmentDate:d adjustmentNumber reasonCode comment status serviceStartDate:d
            serviceEndDate:d {_SYNC_NS}""",
        ),
    ]
}

# Object Query serves every object above except those only ZOQL reaches.
OBJECT_QUERY = {path: o for path, o in OBJECTS.items() if path != "invoice-item-adjustments"}
BY_ZOQL = {o.zoql.lower(): o for o in OBJECTS.values()}


def custom_fields_of(obj: ObjectType) -> list[str]:
    return [f for f in obj.fields if "__" in f]


def absent_fields(present: Mapping[str, Iterable[str]] | None) -> frozenset[tuple[str, str]]:
    """The custom fields a tenant lacks, from which ones it has: `{ZOQL object: [field, ...]}`
    (objects not named keep every custom field declared above)."""
    absent = set()
    for name, fields in (present or {}).items():
        obj = BY_ZOQL.get(name.lower())
        if obj is None:
            raise ValueError(f"custom_fields: unknown Zuora object {name!r}")
        declared, kept = custom_fields_of(obj), set(fields)
        if kept - set(declared):
            raise ValueError(
                f"custom_fields: {sorted(kept - set(declared))} are not custom fields the sandbox "
                f"models on {obj.zoql} (it has {declared})"
            )
        absent |= {(obj.path, f) for f in declared if f not in kept}
    return frozenset(absent)
