"""SigV4 verification: requests signed by real botocore, checked by fastbridge.serve.sigv4."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore.auth
import botocore.credentials
import pytest
from botocore.awsrequest import AWSRequest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastbridge.serve.sigv4 import Credentials, SignatureError, Verifier

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
OTHER_AK = "AKIDOTHER"
OTHER_SK = "otherSecret"
REGION = "us-east-1"
T0 = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)
BODY = json.dumps({"Entries": [{"Source": "app", "DetailType": "t", "Detail": "{}"}]}).encode()

Request = tuple[str, str, str, list[tuple[str, str]], bytes]


def sign(
    body: bytes = BODY,
    *,
    url: str = "http://127.0.0.1:4010/",
    ak: str = AK,
    sk: str = SK,
    token: str | None = None,
    service: str = "events",
    region: str = REGION,
    at: datetime = T0,
    headers: dict[str, str] | None = None,
    before_sign: Callable[[AWSRequest], None] | None = None,
) -> tuple[AWSRequest, Request]:
    """Sign with botocore at time `at`; return the request and what a server would see."""
    req = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "X-Amz-Target": "AWSEvents.PutEvents",
            "Content-Type": "application/x-amz-json-1.1",
            **(headers or {}),
        },
    )
    if before_sign is not None:
        before_sign(req)
    creds = botocore.credentials.Credentials(ak, sk, token)
    # botocore.auth takes the signing time from get_current_datetime() (naive UTC).
    with mock.patch.object(
        botocore.auth, "get_current_datetime", return_value=at.replace(tzinfo=None)
    ):
        botocore.auth.SigV4Auth(creds, service, region).add_auth(req)
    return req, wire(req)


def wire(req: AWSRequest) -> Request:
    parts = urlsplit(req.url)
    headers = [(k, v) for k, v in req.headers.items()]
    # The HTTP client adds Host; botocore signed the URL's netloc as host.
    if not any(k.lower() == "host" for k, _ in headers):
        headers.append(("Host", parts.netloc))
    body = req.body if isinstance(req.body, bytes) else (req.body or b"")
    return req.method, parts.path or "/", parts.query, headers, body


def verifier(now: datetime = T0, **kwargs: Any) -> Verifier:
    return Verifier({AK: SK, OTHER_AK: OTHER_SK}, region=REGION, now=lambda: now, **kwargs)


def check(request: Request, v: Verifier | None = None) -> str:
    method, path, query, headers, body = request
    return (v or verifier()).verify(method, path, query, headers, body)


def refused(request: Request, v: Verifier | None = None) -> SignatureError:
    with pytest.raises(SignatureError) as info:
        check(request, v)
    assert info.value.status == 400
    return info.value


def replace_header(request: Request, name: str, value: str | None) -> Request:
    method, path, query, headers, body = request
    kept = [(k, v) for k, v in headers if k.lower() != name.lower()]
    if value is not None:
        kept.append((name, value))
    return method, path, query, kept, body


def header(request: Request, name: str) -> str:
    return next(v for k, v in request[3] if k.lower() == name.lower())


MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


# --- accepted -----------------------------------------------------------------------------


def test_valid_request() -> None:
    _, request = sign()
    assert check(request) == AK


def test_second_key_and_credentials_list() -> None:
    _, request = sign(ak=OTHER_AK, sk=OTHER_SK)
    v = Verifier(
        [Credentials(AK, SK), Credentials(OTHER_AK, OTHER_SK)], region=REGION, now=lambda: T0
    )
    assert check(request, v) == OTHER_AK


def test_headers_as_mapping() -> None:
    _, (method, path, query, headers, body) = sign()
    assert verifier().verify(method, path, query, dict(headers), body) == AK


def test_empty_body() -> None:
    _, request = sign(b"")
    assert check(request) == AK


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4010/?b=2&a=1",
        "http://127.0.0.1:4010/?a=2&a=1&c=",
        "http://127.0.0.1:4010/?x=a%20b&y=%2F%3A%E2%82%AC",
        "http://127.0.0.1:4010/?x=a/b:c&y=1+2",  # not spec-encoded; botocore signs it raw
        "http://127.0.0.1:4010/some/path",
        "http://127.0.0.1:4010/a%20b/%E2%82%AC/c~d",
        "http://127.0.0.1:4010/a/./b/../c//d/",
        "http://127.0.0.1:4010/..//x/.",
        "http://127.0.0.1:4010",
        "http://127.0.0.1:4010/p%2Fq?k=v%2Bw",
    ],
)
def test_valid_with_query_and_odd_paths(url: str) -> None:
    _, request = sign(url=url)
    assert check(request) == AK


def test_valid_with_session_token() -> None:
    _, request = sign(token="FQoGZXIvYXdzE-opaque-session-token")
    assert "x-amz-security-token" in header(request, "Authorization")
    assert check(request) == AK


def test_unsigned_extra_header_added_after_signing() -> None:
    _, request = sign()
    request[3].append(("User-Agent", "Boto3/1.0"))
    request[3].append(("X-Forwarded-For", "10.0.0.1"))
    assert check(request) == AK


def test_duplicate_headers_joined_with_commas() -> None:
    def add_dupes(req: AWSRequest) -> None:
        req.headers["X-Dup"] = "one"
        req.headers["X-Dup"] = "  two   words "  # HTTPHeaders appends, it does not replace

    _, request = sign(before_sign=add_dupes)
    assert [v for k, v in request[3] if k == "X-Dup"] == ["one", "  two   words "]
    assert check(request) == AK
    # The order of repeated values is signed.
    method, path, query, headers, body = request
    swapped = [(k, v) for k, v in headers if k != "X-Dup"]
    swapped += [("X-Dup", "  two   words "), ("X-Dup", "one")]
    assert refused((method, path, query, swapped, body)).code == "InvalidSignatureException"


def test_header_value_whitespace_folding() -> None:
    _, request = sign(headers={"X-Spacey": "  a   b \t c  "})
    assert check(request) == AK
    # Re-folded on the way (as a proxy might): still the same canonical value.
    assert check(replace_header(request, "X-Spacey", "a b\t\tc")) == AK
    # A real change to the value is not.
    assert refused(replace_header(request, "X-Spacey", "a bc")).message == MISMATCH


def test_header_names_case_insensitive() -> None:
    _, (method, path, query, headers, body) = sign()
    flipped = [(k.upper(), v) for k, v in headers]
    assert verifier().verify(method, path, query, flipped, body) == AK


def test_date_header_instead_of_x_amz_date() -> None:
    _, request = sign(headers={"Date": "whatever"})
    assert not any(k.lower() == "x-amz-date" for k, _ in request[3])
    assert header(request, "Date").endswith("-0000")
    assert check(request) == AK


def test_content_sha256_header() -> None:
    import hashlib

    digest = hashlib.sha256(BODY).hexdigest()
    _, request = sign(headers={"X-Amz-Content-SHA256": digest})
    assert check(request) == AK
    # A declared hash that is not the body's is refused, even though botocore signs it.
    _, lying = sign(b"other body", headers={"X-Amz-Content-SHA256": digest})
    assert refused(lying).message == MISMATCH
    _, unsigned = sign(headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    assert refused(unsigned).message == MISMATCH


def test_skew_boundaries_accepted() -> None:
    _, request = sign(at=T0 - timedelta(seconds=300))
    assert check(request) == AK
    _, request = sign(at=T0 + timedelta(seconds=300))
    assert check(request) == AK
    _, request = sign(at=T0)
    assert check(request, verifier(now=(T0 + timedelta(seconds=300, microseconds=999999)))) == AK


def test_aws_test_suite_get_vanilla() -> None:
    """AWS's SigV4 test suite case "get-vanilla", independent of botocore."""
    v = Verifier(
        {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
        region="us-east-1",
        service="service",
        now=lambda: datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc),
    )
    headers = [
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
    ]
    assert v.verify("GET", "/", "", headers, b"") == "AKIDEXAMPLE"


