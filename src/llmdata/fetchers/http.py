"""HTTP for the fetchers: one client, mirrors, a token per hop, retries, and status codes as typed errors.

The steps every request goes through, each a short function:

1. ``rewrite`` applies ``LLMDATA_MIRRORS`` to the URL;
2. ``open_stream`` follows redirects by hand, and ``auth_headers`` gives each
   hop only the token of its own origin (scheme, host and port), so a token
   never crosses a redirect to a CDN or a host that merely shares a name;
3. ``retry_or_raise`` decides what a failed attempt means: 429, 5xx, timeouts
   and dropped connections wait (exponential backoff, or ``Retry-After`` when it
   parses) and try again; a refused connection fails at once, so the next source
   is tried without minutes of backoff against a closed port;
4. ``raise_for_status`` turns a final 401/403/404/... into the error class that
   says what to do.

Waits longer than ``LONG_WAIT`` seconds are announced on the ``llmdata``
logger: the library stays quiet unless its caller (the CLI) shows them.
Every URL in a message goes through :func:`llmdata.errors.redact_url`.
"""

from __future__ import annotations

import email.utils
import errno
import functools
import logging
import os
import time
import urllib.parse

import httpx

from .. import settings
from ..errors import (
    AccessDeniedError,
    FetchError,
    OfflineError,
    RateLimitedError,
    RemoteNotFoundError,
    redact_url,
)

MAX_REDIRECTS = 8
MAX_BACKOFF = 60.0
LONG_WAIT = 5.0  # waits longer than this are announced
GITHUB_HOSTS = {"api.github.com", "raw.githubusercontent.com", "media.githubusercontent.com", "github.com"}
_DEFAULT_PORTS = {"http": 80, "https": 443}

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ URLs and tokens


def rewrite(url: str) -> str:
    """Apply ``LLMDATA_MIRRORS`` prefix rewrites (longest prefix wins)."""
    for prefix, replacement in settings.mirrors():
        if url.startswith(prefix):
            return replacement + url[len(prefix):]
    return url


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: what a credential is bound to."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: matches nothing
        port = -1
    return scheme, (parts.hostname or "").lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def auth_headers(url: str) -> dict[str, str]:
    """The token that belongs to this URL's origin, if any; nothing for any other origin.

    ``HF_TOKEN`` goes only to exactly ``HF_ENDPOINT``'s scheme, host and port
    (a file server on the same host but another port gets nothing);
    ``GITHUB_TOKEN`` only to GitHub's own hosts over https.
    """
    here = origin(url)
    if here == origin(settings.hf_endpoint()):
        token = settings.hf_token()
        return {"authorization": f"Bearer {token}"} if token else {}
    if here[0] == "https" and here[1] in GITHUB_HOSTS and here[2] == 443:
        token = settings.github_token()
        return {"authorization": f"Bearer {token}"} if token else {}
    if "@" in urllib.parse.urlsplit(url).netloc:
        return {}  # credentials in the URL itself: httpx sends those
    return netrc_auth(here[1])


def netrc_auth(host: str) -> dict[str, str]:
    """Basic auth from ``$NETRC`` or ``~/.netrc`` for exactly this host, as curl and requests read it.

    The place for a private mirror's password: a catalog URL is copied into the
    index as written, a netrc entry stays in the user's own file.
    """
    path = settings.netrc_path()
    try:
        stat = os.stat(path)
    except OSError:
        return {}
    found = _netrc_hosts(path, stat.st_mtime_ns, stat.st_size).get(host)
    if not found:
        return {}
    import base64

    return {"authorization": "Basic " + base64.b64encode(f"{found[0]}:{found[1]}".encode()).decode()}


@functools.lru_cache(maxsize=4)
def _netrc_hosts(path: str, _mtime_ns: int, _size: int) -> dict[str, tuple[str, str]]:
    """host -> (login, password) of a netrc file, read once per version of it; a file that does not parse gives none."""
    import netrc

    try:
        parsed = netrc.netrc(path)
    except (OSError, netrc.NetrcParseError) as exc:
        log.warning("%s: not used (%s)", path, exc)
        return {}
    return {host.lower(): (login or "", password or "") for host, (login, _account, password) in parsed.hosts.items()}


def new_client(jobs: int = 1) -> httpx.Client:
    """One client for a whole fetch; thread-safe, its pool keeps a connection alive per concurrent download."""
    timeout = httpx.Timeout(connect=15.0, read=60.0, write=60.0, pool=15.0)
    limits = httpx.Limits(max_connections=max(100, 2 * jobs), max_keepalive_connections=max(20, 2 * jobs))
    verify = _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    return httpx.Client(timeout=timeout, follow_redirects=False, limits=limits, verify=verify,
                        headers={"user-agent": "llmdata", "accept-encoding": "identity"})


@functools.lru_cache(maxsize=4)
def _tls_context(_cert_file: str | None, _cert_dir: str | None):
    """httpx's default verifying TLS context (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` honoured, else certifi),
    built once per process and per those settings: loading the CA bundle took ~0.2 s for every client."""
    return httpx.create_ssl_context()


