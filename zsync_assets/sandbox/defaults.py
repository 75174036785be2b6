"""Where the embedded sandboxes listen and which credentials they accept by default.

Clients fall back to these when no real-tenant settings are in the environment, so a fresh
clone talks to the sandboxes with no configuration. The credentials are deliberately public:
they only open the local sandboxes.
"""

ZUORA_PORT = 8810
NETSUITE_PORT = 8811
HOST = "127.0.0.1"

# Zuora OAuth client shapes: client_id exactly 36 characters, client_secret at most 42.
ZUORA_CLIENT_ID = "zsync-sandbox-client-000000000000001"
ZUORA_CLIENT_SECRET = "zsync-sandbox-secret-do-not-use-in-prod"
ZUORA_TENANT_ID = "9000001"

NETSUITE_ACCOUNT_ID = "TSTDRV0000001"
NETSUITE_CONSUMER_KEY = "zsync-sandbox-consumer-key"
NETSUITE_CONSUMER_SECRET = "zsync-sandbox-consumer-secret"
NETSUITE_TOKEN_ID = "zsync-sandbox-token-id"
NETSUITE_TOKEN_SECRET = "zsync-sandbox-token-secret"

# The tenant's external payment methods (Zuora's Payment Settings: Check, Cash, Other, ...), by
# type. A payment created through an action call names one (`PaymentMethodId` is required by
# Zuora's create() of a Payment); `POST /v1/payments` falls back to the account's default.
EXTERNAL_PAYMENT_METHODS = {
    "Check": "2c92c0f87b1d4e5f017b1d4e5f600001",
    "Cash": "2c92c0f87b1d4e5f017b1d4e5f600002",
    "Other": "2c92c0f87b1d4e5f017b1d4e5f600003",
}

DEFAULT_SEED = 42
DEFAULT_SIZE = 40  # accounts; the rest of the tenant scales from it
DEFAULT_DATA_DIR = "data/sandbox"


def zuora_url(port: int = ZUORA_PORT) -> str:
    return f"http://{HOST}:{port}"


def netsuite_url(port: int = NETSUITE_PORT) -> str:
    return f"http://{HOST}:{port}"


assert len(ZUORA_CLIENT_ID) == 36 and len(ZUORA_CLIENT_SECRET) <= 42

# What `zsync demo` turns on for the sandbox tenant. It writes these to its settings file beside
# the sandbox data (config.py `write_demo_settings`), which every later command reads while it
# talks to the sandboxes: `zsync status`, `zsync plan` and `make ui` see the same flows. The
# tax-code mapping every command shares is in zsync.sandbox.yaml.
DEMO_SETTINGS = {
    # The seeded NetSuite account has payments and a refund entered there, and the demo's second
    # pass enters more: the demo sends them to Zuora, so netsuite_payments / netsuite_refunds work.
    "payments_ns_to_zuora": True,
    # Without Invoice Settlement Zuora takes a payment only with a payment method (config_schema.py
    # `zuora_payment_method_id`): the sandbox tenant's external "Other" one, in both variants.
    "zuora_payment_method_id": EXTERNAL_PAYMENT_METHODS["Other"],
}
# `zsync demo --settlement`: the tenant runs Invoice Settlement (credit and debit memos flow
# instead of invoice item adjustments). The seeded memos carry tax, which the memo flows post to
# one NetSuite tax item (flows/mapping/memos.py `tax_item_id`); without it every memo is blocked,
# naming the setting. (It also posts the Japanese invoices' tax there, which the plain demo
# leaves blocked.)
DEMO_SETTLEMENT_SETTINGS = {"invoice_settlement": True, "default_tax_item": "CA State Tax"}
