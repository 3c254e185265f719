"""boxjwt.testing: a faithful local Box to test against, and the keys to go with it.

No Box tenant is reachable from CI, so :class:`BoxEmulator` is the Box everything is tested
against: a real HTTP server on ``127.0.0.1`` (ephemeral port) serving the OAuth endpoints, the
``/2.0`` API subset and the upload host path, with Box's check order, exact error bodies and
headers, and the console settings admins toggle (pending until re-authorization, as on Box)::

    from boxjwt.testing import BoxEmulator, FakeClock

    with BoxEmulator() as emu:
        ekf = emu.make_keyfile(tmp_path / "key.json")    # EmulatedKeyFile
        keyfile = ekf.load()                             # boxjwt.KeyFile
        auth = boxjwt.JWTAuthenticator(keyfile, base_url=emu.base_url)
        auth.enterprise_token()
        assert emu.token_requests(subject_type="enterprise") == 1

        ekf.app.configure(as_user=False)                 # pending...
        ekf.app.reauthorize()                            # ...now in effect
        emu.faults.push("/oauth2/token", 429, retry_after=2)
        emu.clock_offset = 120                           # Box's clock 2 minutes ahead
        emu.revoke_all_tokens()                          # 401 storm

Keys: :func:`generate_rsa_key` and :func:`encode_private_key` write every PEM variant users
have (Box's PKCS#8 PBES2/3DES, AES, traditional ``Proc-Type`` with 3DES/AES, unencrypted).

pytest: the ``box_emulator`` and ``box_keyfile`` fixtures (plugin registered through the
``pytest11`` entry point ``boxjwt``). CLI: ``boxjwt emulator [--port N] [--keyfile PATH]``.
"""

from __future__ import annotations

from boxjwt.testing import scenarios, user_cases
from boxjwt.testing._answers import ApiAnswer, BoxAnswers, OAuthAnswer
from boxjwt.testing._clock import FakeClock
from boxjwt.testing._content import EmulatedFile, EmulatedGroup
from boxjwt.testing._emulator import BoxEmulator
from boxjwt.testing._faults import Fault, FaultPlan
from boxjwt.testing._http import BOX_AUDIENCE
from boxjwt.testing._keyfiles import EmulatedKeyFile, Mangling, mangle_pem
from boxjwt.testing._keys import (
    ENCRYPTED_KEY_FORMATS,
    KEY_FORMATS,
    KeyFormat,
    encode_private_key,
    generate_rsa_key,
    public_key_pem,
)
from boxjwt.testing._log import RequestRecord
from boxjwt.testing._principals import (
    AccessLevel,
    AppAuth,
    AppSettings,
    EmulatedApp,
    EmulatedUser,
    IssuedToken,
    UserStatus,
)
from boxjwt.testing._ratelimit import BOX_RATE_LIMITS, Budget, RateLimits, Throttle
from boxjwt.testing._scopes import ALL_SCOPES
from boxjwt.testing._state import BOX_TOKEN_LIFETIME
from boxjwt.testing._traffic import RATE_LIMITS_ENV

__all__ = [
    "ALL_SCOPES",
    "BOX_AUDIENCE",
    "BOX_RATE_LIMITS",
    "BOX_TOKEN_LIFETIME",
    "ENCRYPTED_KEY_FORMATS",
    "KEY_FORMATS",
    "RATE_LIMITS_ENV",
    "AccessLevel",
    "ApiAnswer",
    "AppAuth",
    "AppSettings",
    "BoxAnswers",
    "BoxEmulator",
    "Budget",
    "EmulatedApp",
    "EmulatedFile",
    "EmulatedGroup",
    "EmulatedKeyFile",
    "EmulatedUser",
    "FakeClock",
    "Fault",
    "FaultPlan",
    "IssuedToken",
    "KeyFormat",
    "Mangling",
    "OAuthAnswer",
    "RateLimits",
    "RequestRecord",
    "Throttle",
    "UserStatus",
    "encode_private_key",
    "generate_rsa_key",
    "mangle_pem",
    "public_key_pem",
    "scenarios",
    "user_cases",
]
