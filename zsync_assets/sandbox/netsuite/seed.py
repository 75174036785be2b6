"""A deterministic seeded account: reference data always, NetSuite-born work when size > 0.

Reference data: subsidiaries with base currencies, currencies (symbol = ISO code), terms,
income accounts, tax items. Work for the NetSuite -> Zuora flows (scaled by `size`):
customers flagged "send to Zuora" (and some not), parent/child, unicode and long names,
service items, sales orders, invoices entered by accountants, partial payments, credit memos
applied to invoices, and a refund. Everything goes through the same write path as the API.
"""

from __future__ import annotations

import random
from datetime import datetime

from zsync_assets.sandbox.netsuite.clock import AccountClock
from zsync_assets.sandbox.netsuite.records import KINDS
from zsync_assets.sandbox.netsuite.schema import CORE, RECORD_REF, TYPE_KEY
from zsync_assets.sandbox.netsuite.store import Store
from zsync_assets.sandbox.netsuite.writes import RecordWriter

CURRENCIES = [
    ("US Dollar", "USD", True, 1.0),
    ("Euro", "EUR", False, 1.08),
    ("British Pound", "GBP", False, 1.27),
    ("Japanese Yen", "JPY", False, 0.0067),
    ("Canadian Dollar", "CAD", False, 0.73),
    ("Australian Dollar", "AUD", False, 0.66),
]
SUBSIDIARIES = [
    ("Parent Company", "USD", "_unitedStates", None),
    ("US Inc", "USD", "_unitedStates", "Parent Company"),
    ("EU GmbH", "EUR", "_germany", "Parent Company"),
    ("UK Ltd", "GBP", "_unitedKingdom", "Parent Company"),
]
TERMS = [("Net 30", 30), ("Net 60", 60), ("Due on receipt", 0), ("Net 15", 15)]
ACCOUNTS = [
    ("4000", "Subscription Revenue", "_income"),
    ("4010", "Usage Revenue", "_income"),
    ("4020", "Professional Services Revenue", "_income"),
    ("4900", "Other Income", "_otherIncome"),
    ("1200", "Accounts Receivable", "_accountsReceivable"),
    ("2500", "Deferred Revenue", "_deferredRevenue"),
    ("2300", "Sales Tax Payable", "_otherCurrentLiability"),
]
TAX_ITEMS = [
    ("CA State Tax", "7.25%"),
    ("NY Sales Tax", "8.875%"),
    ("DE VAT 19", "19%"),
    ("UK VAT 20", "20%"),
    ("Exempt", "0%"),
]
COMPANY_WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Gringotts",
    "Müller",
    "Société Générale des Tests",
    "Ōkami",
    "Zürich",
]
SUFFIXES = ["Inc", "LLC", "GmbH", "Ltd", "SA", "KK", "Holdings"]


def ref(internal_id: int | str) -> dict:
    return {TYPE_KEY: RECORD_REF, "internalId": str(internal_id)}


def custom(script_id: str, value, kind: str = "StringCustomFieldRef") -> dict:
    return {TYPE_KEY: f"{{{CORE}}}{kind}", "scriptId": script_id, "value": value}


def record(record_type: str, **fields) -> dict:
    return {TYPE_KEY: KINDS[record_type].xsd_type, **fields}