# --- refused ------------------------------------------------------------------------------


def test_wrong_secret() -> None:
    _, request = sign(sk="not-the-secret")
    error = refused(request)
    assert (error.code, error.message) == ("InvalidSignatureException", MISMATCH)
    assert error.canonical_request is not None and error.canonical_request.startswith("POST\n/\n")
    assert error.string_to_sign is not None
    assert error.string_to_sign.startswith("AWS4-HMAC-SHA256\n20261129T120000Z\n")


def test_unknown_key() -> None:
    _, request = sign(ak="AKIDUNKNOWN")
    error = refused(request)
    assert error.code == "UnrecognizedClientException"
    assert error.message == "The security token included in the request is invalid."


def test_tampered_body() -> None:
    method, path, query, headers, body = sign()[1]
    error = refused((method, path, query, headers, body.replace(b"app", b"apq")))
    assert (error.code, error.message) == ("InvalidSignatureException", MISMATCH)


def test_tampered_signed_header() -> None:
    _, request = sign()
    tampered = replace_header(request, "X-Amz-Target", "AWSEvents.DeleteRule")
    assert refused(tampered).message == MISMATCH
    dropped = replace_header(request, "Content-Type", None)
    assert refused(dropped).message == MISMATCH


def test_tampered_path_query_method() -> None:
    _, (method, path, query, headers, body) = sign(url="http://127.0.0.1:4010/a?x=1")
    assert refused((method, "/b", query, headers, body)).message == MISMATCH
    assert refused((method, path, "x=2", headers, body)).message == MISMATCH
    assert refused(("PUT", path, query, headers, body)).message == MISMATCH


