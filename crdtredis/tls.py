"""TLS contexts: the HTTPS listener, peer links, and the RESP TLS port (docs/security.md).

* HTTP (`tls_cert`, `tls_key`, `tls_ca`): the listener serves HTTPS once a certificate is
  set. With `tls_ca` it also asks callers for a client certificate that CA signed, and
  /repl/* requires one (http_guard.peer_preflight): peers then authenticate both ways.
  Peer links verify https peers' certificates always, against `tls_ca` or else the system
  CAs, hostname included, and present our certificate as a client certificate.
* RESP (`tls_port`, `tls_cert_file`, `tls_key_file`, `tls_ca_cert_file`,
  `tls_auth_clients`), as Redis's directives of the same names: clients must present a
  certificate `tls_ca_cert_file` signed unless `tls_auth_clients` is `no` (`optional`:
  verified when presented).
"""
from __future__ import annotations

import ssl
from typing import Any

# Seconds a client may take to complete its TLS handshake on the RESP TLS port.
HANDSHAKE_TIMEOUT = 10.0

_AUTH_CLIENTS = {"yes": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "no": ssl.CERT_NONE}


def http_server_context(config: Any) -> ssl.SSLContext | None:
    """The HTTPS listener's context, or None for plain HTTP."""
    if not config.tls_cert:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(config.tls_cert, config.tls_key)
    if config.tls_ca:
        ctx.load_verify_locations(config.tls_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def peer_client_context(config: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=config.tls_ca or None)
    if config.tls_cert:
        ctx.load_cert_chain(config.tls_cert, config.tls_key)
    return ctx


def resp_server_context(config: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(config.tls_cert_file, config.tls_key_file)
    if config.tls_ca_cert_file:
        ctx.load_verify_locations(config.tls_ca_cert_file)
    ctx.verify_mode = _AUTH_CLIENTS[config.tls_auth_clients]
    return ctx
