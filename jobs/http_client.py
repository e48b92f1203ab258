"""aiohttp, imported without the certificates it would load at import, and the TLS context the fetches use instead.

aiohttp builds two TLS contexts when it is imported (aio-libs/aiohttp#9029: never inside the event loop), and each
loads the system's whole certificate bundle: ~50 ms of a check's start-up, for contexts the fetcher never uses. It
is imported here with OpenSSL's certificate variables pointing at nothing, so those two load none (a request
that reached them would fail verification, never pass it), and every https request carries the context of
`verified_tls_context`, built by the fetcher when its first https request goes (docs/ARCHITECTURE.md, "Speed").
"""

# jobs/fetch.py and jobs/address_guard.py take aiohttp from here, so that it is first imported here.

from __future__ import annotations

import contextlib
import os
import ssl
from collections.abc import Iterator

# The variables OpenSSL reads for its default certificate file and folder (ssl.get_default_verify_paths()).
CERTIFICATE_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")


@contextlib.contextmanager
def no_default_certificates() -> Iterator[None]:
    """Inside, a TLS context built with the system's defaults loads no certificate (OpenSSL finds none where its
    variables point); after, the variables are as they were, set or not."""
    kept = {name: os.environ.get(name) for name in CERTIFICATE_VARIABLES}
    os.environ.update(dict.fromkeys(CERTIFICATE_VARIABLES, os.devnull))  # an empty file, no folder
    try:
        yield
    finally:
        for name, value in kept.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


with no_default_certificates():
    import aiohttp as aiohttp  # the name re-exported: the fetch modules import it from here


def verified_tls_context() -> ssl.SSLContext:
    """A context that verifies servers against the system's certificates (or those SSL_CERT_FILE and SSL_CERT_DIR
    name), speaking HTTP/1.1 as aiohttp's own would."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context