def test_wrong_region() -> None:
    _, request = sign(region="eu-west-1")
    error = refused(request)
    assert error.code == "InvalidSignatureException"
    assert error.message == "Credential should be scoped to a valid region, not 'eu-west-1'. "


def test_wrong_service() -> None:
    _, request = sign(service="sqs")
    error = refused(request)
    assert error.code == "InvalidSignatureException"
    assert error.message == "Credential should be scoped to correct service: 'events'. "


def test_several_scope_faults_in_one_message() -> None:
    _, request = sign()
    auth = header(request, "Authorization").replace(
        f"/20261129/{REGION}/events/aws4_request", "/20261128/eu-west-1/sqs/aws5_request"
    )
    error = refused(replace_header(request, "Authorization", auth))
    assert error.message == (
        "Credential should be scoped to a valid region, not 'eu-west-1'. "
        "Credential should be scoped to correct service: 'events'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', "
        "not 'aws5_request'. "
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
        "from HTTP: '20261128' != '20261129', from '20261129T120000Z'. "
    )


def test_scope_date_mismatch() -> None:
    _, request = sign()
    auth = header(request, "Authorization").replace("/20261129/", "/20261130/")
    error = refused(replace_header(request, "Authorization", auth))
    assert error.code == "InvalidSignatureException"
    assert error.message.startswith("Date in Credential scope does not match")


def test_expired() -> None:
    # AWS's own example: 20160610T180547Z signed, checked at 20160610T181112Z.
    signed_at = datetime(2016, 6, 10, 18, 5, 47, tzinfo=timezone.utc)
    now = datetime(2016, 6, 10, 18, 11, 12, 345678, tzinfo=timezone.utc)
    _, request = sign(at=signed_at)
    error = refused(request, verifier(now=now))
    assert error.code == "InvalidSignatureException"
    assert error.message == (
        "Signature expired: 20160610T180547Z is now earlier than 20160610T180612Z "
        "(20160610T181112Z - 5 min.)"
    )


def test_not_yet_current() -> None:
    signed_at = datetime(2018, 10, 17, 9, 37, 50, tzinfo=timezone.utc)
    now = datetime(2018, 10, 17, 9, 31, 39, tzinfo=timezone.utc)
    _, request = sign(at=signed_at)
    error = refused(request, verifier(now=now))
    assert error.code == "InvalidSignatureException"
    assert error.message == (
        "Signature not yet current: 20181017T093750Z is still later than 20181017T093639Z "
        "(20181017T093139Z + 5 min.)"
    )


