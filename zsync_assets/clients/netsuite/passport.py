"""Token-based authentication: a fresh, signed `tokenPassport` for every request and retry.

NetSuite TBA (SuiteTalk "Token-based Authentication and Web Services"): signature =
Base64(HMAC-SHA256(key = consumerSecret & tokenSecret,
                   message = account & consumerKey & token & nonce & timestamp)).
A passport is single-use: NetSuite rejects a replayed nonce, so a retry must re-sign.
No `applicationInfo` header may accompany TBA.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

SIGNATURE_ALGORITHM = "HMAC-SHA256"


@dataclass(frozen=True)
class TbaCredentials:
    account: str
    consumer_key: str
    consumer_secret: str = field(repr=False)  # repr=False: never in logs or tracebacks
    token_id: str = ""
    token_secret: str = field(default="", repr=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.consumer_secret, self.token_secret) if s)


def sign(creds: TbaCredentials, nonce: str, timestamp: int) -> str:
    message = "&".join([creds.account, creds.consumer_key, creds.token_id, nonce, str(timestamp)])
    key = f"{creds.consumer_secret}&{creds.token_secret}"
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def token_passport(creds: TbaCredentials, *, nonce: str | None = None, timestamp: int | None = None) -> dict[str, Any]:
    """The `tokenPassport` header value (platformCore:TokenPassport) for one attempt."""
    nonce = nonce or secrets.token_hex(16)  # 32 chars; NetSuite accepts 6..64
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "account": creds.account,
        "consumerKey": creds.consumer_key,
        "token": creds.token_id,
        "nonce": nonce,
        "timestamp": timestamp,
        "signature": {"_value_1": sign(creds, nonce, timestamp), "algorithm": SIGNATURE_ALGORITHM},
    }
