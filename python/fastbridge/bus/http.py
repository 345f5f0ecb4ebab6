"""Connections and API destinations: EventBridge's HTTP targets.

A *connection* holds the credentials an endpoint wants (``BASIC``, ``API_KEY``
or ``OAUTH_CLIENT_CREDENTIALS``) plus extra header, query string and body
parameters; an *API destination* names an endpoint, a method and an
invocation rate, and points at a connection.  This module builds both from
the request dicts boto3's ``events`` client sends (``CreateConnection``,
``CreateApiDestination``), validates them with AWS's messages, describes them
the way ``DescribeConnection`` / ``DescribeApiDestination`` answer, and
delivers an event body to a destination with :class:`HttpInvoker`.

Delivery outcome
================

:meth:`HttpInvoker.invoke` returns ``None`` when the endpoint answered 2xx and
raises :class:`DeliveryError` otherwise.  ``DeliveryError.retryable`` follows
the EventBridge user guide, "API destinations", section "API destination
error codes":

* **retried**: HTTP 401, 407, 409, 429 and every 5xx; also connection
  failures (refused, reset, DNS, TLS) and timeouts, which the guide says are
  retried under the target's retry policy ("EventBridge retries timed out
  requests up to the maximums that are configured on your retry policy").
* **not retried**: 1xx, 3xx and the other 4xx.  3xx counts as a failure, not a
  success: the guide lists 3xx among the error codes, and redirects are not
  followed.
* **success**: 2xx.
* A ``Retry-After`` response header is parsed into ``DeliveryError.retry_after``
  (seconds); the guide says EventBridge waits the more conservative of its
  retry policy and that header, and stops retrying when the value is
  negative, so a negative ``Retry-After`` makes the error non-retryable.

Sources and caveats: the current guide page lists "401, 407, 409, 429, and
5xx" as retried; the 2023 archive of the same page on GitHub
(awsdocs/amazon-eventbridge-user-guide, ``doc_source/eb-api-destinations.md``)
listed only 429 and 5xx.  We follow the current wording.  The guide's
connection page says OAuth tokens are refreshed "when a 401 or 407 response
is returned" and proactively when about to expire; :class:`HttpInvoker` does
both, and re-sends the request once with the new token before classifying.

Error codes
===========

``DeliveryError.code`` / ``.message`` are what EventBridge would put in the
dead-letter queue's ``ERROR_CODE`` / ``ERROR_MESSAGE`` message attributes.  The
user guide ("Using dead-letter queues", ``eb-rule-dlq``) lists the possible
codes (CONNECTION_FAILURE, ERROR_FROM_TARGET, INTERNAL_ERROR, NO_PERMISSIONS,
SDK_CLIENT_ERROR, THROTTLING, TIMEOUT, UNKNOWN, ...) but not which one each API
destination failure gets.  We use:

=============================  ================  ==========================================
outcome                        ERROR_CODE        ERROR_MESSAGE
=============================  ================  ==========================================
endpoint unreachable           SDK_CLIENT_ERROR  Unable to invoke ApiDestination endpoint:
                                                 API destination endpoint cannot be reached.
timeout                        UNKNOWN           Unable to invoke ApiDestination endpoint:
                                                 Timeout calling endpoint for API
                                                 Destination: socket closed.
HTTP 429                       THROTTLING        Unable to invoke ApiDestination endpoint:
                                                 the API destination endpoint answered
                                                 HTTP status 429.
any other non-2xx status       SDK_CLIENT_ERROR  (same wording, with the status)
OAuth token request failed     as above          Unable to invoke ApiDestination endpoint:
                                                 could not obtain an OAuth access token: ...
=============================  ================  ==========================================

The first two rows copy DLQ messages recorded from real EventBridge
deliveries (published in third-party repositories); the codes and wording of
the HTTP-status rows are our choice, since no recording of them was found.

Differences from AWS
====================

* AWS requires ``https://`` endpoints.  For local use we also accept
  ``http://`` when the host is a loopback host (``localhost``, ``*.localhost``,
  ``127.0.0.0/8``); any other ``http://`` endpoint is rejected.  (IPv6
  literals such as ``[::1]`` fail AWS's endpoint pattern before that.)
* Requests carry AWS's ``User-Agent`` (``Amazon/EventBridge/ApiDestinations``)
  and ``Content-Type`` (``application/json; charset=utf-8``), but not its
  ``Range`` or ``Connection: close`` headers: connections are pooled.
* ``GET`` and ``HEAD`` requests are sent without a body.
* The OAuth token request's wire format is not documented by AWS.  We follow
  RFC 6749 section 4.4: the client id and secret go in an HTTP Basic
  ``Authorization`` header, ``grant_type=client_credentials`` and the
  connection's OAuth body parameters go form-encoded in the body (in the
  query string for ``GET``), and ``access_token`` / ``expires_in`` are read from
  the JSON answer.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import urllib3
import urllib3.exceptions

from fastbridge.bus.errors import ValidationException

__all__ = [
    "API_DESTINATION_HTTP_METHODS",
    "AUTHORIZATION_TYPES",
    "DEFAULT_INVOCATION_RATE_LIMIT",
    "DEFAULT_TIMEOUT",
    "ApiDestination",
    "ApiKeyAuth",
    "BasicAuth",
    "Connection",
    "ConnectionHttpParameters",
    "DeliveryError",
    "HttpInvoker",
    "HttpParameter",
    "OAuthClientCredentials",
    "RateLimiter",
    "is_retryable_status",
]

# Enum orders are the service model's: they appear verbatim in AWS's messages.
AUTHORIZATION_TYPES: tuple[str, ...] = ("BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY")
OAUTH_HTTP_METHODS: tuple[str, ...] = ("GET", "POST", "PUT")
API_DESTINATION_HTTP_METHODS: tuple[str, ...] = (
    "POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE",
)

DEFAULT_INVOCATION_RATE_LIMIT = 300
"""Invocations per second when CreateApiDestination names none (AWS's default quota)."""
MAX_INVOCATION_RATE_LIMIT = 300
DEFAULT_TIMEOUT = 5.0
"""Seconds: EventBridge's client execution timeout for API destinations."""
DEFAULT_TOKEN_REFRESH_MARGIN = 60.0
"""Seconds before ``expires_in`` runs out at which a cached OAuth token is replaced."""

USER_AGENT = "Amazon/EventBridge/ApiDestinations"
CONTENT_TYPE = "application/json; charset=utf-8"

RETRYABLE_STATUSES = frozenset({401, 407, 409, 429})
"""Besides every 5xx, the statuses EventBridge retries for API destinations."""

_MESSAGE_PREFIX = "Unable to invoke ApiDestination endpoint: "
_UNREACHABLE = _MESSAGE_PREFIX + "API destination endpoint cannot be reached."
_TIMED_OUT = _MESSAGE_PREFIX + "Timeout calling endpoint for API Destination: socket closed."


# --------------------------------------------------------------------------
# Validation with AWS's messages
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    """A service-model pattern: its text (quoted in messages) and a matcher."""

    text: str
    matches: Callable[[str], bool]


def _regex(text: str) -> _Pattern:
    compiled = re.compile(text)
    return _Pattern(text, lambda value: compiled.fullmatch(value) is not None)


def _words(text: str, every: str, some: str) -> _Pattern:
    """Patterns of the shape ``^[ \\t]*W+([ \\t]+W+)*[ \\t]*$``.

    Taken literally that regex backtracks exponentially on long failing
    values.  It accepts exactly the strings whose characters all belong to
    ``every`` (``W`` plus tab) and that hold at least one character of
    ``some`` (``W``), which is checked here in linear time.
    """
    all_of = re.compile(every + "+")
    one_of = re.compile(some)
    return _Pattern(
        text, lambda value: all_of.fullmatch(value) is not None and one_of.search(value) is not None
    )


_NAME = _regex(r"[\.\-_A-Za-z0-9]+")
_DESCRIPTION = _regex(r".*")
_AUTH_HEADER = _words(
    r"^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$",
    r"[^\x00-\x08\x0a-\x1f:\x7f]",  # W = [^\x00-\x1F:\x7F], plus tab
    r"[^\x00-\x1f:\x7f]",
)
_HTTPS_ENDPOINT = _regex(
    r"^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$"
)
_CONNECTION_ARN = _regex(
    r"^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/"
    r"[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$"
)
_HEADER_KEY = _regex(r"^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$")
_HEADER_VALUE = _words(
    r"^[ \t]*[\x20-\x7E]+([ \t]+[\x20-\x7E]+)*[ \t]*$", r"[\x20-\x7e\t]", r"[\x20-\x7e]"
)
_QUERY_KEY = _regex(r"[^\x00-\x1F\x7F]+")
_QUERY_VALUE = _regex(r"[^\x00-\x09\x0B\x0C\x0E-\x1F\x7F]+")
_KMS_KEY = _regex(r"^[a-zA-Z0-9_\-/:]*$")

_MAX_PARAMETERS = 100


class _Problems:
    """Constraint violations, collected and reported the way AWS does."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, value: Any, constraint: str, *, sensitive: bool = False) -> None:
        if value is None:
            shown = "Value null"
        elif sensitive:
            shown = "Value"  # AWS leaves sensitive members' values out of its messages
        else:
            shown = f"Value '{_java_text(value)}'"
        self.items.append(f"{shown} at '{path}' failed to satisfy constraint: {constraint}")

    def raise_if_any(self) -> None:
        n = len(self.items)
        if n:
            noun = "error" if n == 1 else "errors"
            raise ValidationException(
                f"{n} validation {noun} detected: " + "; ".join(self.items)
            )


def _java_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_java_text(v) for v in value) + "]"
    return str(value)


def _member(name: str) -> str:
    """A member's name as AWS's messages spell it (``AuthParameters`` -> ``authParameters``)."""
    return name[:1].lower() + name[1:]


def _join(path: str, name: str) -> str:
    return f"{path}.{_member(name)}" if path else _member(name)


def _string(
    problems: _Problems,
    parent: Mapping[str, Any],
    key: str,
    path: str,
    *,
    required: bool = False,
    min_len: int | None = None,
    max_len: int | None = None,
    pattern: _Pattern | None = None,
    enum: tuple[str, ...] | None = None,
    sensitive: bool = False,
) -> str | None:
    where = _join(path, key)
    value = parent.get(key)
    if value is None:
        if required:
            problems.add(where, None, "Member must not be null")
        return None
    if not isinstance(value, str):
        problems.add(where, value, "Member must be a string", sensitive=sensitive)
        return None
    ok = True
    if pattern is not None and not pattern.matches(value):
        problems.add(
            where, value,
            f"Member must satisfy regular expression pattern: {pattern.text}",
            sensitive=sensitive,
        )
        ok = False
    if min_len is not None and len(value) < min_len:
        problems.add(
            where, value, f"Member must have length greater than or equal to {min_len}",
            sensitive=sensitive,
        )
        ok = False
    if max_len is not None and len(value) > max_len:
        problems.add(
            where, value, f"Member must have length less than or equal to {max_len}",
            sensitive=sensitive,
        )
        ok = False
    if enum is not None and value not in enum:
        problems.add(
            where, value, f"Member must satisfy enum value set: [{', '.join(enum)}]",
            sensitive=sensitive,
        )
        ok = False
    return value if ok else None


def _integer(
    problems: _Problems,
    parent: Mapping[str, Any],
    key: str,
    path: str,
    *,
    minimum: int,
    maximum: int,
) -> int | None:
    where = _join(path, key)
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(where, value, "Member must be an integer")
        return None
    if value < minimum:
        problems.add(where, value, f"Member must have value greater than or equal to {minimum}")
        return None
    if value > maximum:
        problems.add(where, value, f"Member must have value less than or equal to {maximum}")
        return None
    return value


def _struct(
    problems: _Problems,
    parent: Mapping[str, Any],
    key: str,
    path: str,
    *,
    required: bool = False,
) -> Mapping[str, Any] | None:
    where = _join(path, key)
    value = parent.get(key)
    if value is None:
        if required:
            problems.add(where, None, "Member must not be null")
        return None
    if not isinstance(value, Mapping):
        problems.add(where, value, "Member must be a structure")
        return None
    return value


def _boolean(problems: _Problems, parent: Mapping[str, Any], key: str, path: str) -> bool:
    value = parent.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        problems.add(_join(path, key), value, "Member must be a boolean")
        return False
    return value


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _region_account(arn: str) -> tuple[str, str]:
    parts = arn.split(":", 5)
    return (parts[3], parts[4]) if len(parts) == 6 else ("", "")


@dataclass(frozen=True)
class HttpParameter:
    """One header, query string or body parameter of a connection."""

    key: str
    value: str = field(repr=False)
    is_value_secret: bool = False

    def describe(self) -> dict[str, Any]:
        """As Describe* shows it: the value only when it is not secret."""
        out: dict[str, Any] = {"Key": self.key}
        if not self.is_value_secret:
            out["Value"] = self.value
        out["IsValueSecret"] = self.is_value_secret
        return out


@dataclass(frozen=True)
class ConnectionHttpParameters:
    """``ConnectionHttpParameters``: extra parameters a connection adds to requests."""

    header_parameters: tuple[HttpParameter, ...] = ()
    query_string_parameters: tuple[HttpParameter, ...] = ()
    body_parameters: tuple[HttpParameter, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.header_parameters or self.query_string_parameters or self.body_parameters)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.header_parameters:
            out["HeaderParameters"] = [p.describe() for p in self.header_parameters]
        if self.query_string_parameters:
            out["QueryStringParameters"] = [p.describe() for p in self.query_string_parameters]
        if self.body_parameters:
            out["BodyParameters"] = [p.describe() for p in self.body_parameters]
        return out

    @classmethod
    def _parse(
        cls, problems: _Problems, parent: Mapping[str, Any], key: str, path: str
    ) -> ConnectionHttpParameters:
        raw = _struct(problems, parent, key, path)
        if raw is None:
            return cls()
        where = _join(path, key)
        return cls(
            header_parameters=_parameters(
                problems, raw, "HeaderParameters", where, _HEADER_KEY, _HEADER_VALUE, 512
            ),
            query_string_parameters=_parameters(
                problems, raw, "QueryStringParameters", where, _QUERY_KEY, _QUERY_VALUE, 512
            ),
            body_parameters=_parameters(problems, raw, "BodyParameters", where, None, None, None),
        )


def _parameters(
    problems: _Problems,
    parent: Mapping[str, Any],
    key: str,
    path: str,
    key_pattern: _Pattern | None,
    value_pattern: _Pattern | None,
    max_len: int | None,
) -> tuple[HttpParameter, ...]:
    where = _join(path, key)
    raw = parent.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, (list, tuple)):
        problems.add(where, raw, "Member must be a list")
        return ()
    if len(raw) > _MAX_PARAMETERS:
        problems.add(where, raw, f"Member must have length less than or equal to {_MAX_PARAMETERS}")
        return ()
    out: list[HttpParameter] = []
    for i, item in enumerate(raw, start=1):
        item_path = f"{where}.{i}.member"
        if not isinstance(item, Mapping):
            problems.add(item_path, item, "Member must be a structure")
            continue
        k = _string(
            problems, item, "Key", item_path, required=True, max_len=max_len, pattern=key_pattern
        )
        v = _string(
            problems, item, "Value", item_path, required=True, max_len=max_len,
            pattern=value_pattern, sensitive=True,
        )
        secret = _boolean(problems, item, "IsValueSecret", item_path)
        if k is not None and v is not None:
            out.append(HttpParameter(k, v, secret))
    return tuple(out)


@dataclass(frozen=True)
class BasicAuth:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ApiKeyAuth:
    api_key_name: str
    api_key_value: str = field(repr=False)


@dataclass(frozen=True)
class OAuthClientCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    authorization_endpoint: str
    http_method: str
    oauth_http_parameters: ConnectionHttpParameters = ConnectionHttpParameters()


_AUTH_BLOCKS = {
    "BASIC": "BasicAuthParameters",
    "API_KEY": "ApiKeyAuthParameters",
    "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters",
}


def _credential_pair(problems: _Problems, auth: Mapping[str, Any], path: str, block: str,
                     name: str, secret: str) -> tuple[str, str] | None:  # fmt: skip
    """A (name, secret) block of AuthParameters (basic auth, API key), checked
    as the service model says; None when absent or invalid."""
    raw = _struct(problems, auth, block, path)
    if raw is None:
        return None
    where = _join(path, block)
    first = _string(problems, raw, name, where, required=True, min_len=1, max_len=512,
                    pattern=_AUTH_HEADER)  # fmt: skip
    second = _string(problems, raw, secret, where, required=True, min_len=1, max_len=512,
                     pattern=_AUTH_HEADER, sensitive=True)  # fmt: skip
    return (first, second) if first is not None and second is not None else None


@dataclass(eq=False)
class Connection:
    """An EventBridge connection.

    ``state``, ``state_reason`` and ``last_authorized_time`` change as
    :class:`HttpInvoker` obtains (or fails to obtain) OAuth tokens.
    """

    name: str
    arn: str
    authorization_type: str
    secret_arn: str
    creation_time: datetime
    last_modified_time: datetime
    description: str | None = None
    basic: BasicAuth | None = None
    api_key: ApiKeyAuth | None = None
    oauth: OAuthClientCredentials | None = None
    invocation_http_parameters: ConnectionHttpParameters = ConnectionHttpParameters()
    kms_key_identifier: str | None = None
    state: str = "AUTHORIZED"
    state_reason: str | None = None
    last_authorized_time: datetime | None = None

    @classmethod
    def from_request(
        cls,
        req: Mapping[str, Any],
        *,
        region: str = "us-east-1",
        account: str = "000000000000",
        arn: str | None = None,
        now: datetime | None = None,
    ) -> Connection:
        """A connection from a ``CreateConnection`` request, or ValidationException.

        ``arn`` overrides the generated ARN
        (``arn:aws:events:<region>:<account>:connection/<name>/<uuid>``).
        """
        if not isinstance(req, Mapping):
            raise ValidationException("The CreateConnection request must be a structure.")
        problems = _Problems()
        name = _string(
            problems, req, "Name", "", required=True, min_len=1, max_len=64, pattern=_NAME
        )
        description = _string(problems, req, "Description", "", max_len=512, pattern=_DESCRIPTION)
        auth_type = _string(
            problems, req, "AuthorizationType", "", required=True, enum=AUTHORIZATION_TYPES
        )
        auth = _struct(problems, req, "AuthParameters", "", required=True)
        basic: BasicAuth | None = None
        api_key: ApiKeyAuth | None = None
        oauth: OAuthClientCredentials | None = None
        invocation = ConnectionHttpParameters()
        if auth is not None:
            path = "authParameters"
            pair = _credential_pair(problems, auth, path, "BasicAuthParameters", "Username",
                                    "Password")  # fmt: skip
            basic = BasicAuth(*pair) if pair else None
            raw = _struct(problems, auth, "OAuthParameters", path)
            if raw is not None:
                oauth = _parse_oauth(problems, raw, _join(path, "OAuthParameters"))
            pair = _credential_pair(problems, auth, path, "ApiKeyAuthParameters", "ApiKeyName",
                                    "ApiKeyValue")  # fmt: skip
            api_key = ApiKeyAuth(*pair) if pair else None
            invocation = ConnectionHttpParameters._parse(
                problems, auth, "InvocationHttpParameters", path
            )
        kms = _string(problems, req, "KmsKeyIdentifier", "", max_len=2048, pattern=_KMS_KEY)
        problems.raise_if_any()
        assert name is not None and auth_type is not None and auth is not None

        # Beyond the service model: "You must include only authorization
        # parameters for the AuthorizationType you specify" (API reference).
        wanted = _AUTH_BLOCKS[auth_type]
        given = [block for block in _AUTH_BLOCKS.values() if auth.get(block) is not None]
        if wanted not in given:
            raise ValidationException(
                f"AuthParameters must contain {wanted} when AuthorizationType is {auth_type}."
            )
        if len(given) > 1:
            raise ValidationException(
                f"AuthParameters must contain only {wanted} when AuthorizationType is "
                f"{auth_type}; remove {', '.join(b for b in given if b != wanted)}."
            )
        for unsupported in ("ConnectivityParameters",):
            if auth.get(unsupported) is not None:
                raise ValidationException(
                    f"AuthParameters.{unsupported} (private endpoints) is not supported."
                )
        if req.get("InvocationConnectivityParameters") is not None:
            raise ValidationException(
                "InvocationConnectivityParameters (private endpoints) is not supported."
            )
        if oauth is not None:
            _check_endpoint(oauth.authorization_endpoint, "AuthorizationEndpoint")

        when = now or _now()
        conn_id = str(uuid.uuid4())
        if arn is None:
            arn = f"arn:aws:events:{region}:{account}:connection/{name}/{conn_id}"
        else:
            region, account = _region_account(arn)
        suffix = uuid.uuid4().hex[:6]
        secret_arn = (
            f"arn:aws:secretsmanager:{region}:{account}:secret:events!connection/{name}/"
            f"{conn_id}-{suffix}"
        )
        oauth_pending = auth_type == "OAUTH_CLIENT_CREDENTIALS"
        return cls(
            name=name,
            arn=arn,
            authorization_type=auth_type,
            secret_arn=secret_arn,
            creation_time=when,
            last_modified_time=when,
            description=description,
            basic=basic if auth_type == "BASIC" else None,
            api_key=api_key if auth_type == "API_KEY" else None,
            oauth=oauth if oauth_pending else None,
            invocation_http_parameters=invocation,
            kms_key_identifier=kms,
            # An OAuth connection is authorized once a token has been obtained.
            state="AUTHORIZING" if oauth_pending else "AUTHORIZED",
            last_authorized_time=None if oauth_pending else when,
        )

    def create_response(self) -> dict[str, Any]:
        """``CreateConnection``'s response."""
        return {
            "ConnectionArn": self.arn,
            "ConnectionState": self.state,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }

    def describe(self) -> dict[str, Any]:
        """``DescribeConnection``'s response; secrets are never included."""
        auth: dict[str, Any] = {}
        if self.basic is not None:
            auth["BasicAuthParameters"] = {"Username": self.basic.username}
        if self.api_key is not None:
            auth["ApiKeyAuthParameters"] = {"ApiKeyName": self.api_key.api_key_name}
        if self.oauth is not None:
            oauth: dict[str, Any] = {
                "ClientParameters": {"ClientID": self.oauth.client_id},
                "AuthorizationEndpoint": self.oauth.authorization_endpoint,
                "HttpMethod": self.oauth.http_method,
            }
            if self.oauth.oauth_http_parameters:
                oauth["OAuthHttpParameters"] = self.oauth.oauth_http_parameters.describe()
            auth["OAuthParameters"] = oauth
        if self.invocation_http_parameters:
            auth["InvocationHttpParameters"] = self.invocation_http_parameters.describe()
        out: dict[str, Any] = {"ConnectionArn": self.arn, "Name": self.name}
        if self.description is not None:
            out["Description"] = self.description
        out["ConnectionState"] = self.state
        if self.state_reason is not None:
            out["StateReason"] = self.state_reason
        out["AuthorizationType"] = self.authorization_type
        out["SecretArn"] = self.secret_arn
        if self.kms_key_identifier:
            out["KmsKeyIdentifier"] = self.kms_key_identifier
        out["AuthParameters"] = auth
        out["CreationTime"] = self.creation_time
        out["LastModifiedTime"] = self.last_modified_time
        if self.last_authorized_time is not None:
            out["LastAuthorizedTime"] = self.last_authorized_time
        return out

    def mark_authorized(self, when: datetime | None = None) -> None:
        self.state = "AUTHORIZED"
        self.state_reason = None
        self.last_authorized_time = when or _now()

    def mark_deauthorized(self, reason: str) -> None:
        self.state = "DEAUTHORIZED"
        self.state_reason = reason[:512]


def _parse_oauth(
    problems: _Problems, raw: Mapping[str, Any], path: str
) -> OAuthClientCredentials | None:
    client = _struct(problems, raw, "ClientParameters", path, required=True)
    client_id = secret = None
    if client is not None:
        where = _join(path, "ClientParameters")
        client_id = _string(
            problems, client, "ClientID", where, required=True, min_len=1, max_len=512,
            pattern=_AUTH_HEADER,
        )
        secret = _string(
            problems, client, "ClientSecret", where, required=True, min_len=1, max_len=512,
            pattern=_AUTH_HEADER, sensitive=True,
        )
    endpoint = _string(
        problems, raw, "AuthorizationEndpoint", path, required=True, min_len=1, max_len=2048,
        pattern=_HTTPS_ENDPOINT,
    )
    method = _string(problems, raw, "HttpMethod", path, required=True, enum=OAUTH_HTTP_METHODS)
    params = ConnectionHttpParameters._parse(problems, raw, "OAuthHttpParameters", path)
    if client_id is None or secret is None or endpoint is None or method is None:
        return None
    return OAuthClientCredentials(client_id, secret, endpoint, method, params)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    host = host.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_endpoint(url: str, member: str) -> None:
    """AWS accepts only HTTPS endpoints; we also accept http:// on loopback hosts."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        raise ValidationException(f"{member} is not a valid URL: {url}") from exc
    scheme = parts.scheme.lower()
    if not host or scheme not in ("https", "http"):
        raise ValidationException(f"{member} is not a valid HTTPS URL: {url}")
    if scheme == "http" and not _is_loopback(host):
        raise ValidationException(
            f"{member} must use HTTPS: {url} (plain http:// is accepted only for "
            "loopback hosts such as localhost and 127.0.0.1)"
        )


@dataclass(eq=False)
class ApiDestination:
    """An EventBridge API destination."""

    name: str
    arn: str
    connection_arn: str
    invocation_endpoint: str
    http_method: str
    creation_time: datetime
    last_modified_time: datetime
    invocation_rate_limit_per_second: int = DEFAULT_INVOCATION_RATE_LIMIT
    description: str | None = None
    state: str = "ACTIVE"

    @classmethod
    def from_request(
        cls,
        req: Mapping[str, Any],
        *,
        region: str = "us-east-1",
        account: str = "000000000000",
        arn: str | None = None,
        now: datetime | None = None,
    ) -> ApiDestination:
        """An API destination from a ``CreateApiDestination`` request, or ValidationException.

        ``InvocationEndpoint`` must be ``https://``, except that ``http://`` is
        accepted for loopback hosts (local use; AWS itself never accepts it).
        ``InvocationRateLimitPerSecond`` is 1 to 300 and defaults to 300.
        """
        if not isinstance(req, Mapping):
            raise ValidationException("The CreateApiDestination request must be a structure.")
        problems = _Problems()
        name = _string(
            problems, req, "Name", "", required=True, min_len=1, max_len=64, pattern=_NAME
        )
        description = _string(problems, req, "Description", "", max_len=512, pattern=_DESCRIPTION)
        connection_arn = _string(
            problems, req, "ConnectionArn", "", required=True, min_len=1, max_len=1600,
            pattern=_CONNECTION_ARN,
        )
        endpoint = _string(
            problems, req, "InvocationEndpoint", "", required=True, min_len=1, max_len=2048,
            pattern=_HTTPS_ENDPOINT,
        )
        method = _string(
            problems, req, "HttpMethod", "", required=True, enum=API_DESTINATION_HTTP_METHODS
        )
        rate = _integer(
            problems, req, "InvocationRateLimitPerSecond", "",
            minimum=1, maximum=MAX_INVOCATION_RATE_LIMIT,
        )
        problems.raise_if_any()
        assert name is not None and connection_arn is not None
        assert endpoint is not None and method is not None
        _check_endpoint(endpoint, "InvocationEndpoint")
        when = now or _now()
        if arn is None:
            arn = f"arn:aws:events:{region}:{account}:api-destination/{name}/{uuid.uuid4()}"
        return cls(
            name=name,
            arn=arn,
            connection_arn=connection_arn,
            invocation_endpoint=endpoint,
            http_method=method,
            creation_time=when,
            last_modified_time=when,
            invocation_rate_limit_per_second=(
                rate if rate is not None else DEFAULT_INVOCATION_RATE_LIMIT
            ),
            description=description,
        )

    def create_response(self) -> dict[str, Any]:
        """``CreateApiDestination``'s response."""
        return {
            "ApiDestinationArn": self.arn,
            "ApiDestinationState": self.state,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }

    def describe(self) -> dict[str, Any]:
        """``DescribeApiDestination``'s response."""
        out: dict[str, Any] = {"ApiDestinationArn": self.arn, "Name": self.name}
        if self.description is not None:
            out["Description"] = self.description
        out.update(
            {
                "ApiDestinationState": self.state,
                "ConnectionArn": self.connection_arn,
                "InvocationEndpoint": self.invocation_endpoint,
                "HttpMethod": self.http_method,
                "InvocationRateLimitPerSecond": self.invocation_rate_limit_per_second,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
            }
        )
        return out


# --------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------


class DeliveryError(Exception):
    """A failed delivery: ``code``/``message`` as in the DLQ's ERROR_CODE/ERROR_MESSAGE.

    ``retryable`` says whether EventBridge would try again; ``status`` is the
    endpoint's HTTP status (None when no response arrived); ``retry_after`` is
    the endpoint's ``Retry-After`` in seconds, if it sent one.
    """

    retryable: bool
    code: str
    message: str
    status: int | None
    retry_after: float | None

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"DeliveryError(code={self.code!r}, message={self.message!r}, "
            f"retryable={self.retryable}, status={self.status})"
        )