def test_custom_skew_in_message() -> None:
    _, request = sign(at=T0 - timedelta(seconds=91))
    error = refused(request, verifier(max_skew=90))
    assert error.message.endswith("(20261129T120000Z - 1.5 min.)")
    assert check(request, verifier(max_skew=900)) == AK


def test_missing_authorization() -> None:
    _, request = sign()
    error = refused(replace_header(request, "Authorization", None))
    assert error.code == "MissingAuthenticationTokenException"
    assert error.message == "Request is missing Authentication Token"
    for other in ("Bearer abc.def", "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", ""):
        error = refused(replace_header(request, "Authorization", other))
        assert error.code == "MissingAuthenticationTokenException"


def test_presigned_query_not_supported() -> None:
    _, (method, path, _, headers, body) = sign()
    query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00"
    error = refused((method, path, query, headers, body))
    assert error.message == (
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
    )
    bare = [(k, v) for k, v in headers if k.lower() != "authorization"]
    error = refused((method, path, query, bare, body))
    assert error.code == "MissingAuthenticationTokenException"


def _auth_parts(request: Request) -> tuple[str, str, str]:
    auth = header(request, "Authorization")
    fields = dict(p.split("=", 1) for p in auth.split(" ", 1)[1].split(", "))
    return fields["Credential"], fields["SignedHeaders"], fields["Signature"]


def test_malformed_missing_parts() -> None:
    _, request = sign()
    cred, signed, sig = _auth_parts(request)
    cases = {
        f"AWS4-HMAC-SHA256 Credential={cred}": (
            "Authorization header requires 'Signature' parameter. "
            "Authorization header requires 'SignedHeaders' parameter. "
        ),
        f"AWS4-HMAC-SHA256 SignedHeaders={signed}, Signature={sig}": (
            "Authorization header requires 'Credential' parameter. "
        ),
        "AWS4-HMAC-SHA256": (
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'Signature' parameter. "
            "Authorization header requires 'SignedHeaders' parameter. "
        ),
        f"AWS4-HMAC-SHA256 Credential=, SignedHeaders={signed}, Signature={sig}": (
            "Authorization header requires 'Credential' parameter. "
        ),
    }
    for auth, expected in cases.items():
        error = refused(replace_header(request, "Authorization", auth))
        assert error.code == "IncompleteSignatureException"
        assert error.message == f"{expected}Authorization={auth}"


def test_malformed_missing_date() -> None:
    _, request = sign()
    auth = header(request, "Authorization")
    error = refused(replace_header(request, "X-Amz-Date", None))
    assert error.code == "IncompleteSignatureException"
    assert error.message == (
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
        f"header. Authorization={auth}"
    )


