"""``type: http``: one request, output ``{status, headers, body}`` as chaostoolkit-lib builds it.

A 4xx/5xx answer is an output, not a failure (a tolerance judges it); a
refused connection or a time-out is a failure. The body is parsed only when the
answer's Content-Type is exactly ``application/json``, as CTK does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chaoskit.ctk.errors import ActivityFailed
from chaoskit.ctk.model import HttpProvider
from chaoskit.ctk.substitute import Configuration, Secrets, substitute
from chaoskit.model.experiment import Settings

if TYPE_CHECKING:
    import httpx


def run_http(provider: HttpProvider, configuration: Configuration, secrets: Secrets) -> Any:
    import httpx  # here: a run without HTTP activities does not pay for importing it

    url = str(substitute(provider.url, configuration, secrets))
    substituted = substitute(provider.headers, configuration, secrets) or {}
    # A header written as a number (X-Retries: 3) is sent as its text.
    headers = {str(k): str(v) for k, v in substituted.items()} or None
    arguments = substitute(provider.arguments, configuration, secrets)
    method = provider.method.upper()
    # Loading the CA bundle costs ~50 ms per client; a plain-http call has no TLS to verify.
    verify = provider.verify_tls and url.lower().startswith("https:")
    transport = httpx.HTTPTransport(retries=provider.max_retries, verify=verify)
    try:
        with httpx.Client(transport=transport, timeout=_timeout(provider, configuration, secrets),
                          trust_env=False) as client:
            if method == "GET":
                response = client.request(method, url, params=arguments, headers=headers)
            elif headers and headers.get("Content-Type") == "application/json":
                response = client.request(method, url, json=arguments, headers=headers)
            else:
                response = client.request(method, url, data=arguments, headers=headers)
    except httpx.TimeoutException:
        raise ActivityFailed("activity took too long to complete") from None
    except httpx.HTTPError as error:
        raise ActivityFailed(f"failed to connect to {url}: {error}") from None
    answer_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in response.headers.raw}
    body: Any = response.text
    if response.headers.get("Content-Type") == "application/json":
        try:
            body = response.json()
        except ValueError as error:
            raise ActivityFailed(f"{url} answered application/json that does not parse: "
                                 f"{error}") from None
    return {"status": response.status_code, "headers": answer_headers, "body": body}


def _timeout(provider: HttpProvider, configuration: Configuration,
             secrets: Secrets) -> httpx.Timeout:
    import httpx

    value = substitute(provider.timeout, configuration, secrets)
    if isinstance(value, list | tuple) and len(value) == 2:
        return httpx.Timeout(float(value[1]), connect=float(value[0]))
    if value is None:
        return httpx.Timeout(None)  # CTK (requests) waits as long as it takes
    return httpx.Timeout(float(value))


def refused_host(url: str, allow_hosts: tuple[str, ...]) -> str | None:
    """The host of ``url`` when chaoskit may not send to it (not this machine, not allowed)."""
    host = urlsplit(url).hostname
    if Settings(allow_hosts=allow_hosts).allows(host):
        return None
    return host or url
