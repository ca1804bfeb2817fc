"""``host:port`` strings as Toxiproxy writes them."""

from __future__ import annotations

import socket


def split_host_port(address: str) -> tuple[str, int]:
    """``"127.0.0.1:80"``, ``"[::1]:80"``, ``":80"`` → (host, port). ``ValueError`` if malformed."""
    host, sep, port = address.rpartition(":")
    if not sep:
        raise ValueError(f"address {address}: missing port in address")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"address {address}: invalid port") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"address {address}: invalid port")
    return host, number


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def resolve_listen(address: str) -> tuple[socket.AddressFamily, tuple[str, int]]:
    """Where to bind ``address``: IPv4 preferred for names, as Go resolves localhost."""
    host, port = split_host_port(address)
    if host == "":
        return socket.AF_INET, ("0.0.0.0", port)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, _, _, _, sockaddr = infos[0]
    return family, (str(sockaddr[0]), int(sockaddr[1]))


def normalise_listen(address: str) -> str:
    """The address as Toxiproxy compares it (``localhost:X`` → ``127.0.0.1:X``)."""
    try:
        _, (host, port) = resolve_listen(address)
    except (OSError, ValueError):
        return address
    return join_host_port(host, port)
