"""Zuora's published OpenAPI document applied to what the sandbox receives.

Every sandbox route is an operation of `zsync_assets/vendor/zuora-openapi/zuora_openapi.yaml`
(the sandbox's `{account_key}` is the spec's `{account-key}`: path templates match with the
parameter names ignored). Before a handler runs, the request's header and query parameters are
checked against the operation's `parameters` (e.g. `Idempotency-Key` at most 255 characters,
Object Query `pageSize` 1..99) and its JSON body against the operation's `requestBody` schema:
types, required fields, enums, `maxLength`, formats. Custom fields ride along: Zuora mixes the
connector's `__NS` fields into request bodies through `allOf` (typed, e.g. `SynctoNetSuite__NS`
is the enum Yes/No) and a tenant's `__c` fields as `additionalProperties: {}`.

OpenAPI 3.0 schemas are JSON Schema draft 4 plus `nullable`, which is honoured here. Three
`$ref`s of the vendor file dangle (see the folder's README); none is reachable from a route the
sandbox serves, which `RequestSchemas` checks when it is built, so a future route that reaches
one fails loudly instead of validating nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import re
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
import yaml
from jsonschema import Draft4Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT4

from zsync_assets.vendor import ZUORA_OPENAPI, require

URI = "urn:zuora-openapi"
_TEMPLATE_PARAM = re.compile(r"\{[^}]*\}")


@functools.cache
def load_spec() -> dict:
    """The vendor document, parsed once per process. Parsing its 4 MB of YAML takes 2-7 s of CPU
    even with libyaml, and every sandbox process (each test worker, `zsync demo`, `make ui`) needs
    it; so the parsed document is also kept on disk, under the user's cache directory
    (`ZSYNC_CACHE_DIR` overrides it), named by the digest of the YAML: loading it takes ~0.05 s,
    and a changed vendor file is parsed afresh."""
    text = require(ZUORA_OPENAPI).read_bytes()
    cached = _cache_dir() / f"zuora-openapi-{hashlib.sha256(text).hexdigest()[:24]}.pickle"
    with suppress(OSError, pickle.UnpicklingError, EOFError):
        return pickle.loads(cached.read_bytes())
    spec = yaml.load(text, Loader=yaml.CSafeLoader)
    # Best effort: a read-only or full disk only costs the next process the parse again. Written
    # under a name of its own, then renamed, so a process reading it never sees half a file.
    with suppress(OSError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, cached)
    return spec


def _cache_dir() -> Path:
    # The same directory as the NetSuite client's WSDL cache (`clients/netsuite/wsdl_cache.py`),
    # named here again because the sandboxes import nothing of zsync's.
    return Path(os.environ.get("ZSYNC_CACHE_DIR") or platformdirs.user_cache_dir("zsync"))


def _type_or_null(validator, types, instance, schema):  # noqa: ANN001, ANN202 - jsonschema keyword signature
    # OpenAPI 3.0 `nullable: true` admits null besides the declared type.
    if instance is None and schema.get("nullable") is True:
        return
    yield from Draft4Validator.VALIDATORS["type"](validator, types, instance, schema)


OpenApi30Validator = validators.extend(Draft4Validator, {"type": _type_or_null})


@dataclass(frozen=True)
class Problem:
    """One way a request breaks its operation's schema: where (`billToContact.country`,
    `header Idempotency-Key`) and what, with Zuora's error category (20 invalid value,
    21 unknown field, 22 missing required field)."""

    where: str
    message: str
    category: int

    def __str__(self) -> str:
        if not self.where:
            return self.message
        return f"{self.where} {self.message}" if self.message.startswith("is ") else f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Operation:
    path: str  # the spec's path template
    method: str
    parameters: tuple[tuple[dict, Any], ...]  # (parameter, validator of its schema)
    body: Any  # a validator for the JSON body, or None when the operation takes none
    form: Any  # a validator for an `application/x-www-form-urlencoded` body (OAuth), or None


class RequestSchemas:
    """The request side of the spec for the routes a sandbox serves."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.registry = Registry().with_resource(URI, Resource.from_contents(spec, default_specification=DRAFT4))
        self._paths = {_TEMPLATE_PARAM.sub("{}", p): p for p in spec["paths"]}
        self._operations: dict[tuple[str, str], Operation] = {}

    def operation(self, method: str, template: str) -> Operation:
        """The spec's operation for a sandbox route; a route the spec lacks is an error."""
        key = (method.upper(), template)
        if key not in self._operations:
            path = self._paths.get(_TEMPLATE_PARAM.sub("{}", template))
            op = self.spec["paths"].get(path, {}).get(method.lower()) if path else None
            if path is None or op is None:
                raise KeyError(f"{method} {template} is not an operation of the Zuora OpenAPI document")
            params = [*self.spec["paths"][path].get("parameters", []), *op.get("parameters", [])]
            parameters = tuple(
                (p, OpenApi30Validator(p.get("schema") or {}, format_checker=FormatChecker()))
                for p in map(self._resolve, params)
            )
            content = (op.get("requestBody") or {}).get("content", {})
            body, form = (
                self._body_validator(path, method, media) if media in content else None
                for media in ("application/json", "application/x-www-form-urlencoded")
            )
            self._operations[key] = Operation(path, method.upper(), parameters, body, form)
        return self._operations[key]

    def _body_validator(self, path: str, method: str, media: str) -> Any:
        pointer = "/".join(
            s.replace("~", "~0").replace("/", "~1")
            for s in ("paths", path, method.lower(), "requestBody", "content", media, "schema")
        )
        schema = {"$ref": f"{URI}#/{pointer}"}
        self._check_refs(schema, f"{method} {path}")
        return OpenApi30Validator(schema, registry=self.registry, format_checker=FormatChecker())

    def _resolve(self, node: dict) -> dict:
        while "$ref" in node:
            node = self.registry.resolver(URI).lookup(node["$ref"]).contents
        return node

    def _check_refs(self, schema: Any, where: str, seen: set[str] | None = None) -> None:
        """Every `$ref` reachable from `schema` resolves (the vendor file has dangling ones)."""
        seen = set() if seen is None else seen
        for ref in _refs(schema):
            target = ref if ref.startswith(URI) else f"{URI}{ref}"
            if target in seen:
                continue
            seen.add(target)
            try:
                node = self.registry.resolver(URI).lookup(target).contents
            except Unresolvable:
                raise ValueError(f"{where}: the request schema reaches the dangling $ref {ref!r}") from None
            self._check_refs(node, where, seen)

    # -- checks ---------------------------------------------------------------------------

    def check_parameters(self, op: Operation, headers: Mapping[str, str], query: Any) -> list[Problem]:
        """Header and query parameters (`query` is starlette's QueryParams: repeated keys kept)."""
        problems = []
        for param, validator in op.parameters:
            where, name = param.get("in"), param.get("name", "")
            if where == "header":
                values = [headers[name]] if name in headers else []
            elif where == "query":
                values = query.getlist(name) if name in query else []
            else:
                continue
            schema = param.get("schema") or {}
            if not values:
                if param.get("required"):
                    problems.append(Problem(f"{where} {name}", "is required", 23 if where == "query" else 22))
                continue
            value = _typed(values, schema)
            problems += [Problem(f"{where} {name}", _message(e), 20) for e in validator.iter_errors(value)]
        return problems

    def check_body(self, op: Operation, body: Any) -> list[Problem]:
        return _check(op.body, body)

    def check_form(self, op: Operation, form: dict[str, str]) -> list[Problem]:
        return _check(op.form, form)


