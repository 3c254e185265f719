"""Every remedy preflight gives, in one module: console paths and what to change there.

Check modules say *what was found*; this module says *what to do about it*. Setting remedies end
with :data:`REAUTHORIZE_HINT`, because Box applies setting changes only after a re-authorization.
"""

from __future__ import annotations

import re
from typing import Final

from boxjwt._keyfile import KeyFile
from boxjwt.exceptions import (
    AppNotAuthorizedError,
    AssertionExpiredError,
    AssertionExpTooFarError,
    GrantTypeUnauthorizedError,
    InvalidClientCredentialsError,
    InvalidGrantTypeError,
    InvalidPEMError,
    InvalidSubjectError,
    IssuerMismatchError,
    KeyFileError,
    KeyFileNotFoundError,
    KeyFileNotReadableError,
    NoPublicKeyError,
    NotAJWTAppError,
    PassphraseRequiredError,
    PrivateKeyMissingError,
    PublicKeyNotFoundError,
    SignatureMismatchError,
    TokenExchangeError,
    TokenRateLimitedError,
    TokenServerError,
    TransportError,
    UnsupportedKeyTypeError,
    WeakKeyError,
    WrongPassphraseError,
)

__all__ = [
    "FIX_ACCESS",
    "FIX_AS_USER",
    "FIX_AS_USER_DENIED",
    "FIX_CLOCK",
    "FIX_ENTERPRISE_ID",
    "FIX_ENTERPRISE_PROPERTIES",
    "FIX_GROUPS",
    "FIX_IDENTITY_NOT_SERVICE_ACCOUNT",
    "FIX_IDENTITY_OTHER_ENTERPRISE",
    "FIX_MANAGE_USERS",
    "FIX_NETWORK",
    "FIX_PROBE_USER",
    "FIX_READ",
    "FIX_UNENCRYPTED_KEY",
    "FIX_UNKNOWN_PROBE_USER",
    "FIX_USER_TOKENS",
    "FIX_WRITE",
    "REAUTHORIZE_HINT",
    "fallback_fix",
    "fix_integer_enterprise_id",
    "fix_permissions",
    "keyfile_fix",
    "keyfile_message",
    "setting_fix",
    "token_failure",
]

# --------------------------------------------------------------------------- console paths

_DEV: Final = "Developer Console > your app > Configuration"
_PLATFORM_APPS: Final = (
    "Admin Console > Integrations > Platform Apps Manager > Server Authentication Apps"
)
#: Appended to every failed setting check: Box applies setting changes only on re-authorization.
REAUTHORIZE_HINT: Final = (
    "If it is already set that way, the app has not been re-authorized since the change: "
    "scopes, the access level and advanced features take effect only after a Box admin "
    f're-authorizes the app ({_PLATFORM_APPS} > the app\'s "..." menu > Reauthorize App).'
)
_NEW_KEYPAIR: Final = (
    f"{_DEV} > Add and Manage Public Keys > Generate a Public/Private Keypair downloads a new "
    "config with a working key (2-Step Verification must be on for the admin's account)."
)


def setting_fix(action: str) -> str:
    """``action`` in the Developer Console, saved, and the app re-authorized."""
    return f"{action}, then Save Changes. {REAUTHORIZE_HINT}"


FIX_MANAGE_USERS: Final = setting_fix(
    f'{_DEV} > Application Scopes > Administrative Actions: check "Manage users"'
)
FIX_ACCESS: Final = setting_fix(f'{_DEV} > App Access Level: choose "App + Enterprise Access"')
FIX_READ: Final = setting_fix(
    f'{_DEV} > Application Scopes > Content Actions: check "Read all files and folders stored '
    'in Box"'
)
FIX_WRITE: Final = setting_fix(
    f'{_DEV} > Application Scopes > Content Actions: check "Write all files and folders stored '
    'in Box"'
)
FIX_AS_USER: Final = setting_fix(
    f'{_DEV} > Advanced Features: enable "Make API calls using the as-user header"'
)
FIX_USER_TOKENS: Final = setting_fix(
    f'{_DEV} > Advanced Features: enable "Generate user access tokens"'
)
FIX_GROUPS: Final = setting_fix(
    f'{_DEV} > Application Scopes > Administrative Actions: check "Manage groups"'
)
FIX_ENTERPRISE_PROPERTIES: Final = setting_fix(
    f'{_DEV} > Application Scopes > Administrative Actions: check "Manage enterprise properties"'
)
FIX_CLOCK: Final = (
    "Synchronise this machine's clock with NTP (Linux: `timedatectl set-ntp true`; Windows: "
    "Settings > Time & language > Sync now; macOS: System Settings > General > Date & Time). "
    "boxjwt corrects for the skew using Box's Date header, but other tools and SDKs do not, and "
    "Box refuses assertions whose exp is not within 60 s after its own time."
)
FIX_NETWORK: Final = (
    "Box could not be reached or could not answer: check the network, proxies "
    "(HTTPS_PROXY) and the base URL (https://api.box.com), then run preflight again."
)

