"""Fuzz ``fastbridge.serve.sigv4.Verifier.verify`` (atheris).

Two modes, picked by the first input byte (even: mutate, odd: raw):

**mutate** -- one of six requests signed at start-up by botocore's ``SigV4Auth`` (plain,
with a session token, with a query string, with ``X-Amz-Content-Sha256``, with a deeper
path, with an empty body) gets 0-5 mutations chosen by the input. Each mutation knows
whether it changed what the signature covers ("signed") or not:

- signed: any change of the body; the method (other than letter case); the path so that
  its normalized form changes (RFC 3986 dot segments, empty segments dropped); the query
  so that its multiset of percent-decoded ``name=value`` pairs changes; a signed header's
  value (beyond white space, which is folded), adding a second copy of a signed header or
  removing one; the ``Signature``, ``Credential`` or ``SignedHeaders`` text, or the whole
  ``Authorization`` header; ``X-Amz-Algorithm`` added to the query;
- unsigned: letter case of header names and of the method, header order, white space
  around/inside signed header values, adding or removing headers that are not signed,
  separators inside ``Authorization``, a trailing ``/`` on the credential, equivalent
  paths (``//``, ``/./``, ``/x/../``).

A request with no signed change must verify (a check of the oracle itself); one with a
signed change must not: ``verify`` returning for it is a forged request accepted.

**raw** -- random method, path, query, headers (a fuzzed ``Authorization`` that starts
with ``AWS4-HMAC-SHA256`` most of the time, random ``X-Amz-Date``/``Date`` texts) and body.

In both modes ``verify`` raises nothing but ``SignatureError`` (HTTP 400, a known code, a
non-empty message). Strings are latin-1 decoded bytes, as WSGI hands them over; in raw
mode one in eight is any code points instead, lone surrogates included.

Run: ``python fuzz/python/fuzz_sigv4.py fuzz/python/corpus/sigv4 -max_total_time=540``.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone
from unittest import mock
from urllib.parse import unquote_to_bytes, urlsplit

import atheris
import botocore.auth
import botocore.credentials
import harness
from botocore.awsrequest import AWSRequest

with atheris.instrument_imports(include=["fastbridge.serve.sigv4"]):
    from fastbridge.serve.sigv4 import SignatureError, Verifier

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
T0 = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)
BODY = b'{"Entries":[{"Source":"app","DetailType":"t","Detail":"{}"}]}'
CODES = {
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
}
VERIFIER = Verifier({AK: SK, "AKIDOTHER": "otherSecret"}, region=REGION, now=lambda: T0)


def sign(url: str, body: bytes, token: str | None = None, extra: dict | None = None):
    req = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "X-Amz-Target": "AWSEvents.PutEvents",
            "Content-Type": "application/x-amz-json-1.1",
            **(extra or {}),
        },
    )
    creds = botocore.credentials.Credentials(AK, SK, token)
    with mock.patch.object(
        botocore.auth, "get_current_datetime", return_value=T0.replace(tzinfo=None)
    ):
        botocore.auth.SigV4Auth(creds, "events", REGION).add_auth(req)
    parts = urlsplit(req.url)
    headers = [(k, v) for k, v in req.headers.items()]
    headers.append(("Host", parts.netloc))
    return ("POST", parts.path or "/", parts.query, headers, body)


BASES = [
    sign("http://127.0.0.1:4010/", BODY),
    sign("http://127.0.0.1:4010/", BODY, token="FwoGZXIvYXdzEJr//////////token=="),
    sign("http://127.0.0.1:4010/?b=2&a=1&c=%20x&a=0", BODY),
    sign(
        "http://127.0.0.1:4010/",
        BODY,
        extra={"X-Amz-Content-Sha256": hashlib.sha256(BODY).hexdigest()},
    ),
    sign("http://127.0.0.1:4010/v1/a%20b/c", BODY),
    sign("http://127.0.0.1:4010/", b""),
]


def fold(value: str) -> str:
    return " ".join(value.split())


def norm_path(path: str) -> str:
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/" + "/".join(segments) + ("/" if segments and path.endswith("/") else "")


def query_pairs(query: str) -> list[tuple[bytes, bytes]]:
    out = []
    for pair in query.split("&") if query else []:
        name, _, value = pair.partition("=")
        if name or value:
            out.append((unquote_to_bytes(name), unquote_to_bytes(value)))
    return sorted(out)


def auth_params(header: str) -> dict[str, str]:
    _, _, rest = header.partition(" ")
    params = {}
    for token in rest.replace(",", " ").split():
        name, _, value = token.partition("=")
        params[name] = value
    return params


class Request:
    def __init__(self, base) -> None:
        self.method, self.path, self.query, headers, self.body = base
        self.headers = [list(h) for h in headers]
        self.signed = set(auth_params(self.values("authorization")[-1])["SignedHeaders"].split(";"))
        self.may_reject = False  # an unsigned change that may still be refused

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.strip().lower() == name]

    def fingerprint(self) -> tuple:
        """Everything the signature covers, in the form the signer committed to."""
        auths = self.values("authorization")
        auth = None
        if auths:
            alg, _, _ = auths[-1].strip().partition(" ")
            params = auth_params(auths[-1].strip())
            if "Credential" in params:
                params["Credential"] = params["Credential"].rstrip("/")
            auth = (alg, sorted(params.items()))
        signed = sorted((n, ",".join(fold(v) for v in self.values(n))) for n in self.signed)
        path = norm_path(self.path)
        return (self.method.upper(), path, query_pairs(self.query), signed, auth, self.body)


def text(fdp: atheris.FuzzedDataProvider, n: int = 24) -> str:
    return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, n)).decode("latin-1")


HEADER_NAMES = [
    "X-Extra",
    "Date",
    "User-Agent",
    "X-Amz-Security-Token",
    "Host",
    "X-Amz-Date",
    "Content-Type",
    "X-Amz-Target",
    "X-Amz-Content-Sha256",
    "Authorization",
]


def mutate(fdp: atheris.FuzzedDataProvider, r: Request) -> None:
    """One mutation; whether it is a signed change is decided by ``Request.fingerprint``."""
    op = fdp.ConsumeIntInRange(0, 18)
    auths = [i for i, (k, _) in enumerate(r.headers) if k.strip().lower() == "authorization"]
    if op == 0:  # replace the body
        r.body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64))
    elif op == 1:  # flip or append one body byte
        pos = fdp.ConsumeIntInRange(0, len(r.body))
        b = bytearray(r.body)
        if pos < len(b):
            b[pos] ^= fdp.ConsumeIntInRange(1, 255)
        else:
            b.append(fdp.ConsumeIntInRange(0, 255))
        r.body = bytes(b)
    elif op == 2:  # method letter case
        r.method = r.method.lower() if fdp.ConsumeBool() else r.method.title()
    elif op == 3:  # another method
        r.method = fdp.PickValueInList(["GET", "PUT", "POST ", "P0ST", ""]) + text(fdp, 4)
    elif op == 4:  # an equivalent path
        r.path = fdp.PickValueInList(["/", "//", "/./", "/x/../", "/./x/y/../../"]) + r.path[1:]
    elif op == 5:  # a path with more characters
        pos = fdp.ConsumeIntInRange(0, len(r.path))
        r.path = r.path[:pos] + text(fdp, 3) + r.path[pos:]
    elif op == 6:  # another query
        r.query = text(fdp, 32)
    elif op in (7, 8) and r.headers:  # a header value: any change (7) or white space only (8)
        i = fdp.ConsumeIntInRange(0, len(r.headers) - 1)
        value = r.headers[i][1]
        if op == 7:
            pos = fdp.ConsumeIntInRange(0, len(value))
            r.headers[i][1] = value[:pos] + text(fdp, 4) + value[pos:]
        else:
            ws = fdp.PickValueInList([" ", "\t", "  ", " \t "])
            r.headers[i][1] = ws + value.replace(" ", ws) + ws if fdp.ConsumeBool() else value + ws
        if r.headers[i][0].strip().lower() == "x-amz-content-sha256":
            r.may_reject = True
    elif op == 9:  # add a header
        name = fdp.PickValueInList(HEADER_NAMES + [text(fdp, 12)])
        value = fdp.PickValueInList(
            [hashlib.sha256(r.body).hexdigest(), "20261129T120000Z", text(fdp, 24)]
        )
        r.headers.insert(fdp.ConsumeIntInRange(0, len(r.headers)), [name, value])
        if name.strip().lower() == "x-amz-content-sha256":
            r.may_reject = True
    elif op == 10 and r.headers:  # remove a header
        r.headers.pop(fdp.ConsumeIntInRange(0, len(r.headers) - 1))
    elif op == 11 and r.headers:  # header name letter case
        i = fdp.ConsumeIntInRange(0, len(r.headers) - 1)
        r.headers[i][0] = r.headers[i][0].swapcase()
    elif op == 12:  # header order
        r.headers.reverse()
    elif op in (13, 14, 15) and auths:  # one character of Signature/Credential/SignedHeaders
        key = {13: "Signature=", 14: "Credential=", 15: "SignedHeaders="}[op]
        auth = r.headers[auths[-1]][1]
        start = auth.find(key)
        if start < 0:
            return
        start += len(key)
        end = len(auth)
        for stop in (",", " "):
            j = auth.find(stop, start)
            if j >= 0:
                end = min(end, j)
        pos = fdp.ConsumeIntInRange(start, max(start, end - 1))
        r.headers[auths[-1]][1] = auth[:pos] + (text(fdp, 2) or "0") + auth[pos + 1 :]
    elif op == 16 and auths:  # separators inside Authorization
        auth = r.headers[auths[-1]][1]
        sep = fdp.PickValueInList([",", " ,", ",  ", ", \t", " "])
        alg, _, rest = auth.partition(" ")
        r.headers[auths[-1]][1] = alg + " " + sep.join(p.strip() for p in rest.split(",")) + sep
    elif op == 17 and auths:  # a trailing slash on the credential
        auth = r.headers[auths[-1]][1]
        r.headers[auths[-1]][1] = auth.replace("aws4_request,", "aws4_request/,")
    elif op == 18:  # X-Amz-Algorithm in the query as well
        r.query += ("&" if r.query else "") + "X-Amz-Algorithm=AWS4-HMAC-SHA256"


def wide(fdp: atheris.FuzzedDataProvider, n: int) -> str:
    """Mostly latin-1 text (as WSGI gives), sometimes any code points, lone surrogates too
    (what a caller of ``verify`` may pass)."""
    return fdp.ConsumeUnicode(n) if fdp.ConsumeIntInRange(0, 7) == 0 else text(fdp, n)


def raw_request(fdp: atheris.FuzzedDataProvider):
    alg = fdp.PickValueInList(["AWS4-HMAC-SHA256", "AWS4-", "AWS4-HMAC-SHA1", "", "aws4"])
    auth = alg + " " + wide(fdp, 200)
    dates = [
        "20261129T120000Z",
        "20261129T120400Z",
        "Sun, 29 Nov 2026 12:00:00 GMT",
        "Sun, 29 Nov 2026 12:00:00 -2359",
        "Fri, 31 Dec 9999 23:59:59 -2359",
        "Mon, 01 Jan 0001 00:00:00 +2359",
        "99991231T235959Z",
        "00010101T000000Z",
        wide(fdp, 40),
    ]
    headers = [("Authorization", auth)]
    for _ in range(fdp.ConsumeIntInRange(0, 6)):
        name = fdp.PickValueInList(
            ["X-Amz-Date", "Date", "Host", "X-Amz-Content-Sha256", "Authorization", wide(fdp, 8)]
        )
        headers.append((name, fdp.PickValueInList(dates)))
    method = fdp.PickValueInList(["POST", "GET", wide(fdp, 6)])
    return method, "/" + wide(fdp, 20), wide(fdp, 40), headers, fdp.ConsumeBytes(64)


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    r = None
    if fdp.ConsumeIntInRange(0, 1) == 0:
        r = Request(BASES[fdp.ConsumeIntInRange(0, len(BASES) - 1)])
        original = r.fingerprint()
        for _ in range(fdp.ConsumeIntInRange(0, 5)):
            mutate(fdp, r)
        changed = r.fingerprint() != original
        request = (r.method, r.path, r.query, [tuple(h) for h in r.headers], r.body)
    else:
        request = raw_request(fdp)
    try:
        key = VERIFIER.verify(*request)
    except SignatureError as e:
        assert e.code in CODES and e.status == 400 and e.message, (e.code, e.status, e.message)
        if r is not None and not changed and not r.may_reject:
            raise AssertionError(f"unchanged signed parts rejected: {request!r}") from e
        return
    assert key == AK, key
    if r is not None and changed:
        raise AssertionError(f"forged request accepted: {request!r}")


def seeds() -> list[bytes]:
    # mutate mode, base i % 6, i // 6 random mutations
    return [bytes([0, i % 6, (i // 6) % 6]) + os.urandom(48) for i in range(64)]


def check() -> None:
    for base in BASES:  # the oracle's premise: every base request verifies
        assert VERIFIER.verify(*base) == AK, base


if __name__ == "__main__":
    harness.main(TestOneInput, seeds, check)