def open_stream(client: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
    """GET with redirects followed by hand: each hop gets only its own origin's token.

    Credentials in the URL itself (``user:pass@``) stay with their origin too: a
    relative redirect keeps them (``urljoin``), an absolute one to another
    origin carries none.
    """
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        request = client.build_request("GET", current, headers={**headers, **auth_headers(current)})
        response = client.send(request, stream=True)
        if response.status_code in (301, 302, 303, 307, 308) and "location" in response.headers:
            response.close()
            current = urllib.parse.urljoin(current, response.headers["location"])
            continue
        return response
    raise FetchError("too many redirects", url=redact_url(url))


def get_json(client: httpx.Client, url: str, access_hint: str | None = None) -> object:
    """A small JSON API call (mirrors applied) with the same retry and error rules as downloads."""
    url = rewrite(url)
    attempt = 0
    while True:
        try:
            response = open_stream(client, url, {"accept": "application/json"})
            try:
                response.read()
            finally:
                response.close()
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            attempt = retry_or_raise(attempt, None, url, exc)
            continue
        if response.status_code == 200:
            return response.json()
        if is_retryable_status(response.status_code):
            attempt = retry_or_raise(attempt, response, url, None)
            continue
        raise_for_status(response, url, access_hint)


# ------------------------------------------------------------------ retries


def is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def is_refused(exc: BaseException | None) -> bool:
    """A connection the far end refused (nothing listens there): retrying the same address will not help."""
    return _in_chain(exc, lambda e: isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED)


def is_untrusted(exc: BaseException | None) -> bool:
    """The server's TLS certificate failed verification: the same certificate will fail again."""
    import ssl

    return _in_chain(exc, lambda e: isinstance(e, ssl.SSLCertVerificationError)
                     or "CERTIFICATE_VERIFY_FAILED" in str(e))


def _in_chain(exc: BaseException | None, test) -> bool:
    seen = 0
    while exc is not None and seen < 8:
        if test(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def parse_retry_after(response: httpx.Response | None) -> float | None:
    """Seconds the server asked us to wait, or None when it did not say or said something unparsable."""
    if response is None:
        return None
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None  # "soon", "tomorrow", garbage: fall back to the backoff
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return None  # an HTTP date is always GMT; a date without a zone is not one
    return max(0.0, parsed.timestamp() - time.time())


def backoff(attempt: int, response: httpx.Response | None) -> float:
    """How long to wait before attempt ``attempt + 1``: ``Retry-After`` when usable, else 0.5 s doubling."""
    delay = parse_retry_after(response)
    if delay is None:
        delay = 0.5 * (2 ** attempt)
    return min(delay, MAX_BACKOFF)


def _wait(seconds: float) -> None:
    """The one place the fetchers sleep (tests replace it to check waits without spending them)."""
    time.sleep(seconds)


def _reason(response: httpx.Response | None, exc: Exception | None) -> str:
    if response is not None:
        return "rate-limited (429)" if response.status_code == 429 else f"server error {response.status_code}"
    return f"transfer failed ({type(exc).__name__})" if exc is not None else "transfer failed"


def retry_or_raise(attempt: int, response: httpx.Response | None, url: str, exc: Exception | None) -> int:
    """Sleep before the next attempt, or raise the error class that fits when retrying is pointless or used up."""
    shown = redact_url(url)
    if isinstance(exc, httpx.ConnectError) and is_refused(exc):
        raise OfflineError("cannot connect: connection refused", url=shown,
                           hint="nothing answers at that address; check the URL, the network, or point "
                                "HF_ENDPOINT / LLMDATA_MIRRORS at a reachable mirror")
    if isinstance(exc, httpx.ConnectError) and is_untrusted(exc):
        raise OfflineError(f"cannot connect: the server's TLS certificate is not trusted ({exc})", url=shown,
                           hint="behind a proxy or with a private mirror, point SSL_CERT_FILE (or SSL_CERT_DIR) "
                                "at the CA bundle that signs its certificate")
    retries = settings.retries()
    if attempt >= retries:
        if response is not None and response.status_code == 429:
            raise RateLimitedError(f"rate-limited: still 429 after {attempt + 1} attempts", url=shown,
                                   hint="wait and run the same command again (it resumes), or set a token")
        if response is not None:
            raise FetchError(f"server error {response.status_code} after {attempt + 1} attempts", url=shown,
                             hint="run the same command again later (it resumes), or use a mirror via LLMDATA_MIRRORS")
        if isinstance(exc, httpx.ConnectError):
            raise OfflineError(f"cannot connect: {exc}", url=shown,
                               hint="check the network, or point HF_ENDPOINT / LLMDATA_MIRRORS at a reachable mirror")
        raise FetchError(f"transfer failed after {attempt + 1} attempts: {exc}", url=shown,
                         hint="run the same command again: the download resumes from the bytes it has")
    delay = backoff(attempt, response)
    if delay > LONG_WAIT:
        log.warning("%s: %s; waiting %.0f s before attempt %d of %d", shown, _reason(response, exc), delay,
                    attempt + 2, retries + 1)
    _wait(delay)
    return attempt + 1


def raise_for_status(response: httpx.Response, url: str, access_hint: str | None) -> None:
    status, shown = response.status_code, redact_url(url)
    if status in (401, 403):
        raise AccessDeniedError(
            f"access denied ({status}): the dataset is gated or private, or the token is missing or wrong", url=shown,
            hint=access_hint or "request access on the dataset's page, then set HF_TOKEN / GITHUB_TOKEN")
    if status in (404, 410):
        raise RemoteNotFoundError(f"not found ({status})", url=shown,
                                  hint="the file, revision or repository may have moved; check `llmdata info`")
    raise FetchError(f"unexpected HTTP status {status}", url=shown)
