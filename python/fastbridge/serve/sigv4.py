"""AWS Signature Version 4 verification of incoming requests (``Authorization`` header only).

``Verifier.verify`` takes one request as it came off the wire and returns the access key
id that signed it, or raises :class:`SignatureError` carrying the error code, message and
HTTP status AWS answers with. Presigned URLs (``X-Amz-Algorithm`` in the query) and
chunked / streaming payloads are not supported.

What the caller passes
----------------------
* ``path``: the raw request-target path exactly as received, still percent-encoded (for
  ``POST /?a=b`` that is ``"/"``). Signing SDKs encode the path once to put it on the wire
  and sign the encoding of *that*; so must we (see "Canonical URI").
* ``query``: the raw query string without the ``?`` (``""`` when there is none).
* ``headers``: a mapping or a list of ``(name, value)`` pairs; names are matched
  case-insensitively and repeated headers are joined with ``,`` in arrival order.
* ``body``: the complete request body.

Canonical request (spec: "Create a canonical request for Signature Version 4", AWS IAM
user guide / General Reference "Signature Version 4 signing process")
----------------------------------------------------------------------------------
* Canonical URI: the path is normalized as for every non-S3 service -- empty and ``.``
  segments dropped, ``..`` removes the previous segment, a trailing ``/`` is kept -- and
  then URI-encoded (unreserved ``A-Za-z0-9-._~`` and ``/`` kept, everything else ``%XX``
  upper-case). Applied to the already-encoded wire path this is the "double encoding" the
  spec asks of non-S3 services; it is what botocore's ``SigV4Auth`` signs (checked by the
  tests, which sign with botocore). No percent-decoding happens before normalization.
* Canonical query string: every ``name=value`` pair is percent-decoded and re-encoded with
  the spec's rule (unreserved kept, space as ``%20``; ``+`` is a literal plus, not a
  space), then sorted by name and value. CHOICE: when the raw query was not already in that
  form, the signature is also accepted over the pairs exactly as sent, sorted -- botocore
  signs a query that is already part of the URL that way, without re-encoding it. Both
  forms commit the signer to the bytes sent, so accepting either loses nothing.
* Canonical headers: only the headers named in ``SignedHeaders``, in that list's order
  (which the spec and every SDK make sorted, lower-case), ``name:value`` with the value
  trimmed and inner runs of whitespace collapsed to one space. CHOICE: "whitespace" is
  Python's ``str.split()`` notion, the same as botocore's (the spec says "sequential
  spaces"; a value with tabs or other whitespace inside is signed that way by botocore).
* Hashed payload: hex SHA-256 of the body. If ``X-Amz-Content-Sha256`` is present it must
  equal that hash (case-insensitively) and its own text is what goes into the canonical
  request; ``UNSIGNED-PAYLOAD`` and the ``STREAMING-*`` values are refused (CHOICE: this
  is a JSON-protocol service whose SDKs always hash the payload; accepting an unsigned
  payload would let anyone who sees one request replay its headers with another body).
  A mismatch answers the ordinary signature-mismatch error.
* Request time: ``X-Amz-Date`` (ISO 8601 basic, ``YYYYMMDD'T'HHMMSS'Z'``), else ``Date``
  (the same form, or an RFC 7231 / RFC 2822 date as botocore writes it); "AWS first checks
  the x-amz-date header ... If AWS can't find a value for x-amz-date, it looks for the date
  header" (AWS General Reference, "Handling dates in Signature Version 4"). The string to
  sign always carries the ISO basic form.
* ``X-Amz-Security-Token`` is opaque: signed or not, any value is accepted for a known
  access key (we issue no session tokens; AWS checks the token after the signature).

Errors: codes, messages, statuses, order
----------------------------------------
Every error is HTTP 400. Sources: JSON-protocol (awsJson1_0 / awsJson1_1, "coral")
services answer these errors with 400 -- DynamoDB ``MissingAuthenticationTokenException``
"Status Code: 400" (aws-sdk-java trace in amazon-archives/aws-dynamodb-session-tomcat#42,
awslabs/amazon-kinesis-client#351), Kinesis ``InvalidSignatureException`` "status code:
400" (remind101/logspout-kinesis#21), ECS / Cognito ``UnrecognizedClientException``
"400 Bad Request" (aws-azure-login#37, aws-sdk-php#2444), Cloud9 (JSON 1.1)
``IncompleteSignatureException`` statusCode 400 (iann0036/cloud9-sync#10). The 403s seen in
issues come from REST services (Lambda, API Gateway, Glacier, CloudFront KVS), which
EventBridge is not. The order of the checks and most texts are the ones dynalite recorded
from DynamoDB and keeps in its source (mhart/dynalite ``index.js``, comments "THEN
check ..."), the same coral front end EventBridge sits behind:

1. No ``Authorization`` header, or one not starting with ``AWS4-``:
   ``MissingAuthenticationTokenException`` "Request is missing Authentication Token"
   (dynalite; DynamoDB via aws-sdk-java and Go SDK in the issues above). CHOICE: the brief
   suggested "Missing Authentication Token" -- that is API Gateway's / Lambda's text (with
   403); JSON services say "Request is missing Authentication Token". A query-string
   (presigned) signature without the header lands here too, since we do not support it;
   with the header as well it is ``InvalidSignatureException`` "Found both 'X-Amz-Algorithm'
   as a query-string param and 'Authorization' as HTTP header." (dynalite).
2. A token after the algorithm without ``=``: ``IncompleteSignatureException``
   "'<token>' not a valid key=value pair (missing equal-sign) in Authorization header:
   '<header>'." (cloud9-sync#10, awslabs/fhir-works-on-aws-deployment#379,
   aws/aws-sdk-go#289). Tokens are split at commas and whitespace, so ``Credential= AKID/...``
   yields this error, as it does at AWS.
3. Missing ``Credential`` / ``Signature`` / ``SignedHeaders`` or no date header:
   ``IncompleteSignatureException``, one sentence per fault in this order, then
   ``Authorization=<header>``: "Authorization header requires 'Credential' parameter.
   Authorization header requires 'Signature' parameter. Authorization header requires
   'SignedHeaders' parameter. Authorization header requires existence of either a
   'X-Amz-Date' or a 'Date' header. Authorization=..." (aws/chalice#828,
   brendanhay/amazonka#316 for SES, dynalite).
4. Unparseable date: ``IncompleteSignatureException`` "Date must be in ISO-8601 'basic
   format'. Got '<value>'. See http://en.wikipedia.org/wiki/ISO_8601" (dynalite).
5. Outside ``now ± max_skew``: ``InvalidSignatureException`` "Signature expired:
   20160610T180547Z is now earlier than 20160610T180612Z (20160610T181112Z - 5 min.)" and
   "Signature not yet current: 20181017T093750Z is still later than 20181017T093639Z
   (20181017T093139Z + 5 min.)" (hassy/artillery-dino#2, s12v/awsbeats#48; AWS's
   signature-v4-troubleshooting page names both). ``now`` is truncated to whole seconds;
   CHOICE: the minutes are printed with ``%g`` (300 s -> "5", 90 s -> "1.5").
6. ``host`` not in SignedHeaders: ``InvalidSignatureException`` "'Host' or ':authority'
   must be a 'SignedHeader' in the AWS Authorization." (current text, cited by
   scratchstack-aws-signature's tests and a 403 report from a Swift client; dynalite has the
   2013 form "'Host' must be a 'SignedHeader' ...").
7. Algorithm other than ``AWS4-HMAC-SHA256``: ``IncompleteSignatureException`` "Unsupported
   AWS 'algorithm': '<alg>' (only AWS4-HMAC-SHA256 for now). " (dynalite).
8. Credential not ``keyid/date/region/service/term`` (trailing slashes ignored):
   ``IncompleteSignatureException`` "Credential must have exactly 5 slash-delimited
   elements, e.g. keyid/date/region/service/term, got '<credential>'" (dynalite).
9. Scope: ``InvalidSignatureException``, one sentence per wrong part, in this order, each
   followed by one space (AWS's own answers keep the trailing space: "Credential should be
   scoped to a valid region, not 'eu-west-1'. " in joona/aws-es-curl#15, "Credential should
   be scoped to correct service: 'batch'. " in cllunsford/aws-signing-proxy#25):
   "Credential should be scoped to a valid region, not '<region>'. ",
   "Credential should be scoped to correct service: 'events'. ",
   "Credential should be scoped with a valid terminator: 'aws4_request', not '<term>'. ",
   "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP:
   '<scope date>' != '<request date>', from '<request time>'. " (dynalite's recorded
   composite message; AWS's signature-v4-troubleshooting page gives the shortened forms).
10. Unknown access key: ``UnrecognizedClientException`` "The security token included in
    the request is invalid." (issues above; dynalite).
11. Wrong signature: ``InvalidSignatureException`` "The request signature we calculated
    does not match the signature you provided. Check your AWS Secret Access Key and signing
    method. Consult the service documentation for details." (smithy545/aws-apps-scripts#12,
    dynalite). DynamoDB appends the canonical request and string to sign to the message;
    CHOICE: we keep the message to the sentence above and put those two on the exception
    (``canonical_request``, ``string_to_sign``) for the server's debug log.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import unquote_to_bytes

__all__ = ["Credentials", "SignatureError", "Verifier"]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
_ISO_BASIC = "%Y%m%dT%H%M%SZ"
_ISO_BASIC_RE = re.compile(r"\d{8}T\d{6}Z\Z")
_HEX64_RE = re.compile(r"[0-9a-fA-F]{64}\Z")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_TOKEN_SPLIT = re.compile(r"[,\s]+")

MISSING_TOKEN = "Request is missing Authentication Token"
INVALID_TOKEN = "The security token included in the request is invalid."
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
BOTH_AUTH = (
    "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
)


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str


class SignatureError(Exception):
    """A request that fails authentication, as AWS reports it (``__type``, message, status)."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        *,
        canonical_request: str | None = None,
        string_to_sign: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        # What we computed, for a server-side debug log (never needed by the client).
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _incomplete(message: str) -> SignatureError:
    return SignatureError("IncompleteSignatureException", message)


