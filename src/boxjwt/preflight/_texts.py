"""Preflight's own words: the remedies only preflight can give, and which remedy goes where.

Console paths and the remedy of every error live in :mod:`boxjwt._remedies` (the exceptions
carry them as ``exc.remedy``); this module takes setting remedies from there and adds only
what preflight knows beyond the exception: the probe user, the key file's path, the values of
this run (client ID, base URL).
"""

from __future__ import annotations

from typing import Final

from boxjwt._keyfile import KeyFile
from boxjwt._remedies import (
    ACCOUNT_INFO,
    ADVANCED_FEATURES,
    APP_ACCESS_LEVEL,
    CLOCK,
    KEYFILE_DEFAULT,
    NETWORK,
    NEW_KEYPAIR,
    setting_fix,
)
from boxjwt.exceptions import (
    AppNotAuthorizedError,
    AssertionExpError,
    GrantTypeUnauthorizedError,
    InvalidClientCredentialsError,
    InvalidGrantTypeError,
    InvalidSubjectError,
    IssuerMismatchError,
    KeyFileError,
    NoPublicKeyError,
    PassphraseRequiredError,
    PrivateKeyMissingError,
    PublicKeyNotFoundError,
    SignatureMismatchError,
    TokenExchangeError,
    TokenRateLimitedError,
    TokenServerError,
    TransportError,
    WrongPassphraseError,
)

__all__ = [
    "FIX_AS_USER_DENIED",
    "FIX_IDENTITY_NOT_SERVICE_ACCOUNT",
    "FIX_IDENTITY_OTHER_ENTERPRISE",
    "FIX_PROBE_USER",
    "FIX_UNENCRYPTED_KEY",
    "FIX_UNKNOWN_PROBE_USER",
    "FIX_USER_TOKENS_OR_ACCESS",
    "fallback_fix",
    "fix_integer_enterprise_id",
    "fix_permissions",
    "keyfile_problem",
    "token_failure",
]

# --------------------------------------------------------------------------- preflight's own

FIX_PROBE_USER: Final = (
    "Run preflight again with an active managed non-admin user "
    "(probe_user= / --probe-user ID|LOGIN)."
)
FIX_UNKNOWN_PROBE_USER: Final = (
    "Name a managed user of this enterprise as the probe user "
    "(probe_user= / --probe-user ID|LOGIN)."
)
FIX_AS_USER_DENIED: Final = (
    setting_fix(f'{APP_ACCESS_LEVEL}: make sure it is "App + Enterprise Access"')
    + " Also check that the user is a managed, non-admin member of this enterprise."
)
FIX_USER_TOKENS_OR_ACCESS: Final = setting_fix(
    f'{ADVANCED_FEATURES}: enable "Generate user access tokens", and {APP_ACCESS_LEVEL}: choose '
    '"App + Enterprise Access"'
)
FIX_IDENTITY_OTHER_ENTERPRISE: Final = (
    "Use the key file of the app authorized in your enterprise, or correct "
    f"enterpriseID ({ACCOUNT_INFO} shows your Enterprise ID)."
)
FIX_IDENTITY_NOT_SERVICE_ACCOUNT: Final = (
    "Expected for a Server Authentication (JWT) app's enterprise token only "
    "with a service account; check that this is the right app's config."
)
FIX_UNENCRYPTED_KEY: Final = (
    "Encrypt it (`openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out "
    "encrypted.pem`) and supply the passphrase separately (BOXJWT_PASSPHRASE), "
    f"or use a config from {NEW_KEYPAIR}"
)


def fix_integer_enterprise_id(enterprise_id: str) -> str:
    """Quote a JSON-number ``enterpriseID``."""
    return f'Quote it in the key file: "enterpriseID": "{enterprise_id}".'


def fix_permissions(paths: list[str]) -> str:
    """Restrict the key file(s) to their owner."""
    return "Restrict it to its owner: " + " ".join(f"`chmod 600 {p}`" for p in paths)


#: How preflight itself takes what a key-file error asks for (its options, not the library's).
_PREFLIGHT_OPTIONS: Final[tuple[tuple[type[KeyFileError], str], ...]] = (
    (
        PassphraseRequiredError,
        "Preflight takes it as passphrase= (CLI: --passphrase-env VAR).",
    ),
    (WrongPassphraseError, "Preflight takes it as passphrase= (CLI: --passphrase-env VAR)."),
    (
        PrivateKeyMissingError,
        "Preflight takes the PEM file as private_key_path= (CLI: --private-key PEM).",
    ),
)


