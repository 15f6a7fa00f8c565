"""AWS Signature Version 4, checked on each request (``stepfn server --auth sigv4``).

The SDKs sign every request with the caller's secret key; the server, knowing the
secrets of the access keys it accepts, computes the same signature and compares. The
steps are AWS's (Signature Version 4 signing process):

1. the *canonical request*: method, path (URI-encoded), sorted query, the signed headers
   as ``name:value`` lines (values trimmed, inner spaces folded), the signed header
   names, and the SHA-256 of the body;
2. the *string to sign*: ``AWS4-HMAC-SHA256``, the request time (``X-Amz-Date``), the
   credential scope (``date/region/service/aws4_request``) and the canonical request's
   SHA-256;
3. the *signing key*: HMAC-SHA256 chained over ``"AWS4" + secret``, the date, the
   region, the service and ``aws4_request``; the signature is the string to sign's
   HMAC with it, in hex.

Refusals answer as AWS does (status 400): ``MissingAuthenticationTokenException`` with
no ``Authorization`` header, ``IncompleteSignatureException`` for one we cannot read,
``UnrecognizedClientException`` for an access key we do not know, and
``InvalidSignatureException`` for a wrong signature, a scope for another service or
a request time more than 15 minutes away.

Keys come from a credentials file in the format of ``~/.aws/credentials``::

    [default]
    aws_access_key_id = AKIDEXAMPLE
    aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
"""

from __future__ import annotations

import configparser
import hashlib
import hmac
import posixpath
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote

from stepfn.api.app import Request
from stepfn.api.logs import TARGET_PREFIX as LOGS_TARGET_PREFIX
from stepfn.errors import ServiceError

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "states"
LAMBDA_SERVICE = "lambda"  # the Lambda REST-JSON API, routed by path (api/lambda_api.py)
# Lambda's REST paths start with an API version date: /2015-03-31/functions...
LAMBDA_PATH = re.compile(r"^/\d{4}-\d{2}-\d{2}/")
LOGS_SERVICE = "logs"  # the signing name of CloudWatch Logs requests (api/logs.py)
MAX_SKEW_SECONDS = 15 * 60
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

INVALID_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service "
    "documentation for details."
)
UNRECOGNIZED_CLIENT = "The security token included in the request is invalid."


class CredentialsError(ValueError):
    """A credentials file that cannot be used."""


