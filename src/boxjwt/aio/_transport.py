"""The ``httpx`` side of the asyncio twin: reading answers within limits, failures as ours.

Everything that decides (what a failure means, whether to retry, how long to wait) lives in the
shared I/O-free core; this module only moves bytes and names what went wrong.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import httpx

from boxjwt._http import ReadLimits
from boxjwt._retry import RetryEvent, RetryPolicy, default_retry_after, default_retryable
from boxjwt._token_endpoint import transport_failure
from boxjwt.exceptions import TransportError

__all__ = [
    "Answer",
    "deadline_error",
    "drain",
    "httpx_timeout",
    "read_at_most",
    "retrying",
    "transport_error",
]

T = TypeVar("T")

_RETRYABLE: Final = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
)

Answer = tuple[int, dict[str, str], str, bool]
"""(status, headers, body text, whether the body was cut at the size cap)."""


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):  # the ssl error is a cause or context a few levels down
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def transport_error(exc: httpx.HTTPError, method: str, url: str) -> TransportError:
    """A :class:`TransportError` for a failed ``httpx`` request (TLS and URL errors are not
    retryable), worded as the ``requests`` transport words them."""
    tls = _is_tls(exc)
    retryable = not tls and isinstance(exc, _RETRYABLE)
    return transport_failure(
        type(exc).__name__, str(exc), method, url, tls=tls, retryable=retryable
    )


def deadline_error(method: str, url: str, deadline: float) -> TransportError:
    """The answer did not arrive whole within ``deadline`` seconds (retryable)."""
    return transport_failure(
        "AnswerDeadlineExceeded",
        f"no complete answer within {deadline:g} s (the deadline for a whole answer: the server "
        "is too slow, or is trickling it)",
        method,
        url,
        tls=False,
        retryable=True,
    )


def httpx_timeout(timeout: float | tuple[float, float]) -> httpx.Timeout:
    """A ``(connect, read)`` timeout (or one number) as ``httpx.Timeout``; writes and waits for
    a pooled connection get the read timeout."""
    if isinstance(timeout, tuple):
        connect, read = timeout
        return httpx.Timeout(read, connect=connect)
    return httpx.Timeout(timeout)


async def read_at_most(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of a streamed ``response``'s body, and whether there was more
    (then the connection is closed, never reused with unread bytes)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    await response.aclose()
    body = b"".join(chunks)
    return body[:limit], size > limit


async def drain(response: httpx.Response, limit: int) -> bytes:
    """Read what is left of an answer we will not hand back (at most ``limit`` bytes, so that
    its connection can be reused) and close it; what a read failure leaves is all there is."""
    if response.is_stream_consumed:
        await response.aclose()
        return response.content if hasattr(response, "_content") else b""
    try:
        body, _ = await read_at_most(response, limit)
    except httpx.HTTPError:
        await response.aclose()
        return b""
    return body


async def post_form(
    client: httpx.AsyncClient,
    url: str,
    form: dict[str, str],
    *,
    timeout: httpx.Timeout,
    limits: ReadLimits,
) -> Answer:
    """POST ``form`` to ``url`` (never following a redirect); the whole answer within
    ``limits.deadline`` seconds, at most ``limits.max_bytes`` of its body."""
    try:
        async with asyncio.timeout(limits.deadline):
            request = client.build_request(
                "POST",
                url,
                data=form,
                headers={"Accept": "application/json", "Accept-Encoding": "identity"},
                timeout=timeout,
            )
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                body, truncated = await read_at_most(response, limits.max_bytes)
            finally:
                await response.aclose()
    except TimeoutError:
        raise deadline_error("POST", url, limits.deadline) from None
    except httpx.HTTPError as exc:
        raise transport_error(exc, "POST", url) from None
    text = body.decode(response.encoding or "utf-8", "replace")
    return response.status_code, dict(response.headers), text, truncated


async def retrying(
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]],
    fn: Callable[[], Awaitable[T]],
    *,
    retry_exception: Callable[[BaseException], bool] = default_retryable,
    retry_result: Callable[[T], bool] | None = None,
    retry_after: Callable[[Any], float | None] = default_retry_after,
    on_retry: Callable[[RetryEvent], Awaitable[None] | None] | None = None,
) -> T:
    """:meth:`RetryPolicy.run` for coroutines: the same decisions
    (:meth:`RetryPolicy.next_delay`), the waits awaited. When the policy gives up, the last
    exception is raised or the last result returned."""
    start = policy.clock()
    attempt = 0
    while True:
        attempt += 1
        outcome: Any
        try:
            outcome = await fn()
        except Exception as exc:
            if not retry_exception(exc):
                raise
            outcome = exc
        else:
            if retry_result is None or not retry_result(outcome):
                return outcome  # type: ignore[no-any-return]
        elapsed = policy.clock() - start
        delay = policy.next_delay(attempt, elapsed, retry_after(outcome))
        if delay is None:
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome  # type: ignore[no-any-return]
        event = RetryEvent(attempt=attempt, delay=delay, elapsed=elapsed, outcome=outcome)
        if policy.on_retry is not None:
            policy.on_retry(event)
        if on_retry is not None:
            pending = on_retry(event)
            if pending is not None:
                await pending
        del outcome
        if delay > 0:
            await sleep(delay)