def test_malformed_date_value() -> None:
    _, request = sign()
    error = refused(replace_header(request, "X-Amz-Date", "2026-11-29T12:00:00Z"))
    assert error.code == "IncompleteSignatureException"
    assert error.message == (
        "Date must be in ISO-8601 'basic format'. Got '2026-11-29T12:00:00Z'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def test_malformed_pair_without_equals() -> None:
    _, request = sign()
    cred, signed, sig = _auth_parts(request)
    auth = f"AWS4-HMAC-SHA256 Credential= {cred}, SignedHeaders={signed}, Signature={sig}"
    error = refused(replace_header(request, "Authorization", auth))
    assert error.code == "IncompleteSignatureException"
    assert error.message == (
        f"'{cred}' not a valid key=value pair (missing equal-sign) in Authorization header: "
        f"'{auth}'."
    )


def test_malformed_algorithm() -> None:
    _, request = sign()
    auth = header(request, "Authorization").replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512")
    error = refused(replace_header(request, "Authorization", auth))
    assert error.code == "IncompleteSignatureException"
    assert error.message == (
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "
    )


def test_malformed_credential() -> None:
    _, request = sign()
    cred, _, _ = _auth_parts(request)
    short = cred.rsplit("/", 1)[0]
    auth = header(request, "Authorization").replace(cred, short)
    error = refused(replace_header(request, "Authorization", auth))
    assert error.code == "IncompleteSignatureException"
    assert error.message == (
        "Credential must have exactly 5 slash-delimited elements, "
        f"e.g. keyid/date/region/service/term, got '{short}'"
    )
    # Trailing slashes are ignored.
    auth = header(request, "Authorization").replace(cred, cred + "/")
    assert check(replace_header(request, "Authorization", auth)) == AK


def test_host_must_be_signed() -> None:
    _, request = sign()
    _, signed, _ = _auth_parts(request)
    without_host = ";".join(n for n in signed.split(";") if n != "host")
    auth = header(request, "Authorization").replace(signed, without_host)
    error = refused(replace_header(request, "Authorization", auth))
    assert error.code == "InvalidSignatureException"
    assert error.message == (
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    )


def test_tampered_signature_value() -> None:
    _, request = sign()
    _, _, sig = _auth_parts(request)
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    auth = header(request, "Authorization").replace(sig, flipped)
    assert refused(replace_header(request, "Authorization", auth)).message == MISMATCH
    auth = header(request, "Authorization").replace(sig, sig.upper())
    assert refused(replace_header(request, "Authorization", auth)).message == MISMATCH


def test_tampered_date_header() -> None:
    _, request = sign()
    later = replace_header(request, "X-Amz-Date", "20261129T120001Z")
    assert refused(later).message == MISMATCH


# --- properties ---------------------------------------------------------------------------

_segment_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/"),
    max_size=8,
)
_segment = st.one_of(
    st.sampled_from(["", ".", ".."]),
    _segment_text.map(lambda s: quote(s, safe="!$&'()*+,;=:@")),
)
_paths = st.lists(_segment, max_size=5).map(lambda segs: "/" + "/".join(segs))
_query = st.lists(
    st.tuples(_segment_text, _segment_text).map(
        lambda kv: f"{quote(kv[0], safe='')}={quote(kv[1], safe='')}"
    ),
    max_size=4,
).map("&".join)
_header_value = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from(" \t"),
    max_size=30,
)
_header_name = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
    min_size=1,
    max_size=10,
).map(lambda s: "X-Test-" + s)


@settings(max_examples=150, deadline=None)
@given(
    body=st.binary(max_size=300),
    path=_paths,
    query=_query,
    extra=st.dictionaries(_header_name, _header_value, max_size=4),
    token=st.none() | st.text(alphabet="abcdefABCDEF0123456789+/=", min_size=1, max_size=40),
)
def test_botocore_signed_requests_verify(
    body: bytes, path: str, query: str, extra: dict[str, str], token: str | None
) -> None:
    url = "http://127.0.0.1:4010" + path + (f"?{query}" if query else "")
    _, request = sign(body, url=url, headers=extra, token=token)
    assert check(request) == AK


@settings(max_examples=150, deadline=None)
@given(
    body=st.binary(min_size=1, max_size=300),
    data=st.data(),
)
def test_any_single_byte_change_to_body_fails(body: bytes, data: st.DataObject) -> None:
    method, path, query, headers, _ = sign(body)[1]
    index = data.draw(st.integers(0, len(body) - 1))
    delta = data.draw(st.integers(1, 255))
    changed = bytearray(body)
    changed[index] ^= delta
    error = refused((method, path, query, headers, bytes(changed)))
    assert (error.code, error.message) == ("InvalidSignatureException", MISMATCH)


def test_lone_surrogates_are_refused_not_crashes() -> None:
    # Found while fuzzing (fuzz/python/fuzz_sigv4.py): a str with a lone surrogate, which
    # WSGI's latin-1 strings never hold but a caller's may, raised UnicodeEncodeError.
    _, (method, path, query, headers, body) = sign()
    assert check((method, path, query, headers, body)) == AK
    host = [(k, v + "\ud800" if k.lower() == "host" else v) for k, v in headers]
    for request in [
        (method, path, query, host, body),
        (method, path + "\udc00", query, headers, body),
        (method, path, "a=\ud800", headers, body),
    ]:
        e = refused(request)
        assert (e.code, e.message) == ("InvalidSignatureException", MISMATCH)