def keyfile_problem(exc: KeyFileError) -> tuple[str, str]:
    """(what is wrong, what to do) of a key file that does not load: the error's own, and how
    to give preflight what it asks for."""
    remedy = exc.remedy or KEYFILE_DEFAULT
    remedy = remedy[:1].upper() + remedy[1:]
    extra = [text for cls, text in _PREFLIGHT_OPTIONS if isinstance(exc, cls)]
    return exc.problem, " ".join([remedy, *extra])


# --------------------------------------------------------------------------- token

#: (cause, message) of a refused token request, most specific first. Placeholders:
#: ``{client_id}``, ``{eid}``, ``{kid}`` and ``{said}`` (Box's own words).
_TOKEN_CAUSES: Final[tuple[tuple[type[TokenExchangeError], str], ...]] = (
    (
        AppNotAuthorizedError,
        "The app (client ID {client_id}) is not authorized in enterprise {eid}, or a Box admin "
        "disabled it{said}.",
    ),
    (
        InvalidClientCredentialsError,
        "Box rejected the client ID / client secret{said}: the secret was reset, or the file "
        "belongs to another app.",
    ),
    (
        PublicKeyNotFoundError,
        "Box has no public key with publicKeyID {kid} for this app{said}: the key pair was "
        "removed, or the file belongs to another app.",
    ),
    (
        SignatureMismatchError,
        "The private key does not match the public key registered as {kid}{said}.",
    ),
    (NoPublicKeyError, "The app has no public key at all{said}."),
    (
        IssuerMismatchError,
        "Box does not accept client ID {client_id} as the assertion's issuer{said}.",
    ),
    (
        InvalidSubjectError,
        "Box does not accept enterpriseID {eid} for this app{said}: the key file names "
        "another enterprise than the one the app belongs to.",
    ),
    (
        AssertionExpError,
        "Box refused the assertion's exp even after boxjwt corrected for the clock{said}.",
    ),
    (GrantTypeUnauthorizedError, "App {client_id} is not a Server Authentication (JWT) app{said}."),
    (
        InvalidGrantTypeError,
        "The token request did not reach Box's token endpoint as sent{said}.",
    ),
    (TokenRateLimitedError, "The token request failed: Box could not answer{said}."),
    (TokenServerError, "The token request failed: Box could not answer{said}."),
)
_TOKEN_REFUSED: Final = "Box refused the token request{said}."
_ASK_BOX: Final = "See Box's answer below; give its request id to Box Support if it stays unclear."


def _token_remedy(exc: TokenExchangeError, kf: KeyFile, base_url: str) -> str:
    """The error's remedy, with what this run knows; the network advice for a failing Box."""
    if isinstance(exc, TokenRateLimitedError | TokenServerError):
        return NETWORK  # a one-shot check does not wait for Box: the caller reruns it
    if isinstance(exc, AssertionExpError):
        return CLOCK
    remedy = exc.remedy or _ASK_BOX
    if isinstance(exc, AppNotAuthorizedError):
        return f"{remedy} The app's client ID is {kf.client_id}."
    if isinstance(exc, InvalidGrantTypeError):
        return f"{remedy} This run's base URL is {base_url} (Box's is https://api.box.com)."
    return remedy


def token_failure(
    exc: TokenExchangeError | TransportError, kf: KeyFile, base_url: str
) -> tuple[str, str]:
    """(message, remediation) for a refused or failed token request."""
    if isinstance(exc, TransportError):
        return (f"The token request failed: {exc.message}.".replace("..", "."), NETWORK)
    words = ": ".join(w for w in (exc.error, exc.error_description) if w)
    template = next(
        (message for cls, message in _TOKEN_CAUSES if isinstance(exc, cls)), _TOKEN_REFUSED
    )
    message = template.format(
        client_id=kf.client_id,
        eid=kf.enterprise_id,
        kid=kf.public_key_id,
        said=f" (Box: {words})" if words else "",
    )
    return message, _token_remedy(exc, kf, base_url)


def fallback_fix(status: int | None, *, not_found: bool, fix: str) -> str:
    """The remedy when Box answered otherwise than the setting's own refusal."""
    if status is None or status == 429 or status >= 500:
        return NETWORK
    if not_found:
        return "Box answered 404: check the base URL. " + fix
    return fix