FIX_PROBE_USER: Final = (
    "Run preflight again with an active managed non-admin user "
    "(probe_user= / --probe-user ID|LOGIN)."
)
FIX_UNKNOWN_PROBE_USER: Final = (
    "Name a managed user of this enterprise as the probe user "
    "(probe_user= / --probe-user ID|LOGIN)."
)
FIX_AS_USER_DENIED: Final = (
    setting_fix(f'{_DEV} > App Access Level: make sure it is "App + Enterprise Access"')
    + " Also check that the user is a managed, non-admin member of this enterprise."
)
FIX_IDENTITY_OTHER_ENTERPRISE: Final = (
    "Use the key file of the app authorized in your enterprise, or correct "
    "enterpriseID (Admin Console > Account & Billing > Account Information "
    "shows your Enterprise ID)."
)
FIX_IDENTITY_NOT_SERVICE_ACCOUNT: Final = (
    "Expected for a Server Authentication (JWT) app's enterprise token only "
    "with a service account; check that this is the right app's config."
)
FIX_UNENCRYPTED_KEY: Final = (
    "Encrypt it (`openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out "
    "encrypted.pem`) and supply the passphrase separately (BOXJWT_PASSPHRASE), "
    f"or use a config from {_NEW_KEYPAIR}"
)


def fix_integer_enterprise_id(enterprise_id: str) -> str:
    """Quote a JSON-number ``enterpriseID``."""
    return f'Quote it in the key file: "enterpriseID": "{enterprise_id}".'


def fix_permissions(paths: list[str]) -> str:
    """Restrict the key file(s) to their owner."""
    return "Restrict it to its owner: " + " ".join(f"`chmod 600 {p}`" for p in paths)


# --------------------------------------------------------------------------- key file and token

FIX_ENTERPRISE_ID: Final = (
    'Set enterpriseID to your enterprise ID as a string, e.g. "enterpriseID": "1234567" (Admin '
    "Console > Account & Billing > Account Information shows it; Box writes it in the config it "
    "downloads)."
)


_FIX_SPLIT: Final = re.compile(r"\s+Fix: ")


def keyfile_message(exc: KeyFileError) -> str:
    """The exception's message without its "Fix: ..." part (the remediation says it)."""
    return _FIX_SPLIT.split(exc.message, maxsplit=1)[0]


def keyfile_fix(exc: KeyFileError) -> str:
    """What to do about a key file that does not load."""
    if isinstance(exc, KeyFileNotFoundError):
        return (
            "Check the path of the key file (Box names it "
            "<enterpriseID>_<publicKeyID>_config.json)."
        )
    if isinstance(exc, KeyFileNotReadableError):
        return (
            "Make the file readable by this user (and only by it: `chmod 600`), saved as UTF-8 "
            "JSON exactly as Box downloaded it."
        )
    if isinstance(exc, NotAJWTAppError):
        return (
            'This is not a JWT app. Use a Custom App with "Server Authentication (with JWT)": '
            f"{_NEW_KEYPAIR}"
        )
    if isinstance(exc, PassphraseRequiredError | WrongPassphraseError):
        return (
            "Supply the passphrase the key was encrypted with: boxAppSettings.appAuth.passphrase "
            "in the key file, the BOXJWT_PASSPHRASE environment variable, passphrase= (CLI: "
            f"--passphrase-env VAR). Lost it? {_NEW_KEYPAIR}"
        )
    if isinstance(exc, PrivateKeyMissingError):
        return (
            "The config holds no private key (a key pair added by hand): give the PEM file "
            f"(private_key_path=, CLI: --private-key PATH), or {_NEW_KEYPAIR}"
        )
    if isinstance(exc, InvalidPEMError):
        return (
            "The PEM was damaged on its way here (literal \\n sequences, CRLF, truncated, or "
            f"not PEM): use the key file exactly as downloaded. {_NEW_KEYPAIR}"
        )
    if isinstance(exc, UnsupportedKeyTypeError | WeakKeyError):
        return f"Box needs an RSA key of at least 2048 bits: {_NEW_KEYPAIR}"
    return f"Use the config exactly as Box downloads it: {_NEW_KEYPAIR}"