def seed_account(store: Store, clock: AccountClock, *, seed: int, size: int) -> None:
    rng = random.Random(seed)
    w = RecordWriter(store, clock)

    def add(record_type: str, **fields) -> int:
        return int(w.add(record(record_type, **fields))["internalId"])

    currency = {
        code: add(
            "currency", name=name, symbol=code, isBaseCurrency=base, exchangeRate=rate, externalId=f"currency-{code}"
        )
        for name, code, base, rate in CURRENCIES
    }
    subsidiary: dict[str, int] = {}
    for name, code, country, parent in SUBSIDIARIES:
        fields = {"name": name, "country": country, "legalName": name, "currency": ref(currency[code])}
        if parent:
            fields["parent"] = ref(subsidiary[parent])
        subsidiary[name] = add("subsidiary", **fields)
    terms = {name: add("term", name=name, daysUntilNetDue=days) for name, days in TERMS}
    accounts = {
        number: add("account", acctNumber=number, acctName=name, acctType=kind) for number, name, kind in ACCOUNTS
    }
    for name, rate in TAX_ITEMS:
        add("salesTaxItem", itemId=name, displayName=name, rate=rate)
    if size <= 0:
        return

    subs = [s for s in subsidiary.values()][1:]
    sub_currency = {subsidiary[n]: currency[c] for n, c, _, _ in SUBSIDIARIES}
    items = []
    for i, (name, price) in enumerate(
        [("Implementation Services", 150.0), ("Premium Support", 500.0), ("Training Day", 1200.0)]
    ):
        items.append(
            (
                add(
                    "serviceSaleItem",
                    itemId=name,
                    displayName=name,
                    incomeAccount=ref(accounts["4020"]),
                    salesDescription=f"{name} (entered in NetSuite)",
                    externalId=f"ns-item-{i}",
                ),
                price,
            )
        )

    customers: list[tuple[int, int]] = []  # (customer id, currency id)
    for i in range(max(2, size // 2)):
        word = COMPANY_WORDS[i % len(COMPANY_WORDS)]
        company = f"{word} {SUFFIXES[rng.randrange(len(SUFFIXES))]} {i + 1}"
        if i % 11 == 5:
            company = f"{company} — International Subscription Services and Consulting Group of Companies"
        sub = subs[i % len(subs)]
        fields = {
            "companyName": company,
            "email": f"billing{i + 1}@example.com",
            "subsidiary": ref(sub),
            "currency": ref(sub_currency[sub]),
            "terms": ref(terms[rng.choice(list(terms))]),
            "customFieldList": {
                "customField": [custom("custentity_zsync_send_to_zuora", i % 3 != 2, "BooleanCustomFieldRef")]
            },
            "addressbookList": {
                "addressbook": [
                    {
                        "defaultBilling": True,
                        "defaultShipping": True,
                        "label": "HQ",
                        "addressbookAddress": {
                            "addr1": f"{100 + i} Main Street",
                            "city": "Springfield",
                            "zip": f"{10000 + i}",
                        },
                    }
                ]
            },
        }
        if i % 7 == 6 and customers:
            fields["parent"] = ref(customers[0][0])
        customers.append((add("customer", **fields), sub_currency[sub]))

    def lines() -> dict:
        chosen = rng.sample(items, k=rng.randint(1, len(items)))
        return {
            "item": [
                {"item": ref(item), "quantity": float(rng.randint(1, 5)), "rate": f"{price:.2f}"}
                for item, price in chosen
            ]
        }

    flagged = [c for n, c in enumerate(customers) if n % 3 != 2]
    for n in range(max(1, size // 4)):
        customer, cur = flagged[n % len(flagged)]
        add(
            "salesOrder",
            entity=ref(customer),
            currency=ref(cur),
            itemList=lines(),
            startDate=datetime(2026, 1, 1),
            memo="Subscription order entered in NetSuite",
        )
    invoices = []
    for n in range(max(3, size // 4)):  # at least one paid, one credited, one open
        customer, cur = customers[n % len(customers)]
        invoices.append(
            (
                add(
                    "invoice",
                    entity=ref(customer),
                    currency=ref(cur),
                    itemList=lines(),
                    memo="Invoice entered by an accountant",
                ),
                customer,
            )
        )
    for n, (invoice, customer) in enumerate(invoices):
        open_amount = store.existing(invoice, "invoice")["data"]["amountRemaining"]
        if n % 3 == 0:  # partial payment
            amount = round(open_amount / 2, 2)
            add(
                "customerPayment",
                customer=ref(customer),
                payment=amount,
                applyList={"apply": [{"doc": invoice, "apply": True, "amount": amount}]},
            )
            if n == 0:
                unapplied = add("customerPayment", customer=ref(customer), payment=50.0)  # then refunded
                if store.existing(unapplied, "customerPayment")["data"].get("unapplied"):
                    add(
                        "customerRefund",
                        customer=ref(customer),
                        applyList={"apply": [{"doc": unapplied, "apply": True, "amount": 50.0}]},
                    )
        elif n % 3 == 1:  # credit memo applied to the invoice
            item, price = items[0]
            add(
                "creditMemo",
                entity=ref(customer),
                createdFrom=ref(invoice),
                itemList={"item": [{"item": ref(item), "quantity": 1.0, "rate": f"{price:.2f}"}]},
                applyList={"apply": [{"doc": invoice, "apply": True, "amount": min(price, open_amount)}]},
            )
