"""The OpenAPI 3 document, generated from the marshmallow schemas and the
``@body``/``@doc`` records of the registered views."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from werkzeug.http import HTTP_STATUS_CODES

from model.heads import Head

from . import schemas
from .auth import OPEN

COMMON_ERRORS = (404, 405, 500)
BODY_ERRORS = (400, 408, 413, 415, 422)  # 408: body not received within NAMETAG_BODY_TIMEOUT


def _schema_name(schema) -> str:
    return type(schema).__name__.removesuffix("Schema")


def generate(app: Flask) -> dict:
    settings = app.extensions["nametag.settings"]
    limits = settings.limits
    spec = APISpec(title="nametag", version=app.config.get("API_VERSION", "1"),
                   openapi_version="3.1.0", plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
                   info={"description": "Finds people's names in English text. Limits of this "
                                        f"deployment: {limits.to_json()}."})
    for schema in (schemas.tag_request, schemas.tag_result, schemas.tag_batch, schemas.redact_request,
                   schemas.redact_result, schemas.redact_batch, schemas.restore_request,
                   schemas.restore_result, schemas.restore_batch, schemas.model_info,
                   schemas.status, schemas.problem):
        spec.components.schema(_schema_name(schema), schema=schema)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        apidoc = getattr(app.view_functions[rule.endpoint], "_apidoc", None)
        if apidoc is None:
            continue
        view = app.view_functions[rule.endpoint]
        summary, _, description = (view.__doc__ or "").strip().partition("\n")
        op = {"summary": summary, "description": " ".join(description.split()),
              "responses": {}}
        errors = COMMON_ERRORS
        if "body" in apidoc:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": _schema_name(apidoc["body"])}},
                "description": f"At most {limits.max_body_bytes} bytes."}
            errors = BODY_ERRORS + errors
        for status, (desc, schema) in apidoc["responses"].items():
            resp = {"description": desc}
            if isinstance(schema, str):
                resp["content"] = {"text/plain": {"schema": {"type": "string"}}}
            elif isinstance(schema, (list, tuple)):
                resp["content"] = {"application/json": {"schema": {"oneOf": [
                    {"$ref": f"#/components/schemas/{_schema_name(s)}"} for s in schema]}}}
            elif schema is not None:
                ctype = "application/problem+json" if schema is schemas.problem else "application/json"
                resp["content"] = {ctype: {"schema": _schema_name(schema)}}
            op["responses"][str(status)] = resp
        if settings.api_keys is not None and rule.endpoint not in OPEN:
            op["security"] = [{"apiKey": []}]
            errors = (401,) + errors
        if settings.rate_limit is not None and rule.endpoint not in OPEN:
            errors = errors + (429,)
        for status in errors:
            op["responses"].setdefault(str(status), {
                "description": HTTP_STATUS_CODES[status],
                "content": {"application/problem+json": {"schema": "Problem"}}})
        path = rule.rule.replace("<", "{").replace(">", "}")
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        spec.path(path=path, operations={m.lower(): op for m in methods})
    out = spec.to_dict()
    if settings.api_keys is not None:
        out["components"]["securitySchemes"] = {"apiKey": {
            "type": "http", "scheme": "bearer",
            "description": "An API key of this deployment, as `Authorization: Bearer <key>`; "
                           "/healthz and /readyz need none."}}
    # The limits are configuration, not schema constants: shown where they apply.
    props = out["components"]["schemas"]["TagRequest"]["properties"]
    props["inputs"]["maxItems"] = limits.max_inputs
    predictor = app.extensions["nametag"]
    _input_rules(out["components"]["schemas"], limits,
                 predictor.artifact.config.head_policy if predictor else None)
    settings = app.extensions["nametag.settings"]
    _redact_rules(out["components"]["schemas"], limits, settings.redact_key is not None)
    _restore_rules(out["components"]["schemas"], limits, settings.sealer is not None)
    if predictor:  # the entity types are the loaded model's: the only values accepted
        for name in ("TagRequest", "RedactRequest"):
            items = out["components"]["schemas"][name]["properties"]["entities"]["items"]
            items["enum"] = list(predictor.artifact.types)
    out["components"]["schemas"]["TagRequest"]["description"] = (
        "Exactly one of `text`, `tokens` or `inputs` (whose items each hold exactly one of `text` "
        f"or `tokens`). Per input at most {limits.max_chars} characters and {limits.max_tokens} "
        f"tokens; at most {limits.max_inputs} inputs and {limits.max_total_tokens} tokens in all "
        f"per batch; body at most "
        f"{limits.max_body_bytes} bytes.")
    out["components"]["schemas"]["RedactRequest"]["description"] = (
        f"Exactly one of `text` or `inputs` (each item a `text`; pre-tokenized input is refused). "
        f"The same limits as /tag: per text at most {limits.max_chars} characters and "
        f"{limits.max_tokens} tokens; at most {limits.max_inputs} inputs and "
        f"{limits.max_total_tokens} tokens in all per batch; body at most {limits.max_body_bytes} bytes.")
    out["components"]["schemas"]["RestoreRequest"]["description"] = (
        f"Exactly one of `text` or `inputs` (each item a `text`), and `restore_token`. Per text at most "
        f"{limits.max_chars} characters; at most {limits.max_inputs} inputs; body at most "
        f"{limits.max_body_bytes} bytes.")
    return out


# What JSON Schema can say of the checks the request schemas make in code, so that
# a client (or a fuzzer) reading this document sends only requests that are accepted.
# NUL is refused too, but only said in words: a pattern on the 100 000-character
# text makes schemathesis's negative cases some 40 times slower to generate.
_SPACE = "\\t-\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"  # str.isspace
_NOT_BLANK = f"[^\\u0000{_SPACE}]"  # a token holds some character that is not whitespace


def _text_rules(schemas: dict, names: tuple[str, ...], limits) -> None:
    """The `text` of each named request: at most max_chars, and no NUL (in words, see above)."""
    for name in names:
        text = schemas[name]["properties"]["text"]
        text["maxLength"] = limits.max_chars
        text["description"] += " No NUL characters."


def _input_rules(schemas: dict, limits, head: Head | None) -> None:
    _text_rules(schemas, ("TagRequest", "Input"), limits)
    for name in ("TagRequest", "Input"):
        tokens = schemas[name]["properties"]["tokens"]
        tokens["maxItems"] = limits.max_tokens
        tokens["items"]["pattern"] = _NOT_BLANK
    schemas["TagRequest"]["oneOf"] = [{"required": [k]} for k in ("text", "tokens", "inputs")]
    schemas["Input"]["oneOf"] = [{"required": [k]} for k in ("text", "tokens")]
    if head is not None and not head.takes_threshold:  # the field exists, but no value is accepted
        schemas["TagRequest"]["properties"]["threshold"]["not"] = {}


def _redact_rules(schemas: dict, limits, has_key: bool) -> None:
    _text_rules(schemas, ("RedactRequest", "RedactInput"), limits)
    schemas["RedactRequest"]["properties"]["inputs"]["maxItems"] = limits.max_inputs
    schemas["RedactRequest"]["oneOf"] = [{"required": [k]} for k in ("text", "inputs")]
    if not has_key:  # this deployment refuses the hash operator (422): not a valid value here
        op = schemas["RedactRequest"]["properties"]["operator"]
        op["enum"] = [v for v in op["enum"] if v != "hash"]
        op["description"] += " This deployment has no key: hash is not offered."


def _restore_rules(schemas: dict, limits, has_key: bool) -> None:
    """restorable only with the pseudonym operator, restore_token only with restorable; a
    deployment without NAMETAG_RESTORE_KEY offers neither (and its /restore opens nothing)."""
    props = schemas["RedactRequest"]["properties"]
    schemas["RedactRequest"]["allOf"] = [
        {"if": {"properties": {"restorable": {"const": True}}, "required": ["restorable"]},
         "then": {"properties": {"operator": {"const": "pseudonym"}}, "required": ["operator"]}},
        {"if": {"required": ["restore_token"]},
         "then": {"properties": {"restorable": {"const": True}}, "required": ["restorable"]}}]
    if not has_key:
        props["restorable"]["const"] = False
        props["restorable"]["description"] += " This deployment has no key: restorable is not offered."
    for name in ("RestoreRequest", "RestoreInput"):
        text = schemas[name]["properties"]["text"]
        text["maxLength"] = limits.max_chars
        text["description"] += " No NUL characters."
    schemas["RestoreRequest"]["properties"]["inputs"]["maxItems"] = limits.max_inputs
    schemas["RestoreRequest"]["oneOf"] = [{"required": [k]} for k in ("text", "inputs")]
