"""A deterministic Zuora tenant: the cases that break naive connectors, sized by account count.

Dates are relative to the seeding day (`months` monthly bill runs ending this month, default six). `size` is the
number of accounts; 0 gives an empty tenant (no catalog either). Everything is built in memory
and written in one transaction, so a 40-account tenant seeds in a fraction of a second.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from zsync_assets.sandbox.zuora import ledger
from zsync_assets.sandbox.zuora.model import OBJECTS
from zsync_assets.sandbox.zuora.store import SANDBOX_USER_ID, Store, now_iso

FX = {"USD": 1.0, "EUR": 0.9, "GBP": 0.8, "JPY": 150.0}
TAX = {  # currency -> (jurisdiction, country, rate, tax code)
    "USD": ("CALIFORNIA", "US", 0.0825, "SALES"),
    "EUR": ("GERMANY", "DE", 0.19, "VAT-DE"),
    "GBP": ("UNITED KINGDOM", "GB", 0.20, "VAT-GB"),
    "JPY": ("JAPAN", "JP", 0.10, "CT-JP"),
}
COMPANIES = [
    "Acme Analytics",
    "Northwind Traders",
    "Globex Systems",
    "Initech Cloud",
    "Umbrella Labs",
    "Stark Logistics",
    "Wayne Data",
    "Hooli Retail",
    "Vandelay Imports",
    "Cyberdyne Robotics",
]
UNICODE_COMPANIES = [
    "Müller & Söhne GmbH",
    "Société Générale des Eaux",
    "株式会社サンプル商事",
    "Ødegaard Fiskeri AS",
    "Łódź Software Sp. z o.o.",
    "Café Olé Ltda.",
]
LONG_NAME = (
    "The International Consolidated Holding Company for Advanced Research, Development and "
    "Manufacturing of Precision Instruments"
)  # > 83 characters: NetSuite name limits bite
FIRST = ["Ada", "José", "Zoë", "Søren", "Amélie", "Łukasz", "Hiro", "Grace", "Ngozi", "Björn"]
LAST = ["Lovelace", "García", "Müller", "Kierkegaard", "Poulain", "Nowak", "Tanaka", "Hopper", "Okafor", "Borg"]

# (product name, sku, category, expired, [(plan name, [(charge, type, model, USD price, uom, item type)])])
# Accounting codes as a finance team names them: NetSuite shows an account as "<number> <name>",
# and the NetSuite sandbox's chart of accounts has these, so the catalog resolves out of the box.
ACCOUNTING_CODES = {
    "Recurring": "4000 Subscription Revenue",
    "Usage": "4010 Usage Revenue",
    "OneTime": "4020 Professional Services Revenue",
}

# (charge name, charge type, charge model, price, unit of measure, NetSuite item type)
Charge = tuple[str, str, str, float, str | None, str]
# (product name, SKU, category, expired, [(rate plan name, [charge, ...]), ...])
Product = tuple[str, str, str, bool, list[tuple[str, list[Charge]]]]
CATALOG: list[Product] = [
    (
        "Zsync Platform",
        "SKU-PLAT",
        "Base Products",
        False,
        [
            (
                "Platform Monthly",
                [
                    ("Platform Fee", "Recurring", "Flat Fee Pricing", 500.0, None, "Service"),
                    ("Onboarding", "OneTime", "Flat Fee Pricing", 1500.0, None, "Service"),
                ],
            )
        ],
    ),
    (
        "Seats",
        "SKU-SEAT",
        "Add On Services",
        False,
        [("Seats Monthly", [("Per Seat", "Recurring", "Per Unit Pricing", 25.0, "Seat", "Service")])],
    ),
    (
        "API Calls",
        "SKU-API",
        "Add On Services",
        False,
        [("API Usage", [("API Calls", "Usage", "Per Unit Pricing", 0.002, "Call", "Service")])],
    ),
    (
        "Loyalty Discount",
        "SKU-DISC",
        "Miscellaneous Products",
        False,
        [("Loyalty 10%", [("Loyalty Discount 10%", "Recurring", "Discount-Percentage", 10.0, None, "Service")])],
    ),
    (
        "Legacy Reporting (retired)",
        "SKU-LEG",
        "Add On Services",
        True,
        [("Legacy Reporting Monthly", [("Legacy Reporting", "Recurring", "Flat Fee Pricing", 99.0, None, "Service")])],
    ),
    (
        "Enterprise Data Residency and Compliance Add-on for Multi-Region Deployments (EU, UK and APAC)",
        "SKU-RESIDENCY",
        "Add On Services",
        False,
        [
            (
                "Data Residency Monthly",
                [("Data Residency", "Recurring", "Flat Fee Pricing", 300.0, None, "Non Inventory")],
            )
        ],
    ),
]


def _month_start(day: date, back: int) -> date:
    month = day.year * 12 + day.month - 1 - back
    return date(month // 12, month % 12 + 1, 1)


def _month_end(first: date) -> date:
    return _month_start(first, -1) - timedelta(days=1)


class Seeder:
    def __init__(self, seed: int, today: date, *, taxes: bool = True, months: int = 6):
        self.rng = random.Random(seed)
        self.months = max(1, months)  # bill runs per account, the last one this month
        self.today = today
        self.taxes = taxes  # False: a tenant that charges no tax (no taxation items at all)
        self.now = datetime.now(UTC)
        self.out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.numbers: dict[str, int] = defaultdict(int)
        self.to_apply: list[tuple[dict, dict, tuple]] = []  # (credit memo, invoice, account documents)

    def stamp(self, day: date, minutes: int = 0) -> str:
        """A creation time on a business day, never in the future."""
        at = datetime.combine(day, time(8, 0), UTC) + timedelta(minutes=minutes)
        return now_iso(min(at, self.now - timedelta(seconds=1)))

    def number(self, counter: str, fmt: str) -> str:
        self.numbers[counter] += 1
        return fmt % self.numbers[counter]

    def add(self, obj: str, day: date, **fields: Any) -> dict[str, Any]:
        record = OBJECTS[obj].blank()
        stamp = self.stamp(day, self.rng.randrange(600))
        record.update(id=f"{self.rng.getrandbits(128):032x}", createdDate=stamp, updatedDate=stamp)
        if "createdById" in record:
            record.update(createdById=SANDBOX_USER_ID, updatedById=SANDBOX_USER_ID)
        record.update(fields)
        self.out[obj].append(record)
        return record

    # -- catalog ------------------------------------------------------------------------

    def catalog(self) -> dict[str, dict]:
        start = _month_start(self.today, 24)
        charges = {}
        for name, sku, category, expired, plans in CATALOG:
            end = self.today - timedelta(days=60) if expired else date(2099, 12, 31)
            product = self.add(
                "products",
                start,
                name=name,
                sKU=sku,
                category=category,
                productNumber=self.number("product", "PC-%08d"),
                effectiveStartDate=start.isoformat(),
                effectiveEndDate=end.isoformat(),
                allowFeatureChanges=False,
                ItemType__NS=plans[0][1][0][5],
            )
            for plan_name, plan_charges in plans:
                plan = self.add(
                    "product-rate-plans",
                    start,
                    productId=product["id"],
                    name=plan_name,
                    productRatePlanNumber=self.number("plan", "PRP-%08d"),
                    effectiveStartDate=start.isoformat(),
                    effectiveEndDate=end.isoformat(),
                    BillingPeriod__NS="Monthly",
                )
                for charge, kind, model, price, uom, item_type in plan_charges:
                    record = self.add(
                        "product-rate-plan-charges",
                        start,
                        productRatePlanId=plan["id"],
                        name=charge,
                        productRatePlanChargeNumber=self.number("prpc", "PRPC-%08d"),
                        chargeType=kind,
                        chargeModel=model,
                        billingPeriod="Month" if kind != "OneTime" else None,
                        billingTiming="IN_ADVANCE" if kind == "Recurring" else None,
                        triggerEvent="ContractEffective",
                        endDateCondition="SubscriptionEnd",
                        accountingCode=ACCOUNTING_CODES[kind],
                        uOM=uom,
                        defaultQuantity=1.0,
                        listPriceBase="Per Billing Period" if kind == "Recurring" else None,
                        revenueRecognitionRuleName="Recognize upon invoicing",
                        ItemType__NS=item_type,
                    )
                    charges[charge] = {
                        **record,
                        "price": price,
                        "productId": product["id"],
                        "sku": sku,
                        "expired_on": end if expired else None,
                    }
        return charges

    # -- customers ----------------------------------------------------------------------

    def account(self, i: int, parent: dict | None) -> dict[str, Any]:
        currency = parent["currency"] if parent else ["USD", "EUR", "GBP", "JPY"][i % 4]
        if i % 10 == 7:
            name = LONG_NAME
        elif i % 5 == 3:
            name = UNICODE_COMPANIES[i % len(UNICODE_COMPANIES)]
        else:
            name = COMPANIES[i % len(COMPANIES)]
        name = f"{name} #{i + 1}" if name != LONG_NAME else f"{name} (#{i + 1})"
        opened = _month_start(self.today, self.months) - timedelta(days=self.rng.randrange(5, 60))
        account = self.add(
            "accounts",
            opened,
            accountNumber=self.number("account", "A%08d"),
            name=name,
            currency=currency,
            status="Canceled" if i % 9 == 8 else "Active",
            autoPay=False,
            billCycleDay=1,
            paymentTerm="Net 30",
            batch="Batch1",
            parentId=parent["id"] if parent else None,
            invoiceDeliveryPrefsEmail=True,
            invoiceDeliveryPrefsPrint=False,
            taxExemptStatus="No",
            SynctoNetSuite__NS="No" if i % 7 == 4 else "Yes",
            CustomerType__NS="Individual" if i % 11 == 10 else "Company",
        )
        contacts = []
        for role in ("bill", "sold") if i % 3 == 0 else ("bill",):
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            tax = TAX[currency]
            contacts.append(
                self.add(
                    "contacts",
                    opened,
                    accountId=account["id"],
                    firstName=first,
                    lastName=last,
                    workEmail=f"{role}.{i + 1}@example.com",
                    workPhone=f"+1 555 01{i % 100:02d}",
                    address1=f"{self.rng.randrange(1, 999)} Market Street",
                    city="Springfield",
                    state="CA" if currency == "USD" else None,
                    postalCode=f"{self.rng.randrange(10000, 99999)}",
                    country={"US": "United States", "DE": "Germany", "GB": "United Kingdom", "JP": "Japan"}[tax[1]],
                )
            )
        account.update(billToId=contacts[0]["id"], soldToId=contacts[-1]["id"])
        return account

    # -- billing ------------------------------------------------------------------------

    def subscription(self, account: dict, charges: dict) -> dict[str, Any]:
        start = _month_start(self.today, 5)
        canceled = account["status"] == "Canceled"
        return self.add(
            "subscriptions",
            start,
            accountId=account["id"],
            invoiceOwnerId=account["id"],
            name=self.number("subscription", "A-S%08d"),
            status="Cancelled" if canceled else "Active",
            version=1,
            isLatestVersion=True,
            termType="TERMED",
            initialTerm=12,
            initialTermPeriodType="Month",
            currentTerm=12,
            currentTermPeriodType="Month",
            renewalTerm=12,
            renewalTermPeriodType="Month",
            autoRenew=True,
            contractEffectiveDate=start.isoformat(),
            serviceActivationDate=start.isoformat(),
            contractAcceptanceDate=start.isoformat(),
            subscriptionStartDate=start.isoformat(),
            termStartDate=start.isoformat(),
            termEndDate=_month_start(start, -12).isoformat(),
            subscriptionEndDate=_month_start(start, -12).isoformat(),
            currency=account["currency"],
            cancelledDate=self.today.isoformat() if canceled else None,
        )

    def invoice_lines(self, i: int, back: int, charges: dict, currency: str) -> list[tuple[dict, float, float]]:
        """(charge, quantity, amount) for one account's bill run `back` months ago."""
        fx = FX[currency]
        price = {
            name: ledger.money(c["price"] * fx, currency) if c["chargeType"] != "Usage" else c["price"] * fx
            for name, c in charges.items()
        }
        seats = 5 + (i * 7) % 40
        lines = [
            (charges["Platform Fee"], 1.0, price["Platform Fee"]),
            (charges["Per Seat"], float(seats), ledger.money(price["Per Seat"] * seats, currency)),
        ]
        if back == self.months - 1:
            lines.append((charges["Onboarding"], 1.0, price["Onboarding"]))
        if i % 4 == 1 and back == 2:  # seats reduced mid-period: a negative proration credit
            credit = -ledger.money(price["Per Seat"] * 3 * 0.5, currency)
            lines.append((charges["Per Seat"], -3.0, credit))
        if i % 3 == 2 and back < self.months - 1:  # usage billed in arrears
            calls = float(self.rng.randrange(10_000, 200_000))
            lines.append((charges["API Calls"], calls, ledger.money(price["API Calls"] * calls, currency)))
        if i % 6 == 0:
            lines.append((charges["Data Residency"], 1.0, price["Data Residency"]))
        if i % 5 == 1 and charges["Legacy Reporting"]["expired_on"] > _month_start(self.today, back):
            lines.append((charges["Legacy Reporting"], 1.0, price["Legacy Reporting"]))
        if i % 4 == 0:  # 10% loyalty discount on the recurring fees
            base = sum(amount for charge, _, amount in lines[:2])
            lines.append((charges["Loyalty Discount 10%"], 1.0, -ledger.money(base * 0.10, currency)))
        return lines

    def invoice(
        self, i: int, account: dict, subscription: dict, charges: dict, back: int, status: str
    ) -> tuple[dict, list[dict], list[dict]]:
        currency = account["currency"]
        day = _month_start(self.today, back)
        invoice = self.add(
            "invoices",
            day,
            accountId=account["id"],
            invoiceNumber=self.number("invoice", "INV%08d"),
            invoiceDate=day.isoformat(),
            targetDate=day.isoformat(),
            dueDate=(day + timedelta(days=30)).isoformat(),
            status=status,
            currency=currency,
            source="BillRun",
            sourceType="Subscription",
            creditMemoAmount=0.0,
            refundAmount=0.0,
            creditBalanceAdjustmentAmount=0.0,
            reversed=False,
            postedBy=SANDBOX_USER_ID if status != "Draft" else None,
            postedDate=self.stamp(day, 720) if status != "Draft" else None,
        )
        items: list[dict[str, Any]] = []
        taxes: list[dict[str, Any]] = []
        jurisdiction, country, rate, code = TAX[currency]
        rate = rate if self.taxes else 0.0
        lines = self.invoice_lines(i, back, charges, currency)
        for charge, quantity, amount in lines:
            period_end = _month_end(day)
            discount = charge["chargeModel"].startswith("Discount")
            item = self.add(
                "invoice-items",
                day,
                invoiceId=invoice["id"],
                accountId=account["id"],
                subscriptionId=subscription["id"],
                subscriptionNumber=subscription["name"],
                productId=charge["productId"],
                productRatePlanId=charge["productRatePlanId"],
                productRatePlanChargeId=charge["id"],
                ratePlanChargeId=f"{self.rng.getrandbits(128):032x}",
                chargeName=charge["name"],
                chargeNumber=f"C-{charge['productRatePlanChargeNumber'][5:]}",
                chargeDate=invoice["createdDate"],
                chargeAmount=amount,
                unitPrice=ledger.money(amount / quantity, currency) if quantity else amount,
                quantity=quantity,
                uOM=charge["uOM"],
                discountAmount=0.0,
                processingType="1" if discount else "0",
                appliedToInvoiceItemId=items[0]["id"] if discount else None,
                serviceStartDate=(day + timedelta(days=14) if quantity < 0 else day).isoformat(),
                serviceEndDate=period_end.isoformat(),
                revRecStartDate=day.isoformat(),
                sKU=charge["sku"],
                accountingCode=charge["accountingCode"],
                sourceItemType="SubscriptionComponent",
                balance=amount,
            )
            items.append(item)
            tax_amount = ledger.money(amount * rate, currency)
            if tax_amount:
                taxes.append(
                    self.add(
                        "taxation-items",
                        day,
                        invoiceItemId=item["id"],
                        name=f"{code} tax",
                        jurisdiction=jurisdiction,
                        locationCode=country,
                        taxAmount=tax_amount,
                        taxRate=rate * 100,
                        taxRateType="Percentage",
                        taxMode="TaxExclusive",
                        taxCode=code,
                        taxCodeDescription=f"{jurisdiction} {code}",
                        taxDate=day.isoformat(),
                        taxableAmount=amount,
                        exemptAmount=0.0,
                        creditAmount=0.0,
                        paymentAmount=0.0,
                        balance=tax_amount,
                        countryCode=country,
                        accountingCode="2300 Sales Tax Payable",
                    )
                )
        kinds = {c["chargeType"] for c, _, _ in lines}
        invoice.update(
            includesOneTime="OneTime" in kinds,
            includesRecurring="Recurring" in kinds,
            includesUsage="Usage" in kinds,
            updatedDate=invoice["postedDate"] or invoice["updatedDate"],
        )
        return invoice, items, taxes

    # -- receivables --------------------------------------------------------------------

    def adjust(self, invoice: dict, item: dict, share: float) -> dict:
        day = date.fromisoformat(invoice["invoiceDate"]) + timedelta(days=5)
        return self.add(
            "invoice-item-adjustments",
            day,
            accountId=invoice["accountId"],
            invoiceId=invoice["id"],
            invoiceNumber=invoice["invoiceNumber"],
            invoiceItemName=item["chargeName"],
            sourceId=item["id"],
            sourceType="InvoiceDetail",
            type="Credit",
            amount=ledger.money(item["chargeAmount"] * share, invoice["currency"]),
            adjustmentDate=day.isoformat(),
            adjustmentNumber=self.number("adjustment", "IA-%08d"),
            reasonCode="Service credit",
            status="Processed",
            serviceStartDate=item["serviceStartDate"],
            serviceEndDate=item["serviceEndDate"],
        )

    def pay(self, account: dict, invoice: dict, apply: float, extra: float = 0.0) -> dict:
        day = min(date.fromisoformat(invoice["invoiceDate"]) + timedelta(days=10), self.today)
        currency = account["currency"]
        payment = self.add(
            "payments",
            day,
            accountId=account["id"],
            paymentNumber=self.number("payment", "P-%08d"),
            amount=ledger.money(apply + extra, currency),
            currency=currency,
            effectiveDate=day.isoformat(),
            status="Processed",
            type="External",
            source="API",
            referenceId=f"WIRE-{self.rng.randrange(10**8):08d}",
            gatewayState="NotSubmitted",
            Origin__NS="Zuora",
        )
        application = self.add(
            "payment-applications",
            day,
            paymentId=payment["id"],
            invoiceId=invoice["id"],
            accountId=account["id"],
            applyAmount=apply,
            effectiveDate=day.isoformat(),
            paymentApplicationStatus="Processed",
        )
        payment.update(ledger.payment_amounts(payment, [application], []))
        return payment

    def refund(self, account: dict, payment: dict) -> dict:
        day = min(date.fromisoformat(payment["effectiveDate"]) + timedelta(days=7), self.today)
        amount = payment["unappliedAmount"]
        refund = self.add(
            "refunds",
            day,
            accountId=account["id"],
            refundNumber=self.number("refund", "R-%08d"),
            amount=amount,
            currency=account["currency"],
            refundDate=day.isoformat(),
            status="Processed",
            type="External",
            sourceType="Payment",
            methodType="WireTransfer",
            reasonCode="Standard Refund",
            comment="overpayment returned",
            Origin__NS="Zuora",
        )
        link = self.add(
            "refund-applications",
            day,
            accountId=account["id"],
            refundId=refund["id"],
            paymentId=payment["id"],
            applyAmount=amount,
            effectiveDate=day.isoformat(),
        )
        payment.update(ledger.payment_amounts(payment, [{"applyAmount": payment["appliedAmount"]}], [link]))
        return refund

    def memo(self, kind: str, account: dict, charge: dict, amount: float, reason: str, status: str) -> dict:
        obj, prefix = ("credit-memos", "CM%08d") if kind == "credit" else ("debit-memos", "DM%08d")
        day = _month_start(self.today, 1) + timedelta(days=12)
        currency = account["currency"]
        amount = ledger.money(amount * FX[currency], currency)
        tax = ledger.money(amount * TAX[currency][2], currency) if self.taxes else 0.0
        memo = self.add(
            obj,
            day,
            accountId=account["id"],
            memoNumber=self.number(obj, prefix),
            memoDate=day.isoformat(),
            status=status,
            currency=currency,
            totalAmount=ledger.money(amount + tax, currency),
            totalAmountWithoutTax=amount,
            taxAmount=tax,
            balance=ledger.money(amount + tax, currency),
            reasonCode=reason,
            source="API",
            sourceType="Standalone",
            postedOn=self.stamp(day, 60) if status == "Posted" else None,
            postedById=SANDBOX_USER_ID if status == "Posted" else None,
        )
        if kind == "credit":
            memo.update(appliedAmount=0.0, refundAmount=0.0)
        else:
            memo["dueDate"] = (day + timedelta(days=30)).isoformat()
        item_fields = dict(
            amount=ledger.money(amount + tax, currency),
            amountWithoutTax=amount,
            taxAmount=tax,
            chargeName=charge["name"],
            productRatePlanChargeId=charge["id"],
            quantity=1.0,
            unitPrice=amount,
            sku=charge["sku"],
            serviceStartDate=day.isoformat(),
            serviceEndDate=day.isoformat(),
            sourceItemType="ProductRatePlanCharge",
        )
        if kind == "credit":
            self.add(
                "credit-memo-items", day, creditMemoId=memo["id"], unappliedAmount=item_fields["amount"], **item_fields
            )
        else:
            self.add("debit-memo-items", day, debitMemoId=memo["id"], balance=item_fields["amount"], **item_fields)
        return memo

    def apply_memos(self) -> None:
        """Posted credit memos applied to invoices (the rules: sandbox/zuora/memo_applications.py).
        Done last, so that the records drawn before stay what they were before memos applied."""
        for memo, invoice, (account, *documents) in self.to_apply:
            self.apply_memo(memo, invoice)
            account.update(ledger.account_amounts(account, *documents))

    def apply_memo(self, memo: dict, invoice: dict) -> None:
        currency = memo["currency"]
        amount = min(memo["balance"], invoice["balance"])
        day = max(date.fromisoformat(memo["memoDate"]), date.fromisoformat(invoice["invoiceDate"]))
        self.add(
            "credit-memo-applications",
            day,
            creditMemoId=memo["id"],
            accountId=memo["accountId"],
            invoiceId=invoice["id"],
            amount=amount,
            effectiveDate=day.isoformat(),
            applicationGroupId=f"{self.rng.getrandbits(128):032x}",
        )
        invoice.update(
            creditMemoAmount=ledger.money(invoice["creditMemoAmount"] + amount, currency),
            balance=ledger.money(invoice["balance"] - amount, currency),
        )
        memo.update(
            appliedAmount=ledger.money(memo["appliedAmount"] + amount, currency),
            balance=ledger.money(memo["balance"] - amount, currency),
        )
        item = next(i for i in reversed(self.out["credit-memo-items"]) if i["creditMemoId"] == memo["id"])
        item["unappliedAmount"] = ledger.money(item["unappliedAmount"] - amount, currency)

    def customer(self, i: int, parent: dict | None, charges: dict, canceled_invoice_done: bool) -> bool:
        """One account with `months` months of billing and receivables; True once the Canceled invoice exists."""
        account = self.account(i, parent)
        subscription = self.subscription(account, charges)
        invoices: list[dict[str, Any]] = []
        debit_memos: list[dict[str, Any]] = []
        credit_memos: list[dict[str, Any]] = []
        payments: list[dict[str, Any]] = []
        for back in range(self.months - 1, -1, -1):
            if back == 0 and account["status"] == "Canceled":
                break
            status = "Posted"
            if back == 0 and i % 5 == 2:
                status = "Draft"
            elif back == 3 and not canceled_invoice_done and i >= 1:
                status, canceled_invoice_done = "Canceled", True
            invoice, items, taxes = self.invoice(i, account, subscription, charges, back, status)
            adjustments = [self.adjust(invoice, items[0], 0.1)] if i % 7 == 3 and back == 2 else []
            invoice.update(ledger.invoice_amounts(invoice, items, taxes, [], adjustments))
            if status == "Posted" and back >= 1:
                due = invoice["balance"]
                if back == 1 and i % 4 == 3:
                    due = ledger.money(due / 2, account["currency"])  # a partial payment
                overpaid = 50.0 * FX[account["currency"]] if back == 4 and i % 6 == 1 else 0.0
                payment = self.pay(account, invoice, due, extra=overpaid)
                payments.append(payment)
                application = self.out["payment-applications"][-1]
                invoice.update(ledger.invoice_amounts(invoice, items, taxes, [application], adjustments))
                if overpaid:
                    self.refund(account, payment)
            invoices.append(invoice)
        if i % 8 == 5:
            credit_memos.append(self.memo("credit", account, charges["Platform Fee"], 50.0, "Service credit", "Posted"))
            open_invoices = [inv for inv in invoices if inv["status"] == "Posted" and inv["balance"] > 0]
            if open_invoices:  # applied to the latest open invoice, once every account exists
                self.to_apply.append(
                    (credit_memos[-1], open_invoices[-1], (account, invoices, debit_memos, credit_memos, payments))
                )
        if i % 8 == 6:
            debit_memos.append(self.memo("debit", account, charges["Platform Fee"], 25.0, "Late fee", "Posted"))
        if i == 2:
            credit_memos.append(self.memo("credit", account, charges["Per Seat"], 20.0, "Goodwill", "Draft"))
        account.update(ledger.account_amounts(account, invoices, debit_memos, credit_memos, payments))
        return canceled_invoice_done


def seed_tenant(
    store: Store, *, seed: int, size: int, today: date | None = None, taxes: bool = True, months: int = 6
) -> dict[str, int]:
    """Fill an empty store; returns record counts per object. Does nothing when size is 0.
    `taxes=False` seeds a tenant without tax (no taxation items), as many SaaS tenants are."""
    seeder = Seeder(seed, today or datetime.now(UTC).date(), taxes=taxes, months=months)
    if size > 0:
        charges = seeder.catalog()
        canceled_done = False
        parent = None
        for i in range(size):
            # Every sixth account is the child of the one before it (parent/child hierarchies).
            is_child = i % 6 == 5 and parent is not None
            canceled_done = seeder.customer(i, parent if is_child else None, charges, canceled_done)
            parent = seeder.out["accounts"][-1] if not is_child else None
        seeder.apply_memos()
    with store.transaction():
        for obj, records in seeder.out.items():
            store.insert_many(obj, records)
        for counter, value in seeder.numbers.items():
            store.conn.execute("insert or replace into counters values (?, ?)", (counter, value))
        store.set_meta("seeded", f"seed={seed} size={size}")
    return {obj: len(records) for obj, records in seeder.out.items()}