def is_retryable_status(status: int) -> bool:
    """Whether EventBridge retries an API destination answering ``status``."""
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


class RateLimiter:
    """A thread-safe token bucket: ``rate_per_second`` tokens a second, at most ``burst``.

    :meth:`acquire` takes a token, sleeping until one is due; callers queue in
    the order they arrive, each reserving the next free slot.  ``clock`` and
    ``sleep`` default to :func:`time.monotonic` and :func:`time.sleep`; pass a
    fake pair to test without waiting.
    """

    def __init__(
        self,
        rate_per_second: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate_per_second > 0:
            raise ValueError(f"rate_per_second must be positive, not {rate_per_second!r}")
        if not burst >= 1:
            raise ValueError(f"burst must be at least 1, not {burst!r}")
        self._rate = float(rate_per_second)
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self._burst
        self._last = clock()

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> float:
        return self._burst

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._last = now

    def set_rate(self, rate_per_second: float) -> None:
        if not rate_per_second > 0:
            raise ValueError(f"rate_per_second must be positive, not {rate_per_second!r}")
        with self._lock:
            self._refill()
            self._rate = float(rate_per_second)

    def reserve(self) -> float:
        """Take a token now and return how many seconds until it may be used."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    def try_acquire(self) -> bool:
        """Take a token if one is available right now."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def acquire(self) -> float:
        """Take a token, sleeping until it is due; returns the seconds slept."""
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)
        return delay