#: (cause, message, remedy) of a refused token request, most specific first. Placeholders:
#: ``{client_id}``, ``{eid}``, ``{kid}``, ``{base_url}`` and ``{said}`` (Box's own words).
_TOKEN_CAUSES: Final[tuple[tuple[type[Exception], str, str], ...]] = (
    (
        AppNotAuthorizedError,
        "The app (client ID {client_id}) is not authorized in enterprise {eid}, or a Box admin "
        "disabled it{said}.",
        f"A Box admin must authorize it: {_PLATFORM_APPS} > Add App, paste the client ID "
        '{client_id}, Authorize; if it is listed as disabled, the app\'s "..." menu > Enable App.',
    ),
    (
        InvalidClientCredentialsError,
        "Box rejected the client ID / client secret{said}: the secret was reset, or the file "
        "belongs to another app.",
        f"{_DEV} > OAuth 2.0 Credentials: copy the current client secret into the key file "
        f"(or download a new config: {_NEW_KEYPAIR})",
    ),
    (
        PublicKeyNotFoundError,
        "Box has no public key with publicKeyID {kid} for this app{said}: the key pair was "
        "removed, or the file belongs to another app.",
        f"{_NEW_KEYPAIR} Or re-add this key's public key: {_DEV} > Add and Manage Public "
        "Keys > Add a Public Key (then use the publicKeyID Box shows).",
    ),
    (
        SignatureMismatchError,
        "The private key does not match the public key registered as {kid}{said}.",
        "Use the config downloaded together with this key, or register this key's public "
        f"key ({_DEV} > Add and Manage Public Keys > Add a Public Key) and use the "
        f"publicKeyID Box shows. {_NEW_KEYPAIR}",
    ),
    (NoPublicKeyError, "The app has no public key at all{said}.", _NEW_KEYPAIR),
    (
        IssuerMismatchError,
        "Box does not accept client ID {client_id} as the assertion's issuer{said}.",
        f"{_DEV} > OAuth 2.0 Credentials shows the Client ID: download the config again. "
        f"{_NEW_KEYPAIR}",
    ),
    (
        InvalidSubjectError,
        "Box does not accept enterpriseID {eid} for this app{said}: the key file names "
        "another enterprise than the one the app belongs to.",
        FIX_ENTERPRISE_ID,
    ),
    (
        AssertionExpiredError,
        "Box refused the assertion's exp even after boxjwt corrected for the clock{said}.",
        FIX_CLOCK,
    ),
    (
        AssertionExpTooFarError,
        "Box refused the assertion's exp even after boxjwt corrected for the clock{said}.",
        FIX_CLOCK,
    ),
    (
        GrantTypeUnauthorizedError,
        "App {client_id} is not a Server Authentication (JWT) app{said}.",
        'Create a Custom App with "Server Authentication (with JWT)" in the Developer '
        "Console (an OAuth 2.0 or Client Credentials app cannot use JWT), then "
        f"{_NEW_KEYPAIR}",
    ),
    (
        InvalidGrantTypeError,
        "The token request did not reach Box's token endpoint as sent{said}.",
        "Check the base URL ({base_url}; Box is https://api.box.com) and any proxy "
        "rewriting or redirecting requests.",
    ),
    (TokenRateLimitedError, "The token request failed: Box could not answer{said}.", FIX_NETWORK),
    (TokenServerError, "The token request failed: Box could not answer{said}.", FIX_NETWORK),
)
_TOKEN_REFUSED: Final = (
    "Box refused the token request{said}.",
    "See Box's answer below; give its request id to Box Support if it stays unclear.",
)


def token_failure(
    exc: TokenExchangeError | TransportError, kf: KeyFile, base_url: str
) -> tuple[str, str]:
    """(message, remediation) for a refused or failed token request."""
    if isinstance(exc, TransportError):
        return (f"The token request failed: {exc.message}.".replace("..", "."), FIX_NETWORK)
    words = ": ".join(w for w in (exc.error, exc.error_description) if w)
    fields = {
        "client_id": kf.client_id,
        "eid": kf.enterprise_id,
        "kid": kf.public_key_id,
        "base_url": base_url,
        "said": f" (Box: {words})" if words else "",
    }
    message, fix = next(
        ((message, fix) for cls, message, fix in _TOKEN_CAUSES if isinstance(exc, cls)),
        _TOKEN_REFUSED,
    )
    return message.format(**fields), fix.format(**fields)


def fallback_fix(status: int | None, *, not_found: bool, fix: str) -> str:
    """The remedy when Box answered otherwise than the setting's own refusal."""
    if status is None or status == 429 or status >= 500:
        return FIX_NETWORK
    if not_found:
        return "Box answered 404: check the base URL. " + fix
    return fix