def _invalid(message: str) -> SignatureError:
    return SignatureError("InvalidSignatureException", message)


def uri_encode(data: str | bytes, *, keep_slash: bool = False) -> str:
    """Percent-encode as SigV4 asks: unreserved bytes kept, the rest ``%XX`` upper-case."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    out: list[str] = []
    for byte in raw:
        if byte in _UNRESERVED or (keep_slash and byte == 0x2F):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def canonical_uri(path: str) -> str:
    """Normalize (RFC 3986 dot segments, no empty segments) and encode the wire path."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    normalized = "/" + "/".join(segments)
    if segments and path.endswith("/"):
        normalized += "/"
    return uri_encode(normalized, keep_slash=True)


def _query_pairs(query: str) -> list[tuple[str, str]]:
    return [(name, value) for name, _, value in (p.partition("=") for p in query.split("&"))]


def canonical_query(query: str) -> str:
    """The spec's canonical query string: decode, re-encode, sort by name then value."""
    if not query:
        return ""
    pairs = sorted(
        (uri_encode(unquote_to_bytes(name)), uri_encode(unquote_to_bytes(value)))
        for name, value in _query_pairs(query)
        if name or value
    )
    return "&".join(f"{name}={value}" for name, value in pairs)


def literal_query(query: str) -> str:
    """The query's pairs exactly as sent, sorted (how botocore signs a query in the URL)."""
    if not query:
        return ""
    return "&".join(f"{name}={value}" for name, value in sorted(_query_pairs(query)))