@dataclass
class _Token:
    value: str
    fingerprint: tuple[str, ...]
    refresh_at: float | None  # on the invoker's clock; None: until the endpoint refuses it


class _Headers:
    """Request headers, case-insensitive; a later put replaces an earlier one."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, str]] = {}

    def put(self, name: str, value: str) -> None:
        self._items[name.lower()] = (name, value)

    def put_all(self, items: Iterable[tuple[str, str]]) -> None:
        for name, value in items:
            self.put(name, value)

    def as_dict(self) -> dict[str, str]:
        return dict(self._items.values())


def _append_query(url: str, pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return url
    parts = urlsplit(url)
    extra = urlencode(pairs, quote_via=quote)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _fill_path(url: str, values: Iterable[Any]) -> str:
    """Replace the ``*`` wildcards of the URL's path, in order, by ``values``."""
    values = [str(v) for v in values]
    if not values:
        return url
    parts = urlsplit(url)
    pieces = parts.path.split("*")
    path = pieces[0]
    for i, piece in enumerate(pieces[1:]):
        path += (quote(values[i], safe="") if i < len(values) else "*") + piece
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _merge_body(body: bytes, params: tuple[HttpParameter, ...]) -> bytes:
    """Add the connection's body parameters to a JSON-object body (others pass as is)."""
    if not params:
        return body
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if not isinstance(doc, dict):
        return body
    for p in params:
        doc[p.key] = p.value
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - _now()).total_seconds())


