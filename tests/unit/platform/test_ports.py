"""Instance and link ports: distinct, free, and outside the kernel's ephemeral range."""

from __future__ import annotations

import socket

from chaoskit.platform.deployment import HOST, _port_range, free_ports


def test_ports_are_distinct_free_and_below_the_ephemeral_range() -> None:
    low, high = _port_range()
    ports = free_ports(200)
    assert len(set(ports)) == 200
    assert all(low <= port < high for port in ports)
    with socket.socket() as sock:
        sock.bind((HOST, ports[0]))  # free when handed out


def test_a_port_in_use_is_never_handed_out() -> None:
    low, _high = _port_range()
    taken = []
    try:
        for port in range(low, low + 2000):
            sock = socket.socket()
            try:
                sock.bind((HOST, port))
            except OSError:
                sock.close()
                continue
            taken.append(sock)
        busy = {s.getsockname()[1] for s in taken}
        assert not busy & set(free_ports(300))
    finally:
        for sock in taken:
            sock.close()
