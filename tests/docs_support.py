"""Run the documentation's examples, unchanged, against the emulator.

The docs show code for the real Box: ``boxjwt.JWTAuthenticator(key_file)`` with no
``base_url``, so requests go to ``https://api.box.com`` and ``https://upload.box.com``. To run
exactly that code in CI, the docs tests give it an environment in which those two hosts are the
emulator, through the standard mechanisms ``requests`` honours, and nothing in boxjwt or
``requests`` is patched:

- ``HTTPS_PROXY`` points at :class:`BoxHostsProxy`, a local forward proxy that accepts
  ``CONNECT api.box.com:443`` / ``CONNECT upload.box.com:443`` (and refuses any other host),
  terminates TLS with a certificate for those names, and relays the decrypted HTTP to the
  emulator (which serves the API, upload and OAuth paths on one port);
- ``REQUESTS_CA_BUNDLE`` trusts only the throw-away certificate authority of
  :func:`make_certificates`, generated at test time (no key material is committed).

The proxy counts the tunnels it opened, so a test can assert that the traffic went through it.
"""

from __future__ import annotations

import contextlib
import datetime
import pathlib
import select
import socket
import socketserver
import ssl
import threading
from collections import Counter
from typing import Final

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["BOX_HOSTS", "BoxHostsProxy", "Certificates", "make_certificates"]

#: The hosts the docs' code talks to: the API (token endpoint included) and the upload host.
BOX_HOSTS: Final = frozenset({"api.box.com", "upload.box.com"})
_MAX_HEAD: Final = 64 * 1024


@attrs.frozen
class Certificates:
    """``ca_path``: the CA to trust (PEM); ``cert_path``/``key_path``: the proxy's TLS pair."""

    ca_path: pathlib.Path
    cert_path: pathlib.Path
    key_path: pathlib.Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(directory: pathlib.Path) -> Certificates:
    """A throw-away CA and a certificate for :data:`BOX_HOSTS` signed by it, written to
    ``directory``. Extensions are those strict verifiers (Python 3.13's) insist on."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("boxjwt docs-test CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("api.box.com"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(h) for h in sorted(BOX_HOSTS)]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    certs = Certificates(
        ca_path=directory / "docs-test-ca.pem",
        cert_path=directory / "box-hosts.pem",
        key_path=directory / "box-hosts.key",
    )
    certs.ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    certs.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certs.key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    certs.key_path.chmod(0o600)
    return certs


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: BoxHostsProxy


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        head: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(_MAX_HEAD)
            size += len(line)
            if not line or size > _MAX_HEAD:
                return
            if line in (b"\r\n", b"\n"):
                break
            head.append(line)
        if not head:
            return
        parts = head[0].decode("latin-1").split()
        target = parts[1] if len(parts) == 3 else ""
        host, _, port = target.rpartition(":")
        if parts[0].upper() != "CONNECT" or host.lower() not in BOX_HOSTS or port != "443":
            proxy.record_refusal(head[0].decode("latin-1").strip())
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        proxy.tunnel(self.connection, host.lower())


class BoxHostsProxy:
    """A forward proxy that turns ``https://api.box.com`` and ``https://upload.box.com`` into
    the emulator at ``upstream`` (``(host, port)``), for code that uses Box's real URLs."""

    def __init__(self, upstream: tuple[str, int], certs: Certificates) -> None:
        self.upstream = upstream
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(certs.cert_path, certs.key_path)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.tunnels: Counter[str] = Counter()
        """How many tunnels were opened, per Box host."""
        self.refused: list[str] = []
        """Request lines refused (any host other than :data:`BOX_HOSTS`, any non-CONNECT)."""
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="BoxHostsProxy",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the value for ``HTTPS_PROXY``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> BoxHostsProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BoxHostsProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def record_refusal(self, request_line: str) -> None:
        with self._lock:
            self.refused.append(request_line)

    def tunnel(self, client: socket.socket, host: str) -> None:
        """Terminate TLS on ``client`` and relay to the emulator until either side closes."""
        try:
            tls = self._context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            tls.close()
            return
        with self._lock:
            self.tunnels[host] += 1
            self._open.update((tls, upstream))
        tls.settimeout(1.0)
        upstream.settimeout(5.0)
        try:
            _relay(tls, upstream)
        finally:
            with self._lock:
                self._open.difference_update((tls, upstream))
            for sock in (tls, upstream):
                with contextlib.suppress(OSError):
                    sock.close()


def _relay(tls: ssl.SSLSocket, upstream: socket.socket) -> None:
    """Copy bytes both ways in one thread (an SSL socket must not be read and written from
    two threads at once) until either side closes or fails."""
    while True:
        ready: list[socket.socket]
        if tls.pending():
            ready = [tls]
        else:
            ready, _, _ = select.select([tls, upstream], [], [], 30)
            if not ready:
                return  # idle: let the client reconnect
        for sock in ready:
            try:
                data = sock.recv(65536)
            except (TimeoutError, ssl.SSLWantReadError):
                continue  # a TLS record that carried no application data yet
            except OSError:
                return
            if not data:
                return
            other = upstream if sock is tls else tls
            try:
                other.sendall(data)
            except OSError:
                return