def _status_error(status: int, headers: Mapping[str, str], what: str) -> DeliveryError:
    retry_after = _parse_retry_after(headers.get("Retry-After"))
    retryable = is_retryable_status(status)
    if retry_after is not None and retry_after < 0:
        retryable = False  # "If Retry-After value is negative, EventBridge stops retrying"
    return DeliveryError(
        "THROTTLING" if status == 429 else "SDK_CLIENT_ERROR",
        f"{_MESSAGE_PREFIX}{what} answered HTTP status {status}.",
        retryable=retryable,
        status=status,
        retry_after=retry_after,
    )


class HttpInvoker:
    """Sends events to API destinations over pooled HTTP connections.

    One invoker is meant to serve a whole bus: it keeps one rate limiter per
    destination (at the destination's ``InvocationRateLimitPerSecond``) and one
    OAuth token per connection.  ``timeout`` bounds each request, in seconds.
    ``clock``/``sleep`` drive the rate limiters and token expiry.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        token_refresh_margin: float = DEFAULT_TOKEN_REFRESH_MARGIN,
        pool: urllib3.PoolManager | None = None,
        max_connections_per_host: int = 10,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        self.timeout = float(timeout)
        self._clock = clock
        self._sleep = sleep
        self._margin = float(token_refresh_margin)
        self._pool = pool or urllib3.PoolManager(maxsize=max_connections_per_host, block=False)
        self._lock = threading.Lock()
        self._limiters: dict[str, RateLimiter] = {}
        self._tokens: dict[str, _Token] = {}
        self._token_locks: dict[str, threading.Lock] = {}

    def __enter__(self) -> HttpInvoker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.clear()

    # -- rate limiting -------------------------------------------------------

    def limiter_for(self, dest: ApiDestination) -> RateLimiter:
        """The destination's rate limiter, following changes of its rate."""
        rate = dest.invocation_rate_limit_per_second
        with self._lock:
            limiter = self._limiters.get(dest.arn)
            if limiter is None:
                limiter = RateLimiter(rate, clock=self._clock, sleep=self._sleep)
                self._limiters[dest.arn] = limiter
        if limiter.rate != rate:
            limiter.set_rate(rate)
        return limiter

    # -- OAuth ---------------------------------------------------------------

    def forget_token(self, conn: Connection) -> None:
        """Drop a connection's cached OAuth token (after the connection changed)."""
        with self._lock:
            self._tokens.pop(conn.arn, None)

    def _token_lock(self, arn: str) -> threading.Lock:
        with self._lock:
            lock = self._token_locks.get(arn)
            if lock is None:
                lock = self._token_locks[arn] = threading.Lock()
            return lock

    def _bearer(self, conn: Connection, *, refused: str | None = None) -> str:
        """A usable access token: the cached one unless expiring, refused or outdated."""
        oauth = conn.oauth
        assert oauth is not None
        fingerprint = (
            oauth.client_id, oauth.client_secret, oauth.authorization_endpoint, oauth.http_method
        )
        with self._token_lock(conn.arn):
            with self._lock:
                token = self._tokens.get(conn.arn)
            if (
                token is not None
                and token.fingerprint == fingerprint
                and token.value != refused
                and (token.refresh_at is None or self._clock() < token.refresh_at)
            ):
                return token.value
            token = self._fetch_token(conn, oauth, fingerprint)
            with self._lock:
                self._tokens[conn.arn] = token
            return token.value

    def _fetch_token(
        self, conn: Connection, oauth: OAuthClientCredentials, fingerprint: tuple[str, ...]
    ) -> _Token:
        what = "could not obtain an OAuth access token: the authorization endpoint"
        params = oauth.oauth_http_parameters
        form = [(p.key, p.value) for p in params.body_parameters]
        if not any(k == "grant_type" for k, _ in form):
            form.insert(0, ("grant_type", "client_credentials"))
        url = _append_query(
            oauth.authorization_endpoint, [(p.key, p.value) for p in params.query_string_parameters]
        )
        headers = _Headers()
        headers.put("User-Agent", USER_AGENT)
        headers.put("Accept", "application/json")
        headers.put_all((p.key, p.value) for p in params.header_parameters)
        basic = f"{oauth.client_id}:{oauth.client_secret}".encode()
        headers.put("Authorization", "Basic " + base64.b64encode(basic).decode("ascii"))
        body: bytes | None
        if oauth.http_method == "GET":
            url, body = _append_query(url, form), None
        else:
            headers.put("Content-Type", "application/x-www-form-urlencoded")
            body = urlencode(form).encode()
        started = self._clock()
        status, resp_headers, data = self._send(
            oauth.http_method,
            url,
            headers.as_dict(),
            body,
            unreachable=f"{_MESSAGE_PREFIX}{what} cannot be reached.",
            timed_out=f"{_MESSAGE_PREFIX}{what} did not answer in time.",
        )
        if not 200 <= status <= 299:
            error = _status_error(status, resp_headers, what)
            if not error.retryable:
                conn.mark_deauthorized(f"The authorization endpoint answered HTTP status {status}.")
            raise error
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        access = doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(access, str) or not access:
            conn.mark_deauthorized("The authorization endpoint's answer has no access_token.")
            raise DeliveryError(
                "SDK_CLIENT_ERROR",
                f"{_MESSAGE_PREFIX}{what} answered without an access_token.",
                retryable=False,
                status=status,
            )
        assert isinstance(doc, dict)
        refresh_at: float | None = None
        expires = doc.get("expires_in")
        try:
            lifetime = float(expires) if expires is not None else None
        except (TypeError, ValueError):
            lifetime = None
        if lifetime is not None and lifetime > 0:
            # Replace the token `margin` seconds before it expires, or at half
            # its life if that is shorter.
            refresh_at = started + lifetime - min(self._margin, lifetime / 2)
        conn.mark_authorized()
        return _Token(access, fingerprint, refresh_at)

    # -- sending ---------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        unreachable: str = _UNREACHABLE,
        timed_out: str = _TIMED_OUT,
    ) -> tuple[int, Mapping[str, str], bytes]:
        try:
            resp = self._pool.request(
                method,
                url,
                body=body,
                headers=dict(headers),
                timeout=urllib3.Timeout(total=self.timeout),
                retries=False,
                redirect=False,
                preload_content=True,
            )
        except urllib3.exceptions.NewConnectionError as exc:  # a ConnectTimeoutError subclass
            raise DeliveryError("SDK_CLIENT_ERROR", unreachable, retryable=True) from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise DeliveryError("UNKNOWN", timed_out, retryable=True) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise DeliveryError("SDK_CLIENT_ERROR", unreachable, retryable=True) from exc
        return resp.status, resp.headers, resp.data

    def invoke(
        self,
        dest: ApiDestination,
        conn: Connection,
        body: bytes,
        *,
        http_parameters: Mapping[str, Any] | None = None,
    ) -> None:
        """Deliver ``body`` to the destination; raise :class:`DeliveryError` on failure.

        ``http_parameters`` is the target's ``HttpParameters``
        (``PathParameterValues``, ``HeaderParameters``, ``QueryStringParameters``).
        The connection's ``InvocationHttpParameters`` are merged in and win on
        conflicting keys; its body parameters are added to a JSON-object body.
        """
        if dest.connection_arn != conn.arn:
            raise ValueError(
                f"API destination {dest.name} uses connection {dest.connection_arn}, "
                f"not {conn.arn}"
            )
        target = http_parameters or {}
        extra = conn.invocation_http_parameters

        url = _fill_path(dest.invocation_endpoint, target.get("PathParameterValues") or ())
        connection_keys = {p.key for p in extra.query_string_parameters}
        query = [
            (str(k), str(v))
            for k, v in (target.get("QueryStringParameters") or {}).items()
            if k not in connection_keys
        ]
        query += [(p.key, p.value) for p in extra.query_string_parameters]
        url = _append_query(url, query)

        headers = _Headers()
        headers.put("User-Agent", USER_AGENT)
        headers.put("Content-Type", CONTENT_TYPE)
        headers.put_all((str(k), str(v)) for k, v in (target.get("HeaderParameters") or {}).items())
        headers.put_all((p.key, p.value) for p in extra.header_parameters)
        if conn.basic is not None:
            basic = f"{conn.basic.username}:{conn.basic.password}".encode()
            headers.put("Authorization", "Basic " + base64.b64encode(basic).decode("ascii"))
        if conn.api_key is not None:
            headers.put(conn.api_key.api_key_name, conn.api_key.api_key_value)

        method = dest.http_method
        payload = None if method in ("GET", "HEAD") else _merge_body(body, extra.body_parameters)
        limiter = self.limiter_for(dest)

        token: str | None = None
        if conn.oauth is not None:
            token = self._bearer(conn)
            headers.put("Authorization", f"Bearer {token}")
        limiter.acquire()
        status, resp_headers, _ = self._send(method, url, headers.as_dict(), payload)
        if conn.oauth is not None and status in (401, 407):
            # "EventBridge refreshes OAuth tokens when a 401 or 407 response
            # is returned": once, then the answer stands.
            token = self._bearer(conn, refused=token)
            headers.put("Authorization", f"Bearer {token}")
            limiter.acquire()
            status, resp_headers, _ = self._send(method, url, headers.as_dict(), payload)
        if not 200 <= status <= 299:
            raise _status_error(status, resp_headers, "the API destination endpoint")