def _check(validator: Any, instance: Any) -> list[Problem]:
    if validator is None:
        return []
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    return [problem for e in errors for problem in _problems(e)]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _typed(values: list[str], schema: dict) -> Any:
    """A parameter's text as the JSON value its schema describes ('5' -> 5 for an integer)."""
    kind = schema.get("type")
    if kind == "array":
        return [_typed([v], schema.get("items") or {}) for v in values]
    value = values[-1]
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _problems(error: ValidationError) -> list[Problem]:
    if error.context and error.validator in ("anyOf", "oneOf"):
        # Report the alternative that came closest (deepest path), not "is not valid under any".
        best = max(error.context, key=lambda e: len(e.absolute_path))
        return _problems(best)
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        field = ".".join(filter(None, (where, *missing)))
        return [Problem(field, "is required", 22)]
    if error.validator == "additionalProperties":
        return [Problem(where, _message(error), 21)]
    return [Problem(where, _message(error), 20)]


_SECRET = re.compile(r"secret|password|token", re.I)


def _message(error: ValidationError) -> str:
    """What is wrong, naming the value only where it cannot be a credential."""
    if any(_SECRET.search(str(p)) for p in error.absolute_path):
        return f"does not match its schema ({error.validator} {json.dumps(error.validator_value)[:40]})"
    if error.validator == "maxLength":
        return f"is longer than {error.validator_value} characters"
    if error.validator == "enum" and isinstance(error.validator_value, list):
        return f"{json.dumps(error.instance)[:80]} is not one of {', '.join(map(str, error.validator_value))}"
    if error.validator == "type":
        return f"{json.dumps(error.instance)[:80]} is not of type {error.validator_value}"
    return error.message[:300]
