"""Every setting of the service, in one place: its ``NAMETAG_*`` environment
name, its default and its validation.

``from_mapping`` turns a Flask config (``DEFAULTS``, then ``environ()``: the
``NAMETAG_*`` variables as the strings they are, then a test's overrides) into
one frozen ``Settings``;
a bad value raises ``ConfigError`` naming the variable and what it expects.
Only the process boundary (``service.create_app``) turns that into a message
and an exit status. No Flask here.
"""
from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from model.artifact import DEFAULT_ARTIFACT
from model.redact import hash_key
from model.restore import DEFAULT_TTL_S, Sealer, restore_key, ttl_seconds

from model import apikeys

PREFIX = "NAMETAG"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class ConfigError(ValueError):
    """A setting with a bad value; the message names the variable and what it expects."""


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1 << 20
    max_chars: int = 100_000  # per input: the text, or the tokens joined by spaces
    max_tokens: int = 10_000  # per input, after tokenization
    max_inputs: int = 128  # per batch
    max_total_tokens: int = 100_000  # per request, all inputs together: bounds the time (~5 s)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Settings:
    artifact: str
    log_level: str
    body_timeout: float  # seconds to receive a request body (408 after)
    limits: Limits
    redact_key: bytes | None = field(default=None, repr=False)  # HMAC key of /redact's hash operator
    sealer: Sealer | None = field(default=None, repr=False)  # restore tokens: None without NAMETAG_RESTORE_KEY
    api_keys: apikeys.KeyRing | None = field(default=None, repr=False)  # None: no key needed
    rate_limit: str | None = None  # e.g. "600/minute" (limits' notation); None: no limit
    rate_limit_storage: str = field(default="memory://", repr=False)  # may carry a password
    metrics_port: int | None = None  # /metrics without a key on this port, served by gunicorn's master


def _positive_int(v: Any) -> int:
    if isinstance(v, str):
        v = int(v.strip()) if v.strip().isdigit() else v
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError("expected a positive integer")
    return v


def _positive_seconds(v: Any) -> float:
    if isinstance(v, str):
        try:
            v = int(v) if v.strip().isdigit() else float(v)
        except ValueError:
            raise ValueError("expected a positive number of seconds") from None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < float("inf"):
        raise ValueError("expected a positive number of seconds")
    return v


def _log_level(v: Any) -> str:
    if not isinstance(v, str) or v.lower() not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return v.lower()


def _path(v: Any) -> str:
    if not isinstance(v, (str, Path)) or not str(v):
        raise ValueError("expected a directory path")
    return str(v)


def _keys_file(v: Any) -> apikeys.KeyRing | None:
    if v is None:
        return None
    if not isinstance(v, (str, Path)) or not str(v):
        raise ValueError("expected the path of a file of sha256 key digests")
    try:
        return apikeys.load(v)
    except apikeys.KeyFileError as e:
        raise ValueError(str(e)) from None


def _rate_limit(v: Any) -> str | None:
    import limits  # only when a limit is set

    if v is None:
        return None
    try:
        parsed = limits.parse_many(v) if isinstance(v, str) else None
    except ValueError:
        parsed = None
    if not parsed:
        raise ValueError("expected a rate such as 600/minute, 10/second or '100/minute;2000/hour'")
    return v.strip()


STORAGE_SCHEMES = ("memory://", "redis://", "rediss://", "redis+unix://")


def _storage(v: Any) -> str:
    from limits.errors import ConfigurationError
    from limits.storage import storage_from_string

    if not isinstance(v, str) or not v.startswith(STORAGE_SCHEMES):
        raise ValueError("expected memory:// or redis://HOST:PORT[/DB] (also rediss://, redis+unix://)")
    try:
        storage_from_string(v)  # parses the address; connects only when first used
    except (ValueError, ConfigurationError):
        raise ValueError("not a usable address (expected e.g. redis://HOST:PORT/0)") from None
    return v