def _fold(value: str) -> str:
    return " ".join(value.split())


def _not_text(*texts: str) -> bool:
    """Whether a string holds a lone surrogate, which has no UTF-8 form."""
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


def _header_lists(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> dict[str, list[str]]:
    items: Iterable[tuple[str, str]] = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, list[str]] = {}
    for name, value in items:
        found.setdefault(name.strip().lower(), []).append(value)
    return found


def _parse_time(value: str) -> datetime | None:
    value = value.strip()
    if _ISO_BASIC_RE.match(value):
        try:
            return datetime.strptime(value, _ISO_BASIC).replace(tzinfo=timezone.utc)
        except ValueError:
            return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, TERMINATOR)


class Verifier:
    """Checks SigV4 ``Authorization`` headers against a fixed set of access keys."""

    def __init__(
        self,
        keys: Mapping[str, str] | Iterable[Credentials],
        *,
        region: str,
        service: str = "events",
        max_skew: float = 300.0,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        if isinstance(keys, Mapping):
            self._secrets: dict[str, str] = {str(k): str(v) for k, v in keys.items()}
        else:
            self._secrets = {c.access_key_id: c.secret_access_key for c in keys}
        self.region = region
        self.service = service
        self.max_skew = float(max_skew)
        self._now = now

    def _current_time(self) -> datetime:
        current = self._now()
        if current.tzinfo is None:
            current = current.replace(tzinfo=timezone.utc)
        return current.astimezone(timezone.utc).replace(microsecond=0)

    def verify(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str] | list[tuple[str, str]],
        body: bytes,
    ) -> str:
        """Return the access key id of a correctly signed request, else raise SignatureError."""
        found = _header_lists(headers)
        if _not_text(method, path, query, *found, *(v for vs in found.values() for v in vs)):
            # A lone surrogate (only a caller's str, never WSGI's latin-1) is no UTF-8 a
            # client can have signed.
            raise _invalid(SIGNATURE_MISMATCH)
        auth_values = found.get("authorization")
        query_auth = (
            any(unquote_to_bytes(name) == b"X-Amz-Algorithm" for name, _ in _query_pairs(query))
            if query
            else False
        )
        if auth_values and query_auth:
            raise _invalid(BOTH_AUTH)
        authorization = auth_values[-1] if auth_values else ""
        if not authorization.strip().startswith("AWS4-"):
            raise SignatureError("MissingAuthenticationTokenException", MISSING_TOKEN)

        # 2-3: the header's shape and the presence of a date.
        algorithm, _, rest = authorization.strip().partition(" ")
        params: dict[str, str] = {}
        for token in _TOKEN_SPLIT.split(rest):
            if not token:
                continue
            name, equals, value = token.partition("=")
            if not equals:
                raise _incomplete(
                    f"'{token}' not a valid key=value pair (missing equal-sign) in "
                    f"Authorization header: '{authorization}'."
                )
            params[name] = value
        faults = [
            f"Authorization header requires '{part}' parameter. "
            for part in ("Credential", "Signature", "SignedHeaders")
            if part not in params or (part != "SignedHeaders" and not params[part])
        ]
        amz_dates = found.get("x-amz-date")
        dates = found.get("date")
        raw_time = amz_dates[-1] if amz_dates else dates[-1] if dates else None
        if raw_time is None:
            faults.append(
                "Authorization header requires existence of either a 'X-Amz-Date' or a "
                "'Date' header. "
            )
        if faults:
            raise _incomplete("".join(faults) + f"Authorization={authorization}")
        assert raw_time is not None

        # 4-5: the time.
        request_time = _parse_time(raw_time)
        if request_time is None:
            raise _incomplete(
                f"Date must be in ISO-8601 'basic format'. Got '{raw_time}'. "
                "See http://en.wikipedia.org/wiki/ISO_8601"
            )
        stamp = request_time.strftime(_ISO_BASIC)
        current = self._current_time()
        skew = timedelta(seconds=self.max_skew)
        if request_time < current - skew:
            raise _invalid(
                f"Signature expired: {stamp} is now earlier than "
                f"{(current - skew).strftime(_ISO_BASIC)} "
                f"({current.strftime(_ISO_BASIC)} - {_minutes(self.max_skew)} min.)"
            )
        if request_time > current + skew:
            raise _invalid(
                f"Signature not yet current: {stamp} is still later than "
                f"{(current + skew).strftime(_ISO_BASIC)} "
                f"({current.strftime(_ISO_BASIC)} + {_minutes(self.max_skew)} min.)"
            )

        # 6-9: what was signed and for whom.
        signed_headers = params["SignedHeaders"]
        names = signed_headers.split(";")
        if "host" not in (n.lower() for n in names):
            raise _invalid(HOST_NOT_SIGNED)
        if algorithm != ALGORITHM:
            raise _incomplete(
                f"Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} for now). "
            )
        credential = params["Credential"]
        parts = credential.rstrip("/").split("/")
        if len(parts) != 5:
            raise _incomplete(
                "Credential must have exactly 5 slash-delimited elements, "
                f"e.g. keyid/date/region/service/term, got '{credential}'"
            )
        key_id, scope_date, scope_region, scope_service, terminator = parts
        scope_faults: list[str] = []
        if scope_region != self.region:
            scope_faults.append(
                f"Credential should be scoped to a valid region, not '{scope_region}'. "
            )
        if scope_service != self.service:
            scope_faults.append(
                f"Credential should be scoped to correct service: '{self.service}'. "
            )
        if terminator != TERMINATOR:
            scope_faults.append(
                "Credential should be scoped with a valid terminator: "
                f"'{TERMINATOR}', not '{terminator}'. "
            )
        if scope_date != stamp[:8]:
            scope_faults.append(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                f"date from HTTP: '{scope_date}' != '{stamp[:8]}', from '{stamp}'. "
            )
        if scope_faults:
            raise _invalid("".join(scope_faults))

        # 10: whose key.
        secret = self._secrets.get(key_id)
        if secret is None:
            raise SignatureError("UnrecognizedClientException", INVALID_TOKEN)

        # 11: the signature itself.
        body_hash = hashlib.sha256(body).hexdigest()
        declared = found.get("x-amz-content-sha256")
        payload_hash = body_hash
        payload_ok = True
        if declared:
            payload_hash = declared[-1].strip()
            payload_ok = bool(_HEX64_RE.match(payload_hash)) and payload_hash.lower() == body_hash
        canonical_headers = "".join(
            f"{name.lower()}:{','.join(_fold(v) for v in found.get(name.lower(), []))}\n"
            for name in names
        )
        uri = canonical_uri(path)
        queries = [canonical_query(query)]
        if literal_query(query) != queries[0]:
            queries.append(literal_query(query))
        key = signing_key(secret, scope_date, scope_region, scope_service)
        provided = params["Signature"].encode("ascii", "replace")
        first: tuple[str, str] | None = None
        matched = False
        for canonical_q in queries:
            canonical_request = "\n".join(
                [method.upper(), uri, canonical_q, canonical_headers, signed_headers, payload_hash]
            )
            string_to_sign = "\n".join(
                [
                    ALGORITHM,
                    stamp,
                    f"{scope_date}/{scope_region}/{scope_service}/{TERMINATOR}",
                    hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
                ]
            )
            if first is None:
                first = (canonical_request, string_to_sign)
            expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected.encode("ascii"), provided):
                matched = True
        if not (matched and payload_ok):
            assert first is not None
            raise SignatureError(
                "InvalidSignatureException",
                SIGNATURE_MISMATCH,
                canonical_request=first[0],
                string_to_sign=first[1],
            )
        return key_id
