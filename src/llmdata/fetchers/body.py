"""A download's body as it arrives, each piece already handed to the hasher.

Through httpx, every 64 KiB the transport reads passes through h11's parser
and is copied four times in Python before it reaches the file; on a 1 GiB file
that loop, not the network, was most of the time over curl. So a large body
with a declared length (HTTP/1.x, ``Content-Length``, no ``Transfer-Encoding``)
is read, after the first piece, from the connection httpx opened (the
``network_stream`` response extension): on a plain TCP socket with
``recv_into`` straight into the hasher's preallocated buffers, over TLS with
the stream's own ``read`` (its decryption, large reads). httpx still sends the
request, follows the redirects, checks the status and headers, and owns the
connection; only the body bytes bypass its parser.

The first piece always comes through httpx: it holds what arrived with the
headers, and after it h11 has nothing of the body left buffered (a
``Content-Length`` body is handed out whole from its buffer). A body read this
way leaves h11 mid-message, so closing the response closes the connection
instead of returning it to the pool: one new connection per large file, which
is nothing beside the file. Errors are raised as the httpx errors the retry
and resume logic already knows (``ReadTimeout``, ``ReadError``,
``RemoteProtocolError`` when the peer closes early).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore
import httpx

# Bodies at least this long are read from the connection; smaller ones keep the pooled connection.
DIRECT_MIN = 16 << 20
TLS_READ = 1 << 20  # bytes asked of a TLS stream per read


def pieces(response: httpx.Response, hasher, limit: int | None) -> Iterator[bytes | memoryview]:
    """The body, at most ``limit`` bytes (None: all of it), each piece hashed before it is yielded.

    A piece is valid until the next one is asked for (it may be a view into a
    buffer that is then reused): write it, do not keep it.
    """
    length = _direct_length(response)
    if length is not None and length >= DIRECT_MIN and (limit is None or length <= limit):
        yield from _direct(response, hasher, length)
        return
    received = 0
    for chunk in response.iter_raw():
        if limit is not None and received + len(chunk) >= limit:
            chunk = chunk[: limit - received]  # enough to prove the body is too long: verify says so
        hasher.update(chunk)
        received += len(chunk)
        yield chunk
        if limit is not None and received >= limit:
            return


def _direct_length(response: httpx.Response) -> int | None:
    """The declared body length when the body can be read from the connection, else None."""
    declared = response.headers.get("content-length", "")
    if (not declared.isdigit() or "transfer-encoding" in response.headers
            or response.extensions.get("http_version") not in (b"HTTP/1.1", b"HTTP/1.0")
            or response.extensions.get("network_stream") is None):
        return None
    return int(declared)


def _direct(response: httpx.Response, hasher, length: int) -> Iterator[bytes | memoryview]:
    through_httpx = response.iter_raw()
    try:
        first = next(through_httpx, b"")  # what arrived with the headers, from h11's buffer
        if first:
            hasher.update(first)
            yield first
        yield from _from_connection(response, hasher, length, length - len(first))
    finally:
        through_httpx.close()  # held open until here: closing it closes the connection


def _from_connection(response: httpx.Response, hasher, length: int,
                     remaining: int) -> Iterator[bytes | memoryview]:
    stream = response.extensions["network_stream"]
    timeout = response.request.extensions.get("timeout", {}).get("read")
    sock = stream.get_extra_info("socket")
    with _as_httpx_errors(response.request):
        if _plain_tcp(stream, sock):
            sock.settimeout(timeout)
            while remaining > 0:
                region = hasher.region(remaining)
                received = sock.recv_into(region)
                if not received:
                    raise _cut(response, length - remaining, length)
                hasher.commit(received)
                remaining -= received
                yield region[:received]
        else:
            while remaining > 0:
                chunk = stream.read(min(TLS_READ, remaining), timeout=timeout)
                if not chunk:
                    raise _cut(response, length - remaining, length)
                hasher.update(chunk)
                remaining -= len(chunk)
                yield chunk


def _plain_tcp(stream, sock) -> bool:
    """A bare TCP socket under no TLS layer: only then is reading the socket itself reading the body."""
    return stream.get_extra_info("ssl_object") is None and type(sock) is socket.socket


def _cut(response: httpx.Response, got: int, length: int) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(f"peer closed connection after {got} of {length} body bytes",
                                     request=response.request)


@contextmanager
def _as_httpx_errors(request: httpx.Request):
    """Socket and httpcore errors of the direct read as the httpx errors a download retries on."""
    try:
        yield
    except (socket.timeout, httpcore.ReadTimeout) as exc:
        raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
    except (ssl.SSLError, httpcore.NetworkError, OSError) as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