def _port(v: Any) -> int | None:
    if v is None:
        return None
    port = _positive_int(v)
    if port > 65535:
        raise ValueError("expected a TCP port, 1-65535")
    return port


# key (environment name without the prefix) -> (default, parse and validate)
SETTINGS: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "ARTIFACT": (str(DEFAULT_ARTIFACT), _path),
    "LOG_LEVEL": ("info", _log_level),
    "BODY_TIMEOUT": (30, _positive_seconds),
    "REDACT_KEY": (None, hash_key),  # no key: /redact's hash operator answers 422
    "RESTORE_KEY": (None, restore_key),  # no key: restorable and /restore answer 422
    "RESTORE_KEY_PREVIOUS": (None, restore_key),  # read-only, while tokens of the key before are alive
    "RESTORE_TTL_S": (DEFAULT_TTL_S, ttl_seconds),
    "API_KEYS_FILE": (None, _keys_file),  # no file: every route is open
    "RATE_LIMIT": (None, _rate_limit),  # no limit
    "RATE_LIMIT_STORAGE": ("memory://", _storage),  # memory://: each worker counts alone
    "METRICS_PORT": (None, _port),  # no separate metrics port
    **{f"MAX_{attr.removeprefix('max_').upper()}": (default, _positive_int)
       for attr, default in Limits().to_json().items()},
}
SECRETS = {"REDACT_KEY", "RESTORE_KEY", "RESTORE_KEY_PREVIOUS"}  # never shown, not even when bad
LIMIT_KEYS = {key: key.lower() for key in SETTINGS if key.startswith("MAX_")}  # env key -> Limits field
DEFAULTS = {key: default for key, (default, _) in SETTINGS.items()}


def environ(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings given in the environment, as raw strings (never JSON-decoded:
    a key or a path must not turn into a number), keyed without the prefix."""
    env = os.environ if env is None else env
    return {key: env[f"{PREFIX}_{key}"] for key in SETTINGS if f"{PREFIX}_{key}" in env}


def _shown(key: str, v: Any) -> str:
    """A bad value as an error message may show it: a secret never reaches a log."""
    if key in SECRETS:
        return "<hidden>"
    if key == "RATE_LIMIT_STORAGE" and isinstance(v, str):
        return repr(re.sub(r"(?<=://)[^@/]*@", "***@", v))  # a password in the address
    return repr(v)


def value(config: Mapping, key: str) -> Any:
    """One setting from a mapping of keys without the prefix; ConfigError when bad."""
    parse = SETTINGS[key][1]
    v = config.get(key, DEFAULTS[key])
    try:
        return parse(v)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"bad configuration {PREFIX}_{key}={_shown(key, v)}: {e}") from None


def from_mapping(config: Mapping) -> Settings:
    """The settings from a mapping of keys without the prefix (a Flask config);
    missing keys take their default. Raises ConfigError on the first bad value."""
    return Settings(
        artifact=value(config, "ARTIFACT"),
        log_level=value(config, "LOG_LEVEL"),
        body_timeout=value(config, "BODY_TIMEOUT"),
        limits=Limits(**{attr: value(config, key) for key, attr in LIMIT_KEYS.items()}),
        redact_key=value(config, "REDACT_KEY"),
        sealer=_sealer(config),
        api_keys=value(config, "API_KEYS_FILE"),
        rate_limit=value(config, "RATE_LIMIT"),
        rate_limit_storage=value(config, "RATE_LIMIT_STORAGE"),
        metrics_port=value(config, "METRICS_PORT"),
    )


def _sealer(config: Mapping) -> Sealer | None:
    key, previous, ttl = (value(config, k) for k in ("RESTORE_KEY", "RESTORE_KEY_PREVIOUS", "RESTORE_TTL_S"))
    if key is None:
        if previous is not None:
            raise ConfigError(f"bad configuration {PREFIX}_RESTORE_KEY_PREVIOUS=<hidden>: a previous key is "
                              f"read only beside a current one; set {PREFIX}_RESTORE_KEY too")
        return None
    return Sealer(key, previous, ttl)
