"""Token-based authentication (TBA): the only login the 2023_2 SOAP endpoint accepts.

NetSuite signs `account&consumerKey&token&nonce&timestamp` with HMAC-SHA256 keyed by
`consumerSecret&tokenSecret` (Base64). A nonce is 6 to 64 characters and single use, retries
included, and the timestamp may be at most 5 minutes off. Every refusal is NetSuite's
invalidCredentialsFault (soap.invalid_credentials); reasons are reported without any secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass

from zsync_assets.sandbox import defaults

MAX_SKEW_S = 300
NONCE_LENGTH = (6, 64)  # NetSuite's bounds for a TBA nonce


@dataclass(frozen=True)
class TbaCredentials:
    account: str
    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str

    @classmethod
    def from_env(cls, **overrides: str) -> TbaCredentials:
        def pick(name: str, env: str, default: str) -> str:
            return overrides.get(name) or os.environ.get(env) or default

        return cls(
            account=pick("account", "NETSUITE_ACCOUNT_ID", defaults.NETSUITE_ACCOUNT_ID),
            consumer_key=pick("consumer_key", "NETSUITE_CONSUMER_KEY", defaults.NETSUITE_CONSUMER_KEY),
            consumer_secret=pick("consumer_secret", "NETSUITE_CONSUMER_SECRET", defaults.NETSUITE_CONSUMER_SECRET),
            token_id=pick("token_id", "NETSUITE_TOKEN_ID", defaults.NETSUITE_TOKEN_ID),
            token_secret=pick("token_secret", "NETSUITE_TOKEN_SECRET", defaults.NETSUITE_TOKEN_SECRET),
        )

    def __repr__(self) -> str:  # secrets never end up in logs
        return f"TbaCredentials(account={self.account!r}, consumer_key={self.consumer_key!r}, token_id=...)"


def tba_signature(
    account: str,
    consumer_key: str,
    token: str,
    nonce: str,
    timestamp: int | str,
    consumer_secret: str,
    token_secret: str,
) -> str:
    base = "&".join([account, consumer_key, token, nonce, str(timestamp)])
    key = f"{consumer_secret}&{token_secret}"
    return base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha256).digest()).decode()


class AuthError(Exception):
    """Rejected login; the message says why without revealing a secret."""


class PassportVerifier:
    def __init__(self, credentials: TbaCredentials, max_skew_s: int = MAX_SKEW_S):
        self.credentials = credentials
        self.max_skew_s = max_skew_s
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, passport: dict | None) -> None:
        c = self.credentials
        if not passport:
            raise AuthError("no tokenPassport header (this endpoint accepts token-based authentication only)")
        if passport.get("account", "").upper() != c.account.upper():
            raise AuthError("the account in the passport is not this account")
        if passport.get("consumerKey") != c.consumer_key or passport.get("token") != c.token_id:
            raise AuthError("unknown consumer key or token")
        signature = passport.get("signature") or {}
        algorithm = signature.get("algorithm") if isinstance(signature, dict) else None
        value = signature.get("_value_1") if isinstance(signature, dict) else signature
        if algorithm != "HMAC-SHA256":
            raise AuthError("signature algorithm must be HMAC-SHA256")
        nonce = passport.get("nonce", "")
        if not NONCE_LENGTH[0] <= len(nonce) <= NONCE_LENGTH[1]:
            raise AuthError(f"nonce must be {NONCE_LENGTH[0]} to {NONCE_LENGTH[1]} characters; got {len(nonce)}")
        timestamp = int(passport.get("timestamp") or 0)
        if abs(time.time() - timestamp) > self.max_skew_s:
            raise AuthError("timestamp is more than 5 minutes off the server clock")
        expected = tba_signature(
            c.account, c.consumer_key, c.token_id, nonce, timestamp, c.consumer_secret, c.token_secret
        )
        if not hmac.compare_digest(expected, value or ""):
            raise AuthError("signature does not match")
        with self._lock:
            now = time.time()
            # Nonces only need remembering for as long as their timestamp is acceptable.
            self._seen = {n: t for n, t in self._seen.items() if now - t <= 2 * self.max_skew_s}
            if nonce in self._seen:
                raise AuthError("nonce already used (a passport is single use, retries included)")
            self._seen[nonce] = now