def load_credentials(path: str | Path) -> dict[str, str]:
    """Access key id -> secret access key, from every profile of a credentials file.

    Raises:
        CredentialsError: the file cannot be read, is not INI, or holds no key pair.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror or exc}") from None
    except configparser.Error as exc:
        raise CredentialsError(f"{path} is not a credentials file: {exc.message}") from None
    keys: dict[str, str] = {}
    for section in parser.sections():
        key_id = parser.get(section, "aws_access_key_id", fallback="").strip()
        secret = parser.get(section, "aws_secret_access_key", fallback="").strip()
        if key_id and secret:
            keys[key_id] = secret
    if not keys:
        raise CredentialsError(
            f"{path} has no profile with both aws_access_key_id and aws_secret_access_key"
        )
    return keys


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The key that signs requests of one day, region and service."""
    key = _hmac(f"AWS4{secret}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def _encode(text: str) -> str:
    # RFC 3986 unreserved characters stay; everything else is %XX (upper case).
    return quote(text, safe="-_.~")


def canonical_uri(path: str) -> str:
    """The path as the SDKs sign it for this service: normalised, then URI-encoded
    (so an already percent-encoded path is encoded a second time)."""
    if not path:
        return "/"
    normalized = posixpath.normpath(path)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    return quote(normalized, safe="/~")


def canonical_query(query: str) -> str:
    """Query parameters sorted by name, then value, each URI-encoded."""
    if not query:
        return ""
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_request(
    method: str, target: str, headers: Mapping[str, str], signed: list[str], payload_hash: str
) -> str:
    """The canonical form of a request (step 1 of signing)."""
    path, _, query = target.partition("?")
    lines = [method, canonical_uri(path), canonical_query(query)]
    lines += [f"{name}:{' '.join(headers.get(name, '').split())}" for name in signed]
    lines += ["", ";".join(signed), payload_hash]
    return "\n".join(lines)


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """Step 2 of signing."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _incomplete(message: str) -> ServiceError:
    return ServiceError("IncompleteSignatureException", message)


def _invalid(message: str = INVALID_SIGNATURE) -> ServiceError:
    return ServiceError("InvalidSignatureException", message)


class SigV4:
    """Verifies the Signature Version 4 of each request against known keys.

    Args:
        keys: access key id -> secret access key.
        now: the current time in epoch seconds (for the clock-skew check).
    """

    def __init__(self, keys: Mapping[str, str], now: Callable[[], float] = time.time) -> None:
        self.keys = dict(keys)
        self.now = now
        self._signing_keys: dict[tuple[str, str, str, str], bytes] = {}

    def check(self, request: Request) -> None:
        """Accept a correctly signed request of a known key; raise ``ServiceError`` else."""
        headers = request.headers
        authorization = headers.get("authorization")
        if not authorization:
            raise ServiceError(
                "MissingAuthenticationTokenException", "Missing Authentication Token"
            )
        algorithm, _, rest = authorization.strip().partition(" ")
        if algorithm != ALGORITHM:
            raise _incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'")
        fields = {}
        for part in rest.split(","):
            name, sep, value = part.strip().partition("=")
            if sep:
                fields[name] = value
        missing = [
            f"Authorization header requires '{name}' parameter."
            for name in ("Credential", "Signature", "SignedHeaders")
            if not fields.get(name)
        ]
        amz_date = headers.get("x-amz-date", "")
        if not amz_date:
            missing.append(
                "Authorization header requires existence of either a 'X-Amz-Date' or a "
                "'Date' header."
            )
        if missing:
            raise _incomplete(" ".join(missing) + f" Authorization={authorization}")
        scope_parts = fields["Credential"].split("/")
        if len(scope_parts) != 5 or scope_parts[4] != "aws4_request":
            raise _incomplete(
                "Credential should have exactly 5 parts: "
                "<access key>/<date>/<region>/<service>/aws4_request; "
                f"got '{fields['Credential']}'"
            )
        key_id, date, region, service, _ = scope_parts
        secret = self.keys.get(key_id)
        if secret is None:
            raise ServiceError("UnrecognizedClientException", UNRECOGNIZED_CLIENT)
        expected = SERVICE
        if headers.get("x-amz-target", "").startswith(LOGS_TARGET_PREFIX):
            expected = LOGS_SERVICE
        elif "x-amz-target" not in headers and LAMBDA_PATH.match(request.target):
            expected = LAMBDA_SERVICE
        if service != expected:
            raise _invalid(f"Credential should be scoped to correct service: '{expected}'. ")
        self._check_time(amz_date, date)
        signed = fields["SignedHeaders"].split(";")
        payload_hash = hashlib.sha256(request.body).hexdigest()
        declared = headers.get("x-amz-content-sha256")
        if declared and declared not in (payload_hash, UNSIGNED_PAYLOAD):
            raise _invalid("The provided 'x-amz-content-sha256' header does not match the body.")
        canonical = canonical_request(
            request.method, request.target, headers, signed, declared or payload_hash
        )
        scope = f"{date}/{region}/{service}/aws4_request"
        key = self._signing_key(secret, date, region, service)
        expected = hmac.new(
            key, string_to_sign(amz_date, scope, canonical).encode("utf-8"), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]):
            raise _invalid()

    def _check_time(self, amz_date: str, scope_date: str) -> None:
        try:
            when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise _incomplete(
                f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See "
                "http://en.wikipedia.org/wiki/ISO_8601"
            ) from None
        if amz_date[:8] != scope_date:
            raise _invalid(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                f"date from HTTP: '{scope_date}' != '{amz_date[:8]}', from '{amz_date}'."
            )
        now = self.now()
        skew = when.timestamp() - now
        stamp = datetime.fromtimestamp(now, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
        if skew < -MAX_SKEW_SECONDS:
            limit = datetime.fromtimestamp(now - MAX_SKEW_SECONDS, tz=UTC)
            raise _invalid(
                f"Signature expired: {amz_date} is now earlier than "
                f"{limit.strftime('%Y%m%dT%H%M%SZ')} ({stamp} - 15 min.)"
            )
        if skew > MAX_SKEW_SECONDS:
            limit = datetime.fromtimestamp(now + MAX_SKEW_SECONDS, tz=UTC)
            raise _invalid(
                f"Signature not yet current: {amz_date} is still later than "
                f"{limit.strftime('%Y%m%dT%H%M%SZ')} ({stamp} + 15 min.)"
            )

    def _signing_key(self, secret: str, date: str, region: str, service: str) -> bytes:
        # The key changes once a day per region: derive it once, not on every request.
        cache_key = (secret, date, region, service)
        key = self._signing_keys.get(cache_key)
        if key is None:
            if len(self._signing_keys) > 64:
                self._signing_keys.clear()
            key = signing_key(secret, date, region, service)
            self._signing_keys[cache_key] = key
        return key
