"""How to fix each failure, in words: the one place for console paths and remedies.

Every boxjwt exception carries a ``remedy`` (see :mod:`boxjwt.exceptions`); the texts come from
here, and so do preflight's. Console paths are written once (:data:`DEV_CONSOLE`,
:data:`PLATFORM_APPS`, ...) and composed into the remedies, so that when Box moves a switch
one line changes. Names without a leading underscore may be imported by any boxjwt module.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACCESS_DENIED",
    "ACCOUNT_INFO",
    "ADVANCED_FEATURES",
    "ALGORITHM_NOT_ALLOWED",
    "APP_ACCESS_LEVEL",
    "APP_NOT_AUTHORIZED",
    "APP_SCOPES",
    "AS_DOWNLOADED",
    "CHECK_CONFIG_PATH",
    "CHECK_DIRECTORIES",
    "CHECK_PATH",
    "CLOCK",
    "CLOCK_SKEW",
    "CONFIG_FILE",
    "CONFIG_JSON_TEXT",
    "DER_TO_PEM",
    "DEV_CONSOLE",
    "DOWNLOAD_CONFIG",
    "ENTERPRISE_ID",
    "ENTERPRISE_ID_FIELD",
    "ENV_AMBIGUOUS",
    "ENV_MISSING",
    "FILE_NAME_AS_KEY",
    "FILE_SIZE_LIMIT",
    "FIX_ACCESS_LEVEL",
    "FIX_AS_USER",
    "FIX_ENTERPRISE_PROPERTIES",
    "FIX_MANAGE_GROUPS",
    "FIX_MANAGE_USERS",
    "FIX_READ",
    "FIX_USER_TOKENS",
    "FIX_WRITE",
    "FORBIDDEN_BY_POLICY",
    "GIVE_A_REGULAR_FILE",
    "GIVE_THE_FILE",
    "GRANT_TYPE_UNAUTHORIZED",
    "INSUFFICIENT_SCOPE",
    "INVALID_CLIENT",
    "INVALID_EXP",
    "INVALID_SUBJECT",
    "INVALID_SUBJECT_TOKEN",
    "INVALID_TOKEN",
    "ISSUER_MISMATCH",
    "JSON_AS_UTF8",
    "JSON_TEXT",
    "JTI_REUSED",
    "JWT_APP_CONFIG",
    "KDF_COST",
    "KEYFILE_DEFAULT",
    "KEYFILE_NOT_FOUND",
    "KEYFILE_NOT_READABLE",
    "KEYFILE_TOO_LARGE",
    "NETWORK",
    "NEW_KEYPAIR",
    "NEW_RSA_KEY",
    "NOT_A_JWT_APP",
    "NOT_FOUND",
    "NOT_FOUND_AS_SERVICE_ACCOUNT",
    "NO_PUBLIC_KEY",
    "OPENSSH_TO_PKCS8",
    "PASSPHRASE",
    "PASTE_WHOLE_KEY",
    "PEM_DAMAGED",
    "PLATFORM_APPS",
    "PRIVATE_KEY_ARGUMENT",
    "PRIVATE_KEY_MISSING",
    "PRIVATE_NOT_PUBLIC",
    "PUBLIC_KEYS",
    "PUBLIC_KEY_NOT_FOUND",
    "PUT_PASSPHRASE",
    "RATE_LIMITED",
    "REAUTHORIZE",
    "REAUTHORIZE_HINT",
    "REENCRYPT_AES",
    "REPAIR_JSON",
    "RIGHT_FILE",
    "RIGHT_PASSPHRASE",
    "RSA_2048",
    "SAVE_AS_UTF8",
    "SEPARATE_KEY",
    "SERVER_ERROR",
    "SIGNATURE_MISMATCH",
    "STORAGE_LIMIT",
    "TEMPORARY_CONFLICT",
    "TLS",
    "TOKEN_SERVICE",
    "UNSUPPORTED_SCOPE",
    "USERS_ADMIN_CONSOLE",
    "USER_ADMIN",
    "USER_COADMIN",
    "USER_EXTERNAL",
    "USER_INACTIVE",
    "USER_NOT_FOUND",
    "USER_OTHER_APP",
    "USER_SERVICE_ACCOUNT",
    "USER_TOKEN_NOT_ALLOWED",
    "WRONG_TOKEN_HOST",
    "readable_only_by_owner",
    "setting_fix",
]

# --------------------------------------------------------------------------- console paths

#: Where an app's settings live (the app's owner edits them).
DEV_CONSOLE: Final = "Developer Console > your app > Configuration"
#: Where an enterprise's admin authorizes, enables and re-authorizes server apps.
PLATFORM_APPS: Final = (
    "Admin Console > Integrations > Platform Apps Manager > Server Authentication Apps"
)
ACCOUNT_INFO: Final = "Admin Console > Account & Billing > Account Information"
PUBLIC_KEYS: Final = f"{DEV_CONSOLE} > Add and Manage Public Keys"
APP_SCOPES: Final = f"{DEV_CONSOLE} > Application Scopes"
APP_ACCESS_LEVEL: Final = f"{DEV_CONSOLE} > App Access Level"
ADVANCED_FEATURES: Final = f"{DEV_CONSOLE} > Advanced Features"
REAUTHORIZE: Final = f'{PLATFORM_APPS} > the app\'s "..." menu > Reauthorize App'

# --------------------------------------------------------------------------- shared advice

#: Appended to every setting fix: Box applies setting changes only on re-authorization.
REAUTHORIZE_HINT: Final = (
    "If it is already set that way, the app has not been re-authorized since the change: "
    "scopes, the access level and advanced features take effect only after a Box admin "
    f"re-authorizes the app ({REAUTHORIZE})."
)
#: The way out of every key problem: a new key pair, in a new config.
NEW_KEYPAIR: Final = (
    f"{PUBLIC_KEYS} > Generate a Public/Private Keypair downloads a new config with a working "
    "key (2-Step Verification must be on for the admin's account)."
)


def setting_fix(action: str) -> str:
    """``action`` (a console path and what to do there), then Save and re-authorize."""
    return f"{action}, then Save Changes. {REAUTHORIZE_HINT}"


FIX_MANAGE_USERS: Final = setting_fix(
    f'{APP_SCOPES} > Administrative Actions: check "Manage users"'
)
FIX_ACCESS_LEVEL: Final = setting_fix(f'{APP_ACCESS_LEVEL}: choose "App + Enterprise Access"')
FIX_READ: Final = setting_fix(
    f'{APP_SCOPES} > Content Actions: check "Read all files and folders stored in Box"'
)
FIX_WRITE: Final = setting_fix(
    f'{APP_SCOPES} > Content Actions: check "Write all files and folders stored in Box"'
)
FIX_AS_USER: Final = setting_fix(
    f'{ADVANCED_FEATURES}: enable "Make API calls using the as-user header"'
)
FIX_USER_TOKENS: Final = setting_fix(f'{ADVANCED_FEATURES}: enable "Generate user access tokens"')
FIX_MANAGE_GROUPS: Final = setting_fix(
    f'{APP_SCOPES} > Administrative Actions: check "Manage groups"'
)
FIX_ENTERPRISE_PROPERTIES: Final = setting_fix(
    f'{APP_SCOPES} > Administrative Actions: check "Manage enterprise properties"'
)
#: The clock, at length (preflight); the exceptions use :data:`CLOCK_SKEW`.
CLOCK: Final = (
    "Synchronise this machine's clock with NTP (Linux: `timedatectl set-ntp true`; Windows: "
    "Settings > Time & language > Sync now; macOS: System Settings > General > Date & Time). "
    "boxjwt corrects for the skew using Box's Date header, but other tools and SDKs do not, and "
    "Box refuses assertions whose exp is not within 60 s after its own time."
)
NETWORK: Final = (
    "Box could not be reached or could not answer: check the network, proxies "
    "(HTTPS_PROXY) and the base URL (https://api.box.com), then try again."
)
TLS: Final = (
    "TLS failed: check the system's CA bundle (REQUESTS_CA_BUNDLE) and any proxy that "
    "intercepts HTTPS."
)
ENTERPRISE_ID: Final = (
    'Set enterpriseID to your enterprise ID as a string, e.g. "enterpriseID": "1234567" '
    f"({ACCOUNT_INFO} shows it; Box writes it in the config it downloads)."
)

# --------------------------------------------------------------------------- key file

DOWNLOAD_CONFIG: Final = (
    "download the config again (Box Developer Console > your app > Configuration > "
    "App Settings > Download as JSON) or correct these fields."
)
KEYFILE_NOT_FOUND: Final = (
    "Check the path of the key file (Box names it <enterpriseID>_<publicKeyID>_config.json)."
)
KEYFILE_NOT_READABLE: Final = (
    "Make the file readable by this user (and only by it: `chmod 600`), saved as UTF-8 JSON "
    "exactly as Box downloaded it."
)
KEYFILE_TOO_LARGE: Final = (
    "Check that the path names the Box config (a few kilobytes), not another file."
)
NOT_A_JWT_APP: Final = (
    'This is not a JWT app. Use a Custom App with "Server Authentication (with JWT)": '
    f"{NEW_KEYPAIR}"
)
PASSPHRASE: Final = (
    "Supply the passphrase the key was encrypted with: boxAppSettings.appAuth.passphrase in the "
    "key file, the BOXJWT_PASSPHRASE environment variable, passphrase= (CLI: --passphrase-env "
    f"VAR). Lost it? {NEW_KEYPAIR}"
)
PRIVATE_KEY_MISSING: Final = (
    "The config holds no private key (a key pair added by hand): give the PEM file "
    f"(private_key_path=, CLI: --private-key PATH), or {NEW_KEYPAIR}"
)
PEM_DAMAGED: Final = (
    "The PEM was damaged on its way here (literal \\n sequences, CRLF, truncated, or not PEM): "
    f"use the key file exactly as downloaded. {NEW_KEYPAIR}"
)
NEW_RSA_KEY: Final = f"Box needs an RSA key of at least 2048 bits: {NEW_KEYPAIR}"
KEYFILE_DEFAULT: Final = f"Use the config exactly as Box downloads it: {NEW_KEYPAIR}"
KDF_COST: Final = (
    "use the key Box generated, or re-encrypt this one with standard settings: `openssl pkcs8 "
    "-topk8 -v2 aes-256-cbc -iter 100000 -in key.pem -out key-new.pem`."
)

# Key-file remedies as the messages give them (after "Fix: "), where the cause is known exactly.
ENV_AMBIGUOUS: Final = (
    "unset one of them (BOXJWT_KEYFILE is a path to the config file, BOXJWT_CONFIG the JSON "
    "text itself)."
)
ENV_MISSING: Final = (
    "set BOXJWT_KEYFILE to the path of the config file downloaded from the Box Developer "
    "Console, or BOXJWT_CONFIG to its JSON text (and BOXJWT_PASSPHRASE to override its "
    "passphrase if needed)."
)
CHECK_PATH: Final = "check the path."
CHECK_CONFIG_PATH: Final = (
    "check the path (Box names the download <enterpriseID>_<publicKeyID>_config.json)."
)
CHECK_DIRECTORIES: Final = "check the path and the permissions of its directories."
GIVE_THE_FILE: Final = "give the path of the file itself."
GIVE_A_REGULAR_FILE: Final = (
    "give the path of a regular file; to pass a key from a pipe or a secret store, use "
    "KeyFile.from_json(), BOXJWT_CONFIG or private_key=."
)


def readable_only_by_owner(path: str) -> str:
    """Make ``path`` readable by its owner only."""
    return f"make it readable by this user only (`chmod 600 {path}` as its owner)."


RIGHT_FILE: Final = "check that the path names the right file."
SAVE_AS_UTF8: Final = "save it as UTF-8, or use the file Box downloaded as is."
JSON_AS_UTF8: Final = "use the JSON file Box downloaded, saved as UTF-8."
REPAIR_JSON: Final = (
    "use the config exactly as downloaded from the Box Developer Console, or repair the JSON "
    "at that position."
)
AS_DOWNLOADED: Final = "use the config exactly as downloaded from the Box Developer Console."
JSON_TEXT: Final = "pass the JSON text of the config downloaded from Box."
CONFIG_JSON_TEXT: Final = "pass the config's JSON text."
CONFIG_FILE: Final = "use the config file downloaded from the Box Developer Console."
JWT_APP_CONFIG: Final = (
    'use the config of a Custom App with "Server Authentication (with JWT)": '
    f"{PUBLIC_KEYS} > Generate a Public/Private Keypair downloads it."
)
ENTERPRISE_ID_FIELD: Final = (
    'set it to your enterprise ID as a string, e.g. "enterpriseID": "1234567" (Admin Console > '
    "Account & Billing shows it; Box puts it in the downloaded config)."
)
SEPARATE_KEY: Final = (
    "pass private_key_path= (the PEM file of the key pair you added by hand) or private_key= "
    "(its PEM text)"
)
PRIVATE_KEY_ARGUMENT: Final = (
    f"{SEPARATE_KEY}, or use a config downloaded after Generate a Public/Private Keypair, "
    "which includes the key."
)
DER_TO_PEM: Final = "convert it with `openssl pkey -inform DER -in key.der -out key.pem`."
PASTE_WHOLE_KEY: Final = (
    "paste the whole key, from its -----BEGIN line to its -----END line (download the config "
    "again from the Box Developer Console if the copy is damaged)."
)
FILE_NAME_AS_KEY: Final = (
    "it looks like a file name: pass it as private_key_path= instead of the key text."
)
PRIVATE_NOT_PUBLIC: Final = (
    "give the private key (-----BEGIN ENCRYPTED PRIVATE KEY----- or -----BEGIN PRIVATE "
    "KEY-----); the public key is the part Box keeps."
)
OPENSSH_TO_PKCS8: Final = (
    "convert it with `ssh-keygen -p -m PKCS8 -f KEYFILE` (an RSA key), or generate a key pair "
    "in the Developer Console."
)
RSA_2048: Final = (
    f"use an RSA key of at least 2048 bits: {PUBLIC_KEYS} > Generate a Public/Private Keypair "
    "(or `openssl genrsa -out private_key.pem 2048` and add its public key there)."
)
REENCRYPT_AES: Final = (
    "re-encrypt it with AES: `openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out key-aes.pem`."
)
PUT_PASSPHRASE: Final = (
    "put it in boxAppSettings.appAuth.passphrase, set BOXJWT_PASSPHRASE, or pass passphrase=."
)
RIGHT_PASSPHRASE: Final = (
    "use the passphrase saved with this key (Box puts it in boxAppSettings.appAuth.passphrase "
    "of the same download) and check for a different keyboard layout; if the passphrase is "
    "right, the key text is damaged: download the config again."
)

# --------------------------------------------------------------------------- token endpoint

APP_NOT_AUTHORIZED: Final = (
    f"A Box admin must authorize the app: {PLATFORM_APPS} > Add App, paste the app's client ID "
    '(clientID in the config), Authorize; if it is listed as disabled, the app\'s "..." menu > '
    "Enable App."
)
INVALID_CLIENT: Final = (
    f"{DEV_CONSOLE} > OAuth 2.0 Credentials: copy the current client secret into the config (a "
    "reset secret invalidates old key files), or download a new config."
)
PUBLIC_KEY_NOT_FOUND: Final = (
    "The key pair was deleted or belongs to another app. "
    f"{NEW_KEYPAIR} Or re-add this key's public key: {PUBLIC_KEYS} > Add a Public Key (then use "
    "the publicKeyID Box shows)."
)
SIGNATURE_MISMATCH: Final = (
    "The private key does not belong to the config's publicKeyID: use the config downloaded "
    f"together with this key, or register this key's public key ({PUBLIC_KEYS} > Add a Public "
    "Key) and use the publicKeyID Box shows."
)
NO_PUBLIC_KEY: Final = f"The app has no public key: {NEW_KEYPAIR}"
ISSUER_MISMATCH: Final = (
    f"The clientID in the config is wrong ({DEV_CONSOLE} > OAuth 2.0 Credentials shows the "
    "Client ID): download the config again."
)
INVALID_SUBJECT: Final = (
    f"Check enterpriseID in the config ({ACCOUNT_INFO} shows it), or the user ID: the user "
    "must belong to this enterprise."
)
CLOCK_SKEW: Final = (
    "This machine's clock differs from Box's: synchronise it (NTP). boxjwt retries once with "
    "Box's time (its Date header); other tools do not."
)
INVALID_EXP: Final = (
    "The assertion's exp must be integer Unix seconds at most 60 s after Box's time; boxjwt "
    "sends that, so synchronise this machine's clock (NTP) or check the tool that built the "
    "assertion."
)
JTI_REUSED: Final = (
    "Each assertion needs a fresh jti; boxjwt retries once with a new one. If it persists, "
    "something between you and Box replays requests."
)
USER_TOKEN_NOT_ALLOWED: Final = (
    f'{ADVANCED_FEATURES}: enable "Generate user access tokens"; for managed users the App '
    'Access Level must be "App + Enterprise Access". Then re-authorize the app '
    f"({REAUTHORIZE}). The service account itself cannot get a user token; "
    "As-User (for_user(...)) needs no user token."
)
GRANT_TYPE_UNAUTHORIZED: Final = (
    'Create a Custom App with "Server Authentication (with JWT)"; an OAuth 2.0 or Client '
    f"Credentials app cannot use JWT. Then {NEW_KEYPAIR}"
)
WRONG_TOKEN_HOST: Final = (
    "Post to https://api.box.com/oauth2/token: check base_url and any proxy rewriting or "
    "redirecting requests."
)
ALGORITHM_NOT_ALLOWED: Final = (
    "Box accepts assertions signed with RS256, RS384 or RS512 only: use one of those "
    "(boxjwt's default is RS256) with the app's RSA key."
)
INVALID_SUBJECT_TOKEN: Final = (
    "The token to downscope is not a valid, current Box access token: downscope a fresh token "
    "of this app (JWTAuthenticator.downscope does), not an expired, revoked or foreign one."
)
UNSUPPORTED_SCOPE: Final = (
    "Ask only for scopes Box knows (e.g. item_preview, item_download, item_upload, "
    "root_readonly) that the parent token has: a downscoped token cannot gain scopes; enable "
    f"the app's scopes in {APP_SCOPES} and re-authorize it."
)
TOKEN_SERVICE: Final = (
    "Box's token endpoint is busy or failing: boxjwt retries within its RetryPolicy. Share "
    "tokens across processes (a Redis token store) or allow the policy more time."
)

# --------------------------------------------------------------------------- API

INSUFFICIENT_SCOPE: Final = (
    "The app lacks a scope for this call, or As-User is not enabled: "
    f"{APP_SCOPES} / Advanced Features. If it is already enabled, the app has not been "
    f"re-authorized since: {REAUTHORIZE}."
)
INVALID_TOKEN: Final = (
    "The access token is invalid, expired or revoked; a new one must be obtained."
)
ACCESS_DENIED: Final = (
    "The acting user (or the service account) lacks permission; for As-User calls check the "
    f'App Access Level ("App + Enterprise Access", {APP_ACCESS_LEVEL}) and that the target is '
    "not an admin, the service account or the token's own user."
)
STORAGE_LIMIT: Final = (
    "The owner's Box storage is full (a quota, not a permission): free space or ask a Box "
    "admin to raise the user's or the enterprise's storage limit."
)
FILE_SIZE_LIMIT: Final = (
    "The file is larger than the owner's account allows per file (a plan limit, not a "
    "permission): split it, or ask a Box admin about the upload size limit."
)
FORBIDDEN_BY_POLICY: Final = (
    "An enterprise policy (e.g. Box Shield, a classification, or an information barrier) "
    "forbids this action: not a permission or app setting; ask a Box admin."
)
NOT_FOUND: Final = (
    "No such item, or the acting user cannot see it (Box answers 404, not 403, for items "
    "outside a user's reach): check the ID and whom the call acts as."
)
NOT_FOUND_AS_SERVICE_ACCOUNT: Final = (
    "The call ran as the service account, which sees only its own content, not the users': "
    "act as the owner (session.for_user(user_id), i.e. As-User) or add the service account as "
    "a collaborator."
)
TEMPORARY_CONFLICT: Final = (
    "Box refused for now (a temporary block or reservation); wait and retry: boxjwt retries "
    "it like a 429 within its RetryPolicy."
)
RATE_LIMITED: Final = (
    "Too many requests: boxjwt waited as Box asked (Retry-After, else exponential backoff) "
    "until its RetryPolicy ran out; use fewer threads or a more patient policy."
)
SERVER_ERROR: Final = (
    "Box failed; idempotent requests are retried with backoff within the RetryPolicy. Try again "
    "later; give the request id to Box Support if it persists."
)

# --------------------------------------------------------------------------- users (check_users)

#: Where an admin sees and edits the enterprise's users.
USERS_ADMIN_CONSOLE: Final = "Admin Console > Users & Groups"
USER_NOT_FOUND: Final = (
    "Correct the ID or login in the plan (a login may have changed: "
    f"{USERS_ADMIN_CONSOLE} shows the current one), or drop the user from the plan."
)
USER_INACTIVE: Final = (
    f"Reactivate the user ({USERS_ADMIN_CONSOLE} > the user > Edit User Access: Active) for the "
    "migration, or drop them from the plan."
)
_ADMIN_CONTENT: Final = (
    "migrate their content another way: collaborate the service account (or a managed user) "
    "on their folders and copy as that user, or transfer their content to a managed user "
    f"({USERS_ADMIN_CONSOLE} > the user > Transfer Files)"
)
USER_ADMIN: Final = (
    "Box refuses As-User to the primary admin: " + _ADMIN_CONTENT + "; or drop them from the plan."
)
USER_COADMIN: Final = (
    "Box refuses As-User to admins and co-admins: make the co-admin a regular user for the "
    f"migration ({USERS_ADMIN_CONSOLE} > the user > Edit User Access), or {_ADMIN_CONTENT}."
)
USER_EXTERNAL: Final = (
    "The user is not a member of this enterprise (an external collaborator): Box acts only as "
    "its own users. Ask them to collaborate the service account (or a managed user) on the "
    "folders to migrate, or drop them from the plan."
)
USER_SERVICE_ACCOUNT: Final = (
    "This is the app's own service account: Box never lets it act as itself. Call as it "
    "without As-User (AsUserSession(auth), user_id=None), or drop it from the plan."
)
USER_OTHER_APP: Final = (
    "An app user belongs to the app that created it: only that app can act as it. Use that "
    "app's key file for this user, or drop them from the plan."
)
