"""make_keyfile's variants, EmulatedKeyFile, EmulatedApp settings and the emulated enterprise."""

from __future__ import annotations

import json
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import boxjwt
from boxjwt.testing import (
    ALL_SCOPES,
    KEY_FORMATS,
    AppSettings,
    BoxEmulator,
    generate_rsa_key,
    public_key_pem,
)
from emulator_support import post_token, token_form


@pytest.fixture
def emu() -> Iterator[BoxEmulator]:
    with BoxEmulator() as emulator:
        yield emulator


def _all_strings(value: object) -> bool:
    if isinstance(value, dict):
        return all(_all_strings(v) for v in value.values())
    return isinstance(value, str)


# --------------------------------------------------------------------------- the default


def test_default_keyfile_is_box_shaped(emu: BoxEmulator, tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    ekf = emu.make_keyfile(path)
    assert ekf.path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = json.loads(path.read_text())
    assert config == ekf.config
    assert json.loads(ekf.json) == config
    assert list(config) == ["boxAppSettings", "enterpriseID"]
    settings = config["boxAppSettings"]
    assert list(settings) == ["clientID", "clientSecret", "appAuth"]
    assert list(settings["appAuth"]) == ["publicKeyID", "privateKey", "passphrase"]
    assert _all_strings(config)
    assert config["enterpriseID"] == emu.enterprise_id == ekf.enterprise_id
    assert settings["clientID"] == ekf.client_id == ekf.app.client_id
    assert len(settings["clientID"]) == 32
    assert settings["clientSecret"] == ekf.app.client_secret
    assert settings["appAuth"]["publicKeyID"] == ekf.kid == ekf.app.kid
    assert settings["appAuth"]["privateKey"].startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert settings["appAuth"]["passphrase"] == ekf.passphrase
    assert ekf.key_format == "box"
    assert ekf.private_key is not None
    assert ekf.private_key.private_numbers() == ekf.app.private_key().private_numbers()
    app = ekf.app
    assert app.authorized
    assert app.settings == AppSettings("app_enterprise", True, True, ALL_SCOPES)
    assert app.pending == app.settings
    assert emu.app is app
    assert emu.service_account is app.service_account


def test_repr_holds_no_secret(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile()
    text = repr(ekf) + repr(ekf.app) + repr(emu) + repr(ekf.app.service_account)
    assert ekf.app.client_secret not in text
    assert ekf.passphrase is not None
    assert ekf.passphrase not in text
    assert ekf.client_id in text
    token = emu.issue_token()
    live = emu.live_token(token)
    assert token not in repr(live)


def test_load_default(emu: BoxEmulator, tmp_path: Path) -> None:
    ekf = emu.make_keyfile(tmp_path / "key.json")
    keyfile = ekf.load()
    assert isinstance(keyfile, boxjwt.KeyFile)
    assert keyfile.client_id == ekf.client_id
    assert keyfile.enterprise_id == emu.enterprise_id
    assert keyfile.public_key_id == ekf.kid
    assert keyfile.client_secret.reveal() == ekf.app.client_secret
    assert keyfile.key_encrypted
    assert ekf.private_key is not None
    assert keyfile.public_key_pem() == public_key_pem(ekf.private_key)


# --------------------------------------------------------------------------- variants


@pytest.mark.parametrize("fmt", KEY_FORMATS)
@pytest.mark.parametrize("separate", [False, True])
def test_every_format_loads(emu: BoxEmulator, tmp_path: Path, fmt: str, separate: bool) -> None:
    ekf = emu.make_keyfile(tmp_path / "cfg.json", key_format=fmt, separate_pem=separate)  # type: ignore[arg-type]
    app_auth = ekf.config["boxAppSettings"]["appAuth"]
    if separate:
        assert app_auth["privateKey"] == ""
        assert app_auth["passphrase"] == ""
        assert ekf.pem_path == tmp_path / "cfg.pem"
        assert stat.S_IMODE(ekf.pem_path.stat().st_mode) == 0o600
        assert ekf.pem_path.read_text() == ekf.pem
    else:
        assert app_auth["privateKey"] == ekf.pem
        assert ekf.pem_path is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", boxjwt.exceptions.InsecureKeyWarning)
        keyfile = ekf.load()
    assert keyfile.public_key_id == ekf.kid
    assert keyfile.key_encrypted == (fmt not in ("pkcs1", "pkcs8"))


def test_separate_pem_in_memory(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(separate_pem=True)
    assert ekf.path is None
    assert ekf.pem_path is None
    assert ekf.pem is not None
    assert ekf.load().public_key_id == ekf.kid
    with pytest.raises(boxjwt.exceptions.PrivateKeyError):
        ekf.load(passphrase="wrong passphrase")


def test_separate_pem_explicit_path_and_suffix_collision(emu: BoxEmulator, tmp_path: Path) -> None:
    ekf = emu.make_keyfile(separate_pem=True, pem_path=tmp_path / "only.pem")
    assert ekf.path is None
    assert ekf.pem_path == tmp_path / "only.pem"
    assert ekf.load().public_key_id == ekf.kid
    odd = emu.make_keyfile(tmp_path / "config.pem", separate_pem=True)
    assert odd.pem_path == tmp_path / "config.key.pem"


def test_unencrypted(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(unencrypted=True)
    assert ekf.key_format == "pkcs8"
    assert ekf.passphrase is None
    assert ekf.config["boxAppSettings"]["appAuth"]["passphrase"] == ""
    assert ekf.config["boxAppSettings"]["appAuth"]["privateKey"].startswith(
        "-----BEGIN PRIVATE KEY-----"
    )
    assert emu.make_keyfile(unencrypted=True, key_format="pkcs1").key_format == "pkcs1"


def test_variant_errors(emu: BoxEmulator) -> None:
    with pytest.raises(ValueError, match="contradicts"):
        emu.make_keyfile(unencrypted=True, key_format="box")
    with pytest.raises(ValueError, match="pass no passphrase"):
        emu.make_keyfile(key_format="pkcs1", passphrase="x")


def test_chosen_passphrase(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(passphrase="my phrase")
    assert ekf.config["boxAppSettings"]["appAuth"]["passphrase"] == "my phrase"
    assert ekf.pem is not None
    serialization.load_pem_private_key(ekf.pem.encode(), b"my phrase")


def test_ccg_config(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(auth="ccg", separate_pem=True)
    assert ekf.config["boxAppSettings"] == {
        "clientID": ekf.client_id,
        "clientSecret": ekf.app.client_secret,
    }
    assert ekf.kid is None
    assert ekf.private_key is None
    assert ekf.key_format is None
    assert not ekf.separate_pem
    assert ekf.app.auth == "ccg"
    assert ekf.app.public_keys == {}
    with pytest.raises(boxjwt.exceptions.NotAJWTAppError):
        ekf.load()
    with pytest.raises(ValueError, match="no private key"):
        ekf.make_assertion()


def test_oauth_app(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(auth="oauth")
    assert ekf.app.auth == "oauth"
    response = post_token(emu, ekf.token_request())
    assert response.json()["error_description"] == (
        "The grant type is unauthorized for this client_id"
    )


def test_integer_enterprise_id(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(int_enterprise_id=True)
    assert ekf.config["enterpriseID"] == int(emu.enterprise_id)
    assert f'"enterpriseID": {emu.enterprise_id}' in ekf.json
    assert ekf.enterprise_id == emu.enterprise_id
    with pytest.warns(boxjwt.exceptions.EnterpriseIDCoercedWarning):
        assert ekf.load().enterprise_id == emu.enterprise_id


def test_webhooks_and_overrides(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile(
        webhooks=True,
        config_overrides={"enterpriseID": "0", "boxAppSettings": {"clientSecret": None}, "x": 1},
    )
    assert set(ekf.config["webhooks"]) == {"primaryKey", "secondaryKey"}
    assert ekf.config["enterpriseID"] == "0"
    assert "clientSecret" not in ekf.config["boxAppSettings"]
    assert ekf.config["x"] == 1


@pytest.mark.parametrize("how", ["escaped-newlines", "crlf", "whitespace"])
def test_mangled_pem(emu: BoxEmulator, how: str) -> None:
    ekf = emu.make_keyfile(mangle=how)  # type: ignore[arg-type]
    private_key = ekf.config["boxAppSettings"]["appAuth"]["privateKey"]
    assert private_key == ekf.pem
    assert private_key != private_key.replace("\\n", "\n").replace("\r", "").strip() + "\n"


def test_keyfile_for_an_existing_app(emu: BoxEmulator) -> None:
    first = emu.make_keyfile()
    second = emu.make_keyfile(app=first.app)
    assert second.app is first.app
    assert second.kid != first.kid
    assert set(first.app.public_keys) == {first.kid, second.kid}
    again = emu.make_keyfile(app=first.app, kid=first.kid)
    assert again.kid == first.kid
    assert post_token(emu, second.token_request()).status_code == 200
    with pytest.raises(ValueError, match="at most 2 public keys"):
        emu.make_keyfile(app=first.app)
    assert len(emu.apps) == 1


def test_make_assertion_and_token_request(emu: BoxEmulator) -> None:
    import jwt

    ekf = emu.make_keyfile()
    assertion = ekf.make_assertion(lifetime=10, jti="j" * 20, extra=1)
    header = jwt.get_unverified_header(assertion)
    assert header == {"alg": "RS256", "kid": ekf.kid, "typ": "JWT"}
    no_kid = ekf.make_assertion(headers={"kid": None, "x5t": "t"}, alg="RS512")
    assert jwt.get_unverified_header(no_kid) == {"alg": "RS512", "typ": "JWT", "x5t": "t"}
    claims = jwt.decode(assertion, options={"verify_signature": False})
    assert claims["exp"] == int(emu.now()) + 10
    assert claims["jti"] == "j" * 20
    assert claims["extra"] == 1
    assert claims["aud"] == "https://api.box.com/oauth2/token"
    no_jti = jwt.decode(ekf.make_assertion(jti=None), options={"verify_signature": False})
    assert "jti" not in no_jti
    user = emu.managed_users[0]
    form = ekf.token_request(subject_type="user", subject_id=user.id)
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert post_token(emu, form).status_code == 200
    assert ekf.token_request("given")["assertion"] == "given"
    other_key = ekf.make_assertion(key=generate_rsa_key(cached=True))
    assert post_token(emu, token_form(ekf, other_key)).json()["error"] == "invalid_grant"


def test_write_later(emu: BoxEmulator, tmp_path: Path) -> None:
    ekf = emu.make_keyfile()
    assert ekf.write(None) is None
    target = tmp_path / "later.json"
    target.write_text("old")
    target.chmod(0o644)
    assert ekf.write(target) == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text()) == ekf.config


# --------------------------------------------------------------------------- app settings


def test_client_secret_reset(emu: BoxEmulator) -> None:
    ekf = emu.make_keyfile()
    old = ekf.app.client_secret
    new = ekf.app.reset_client_secret()
    assert new != old
    assert ekf.app.client_secret == new
    assert ekf.app.check_secret(new)
    assert not ekf.app.check_secret(old)


def test_public_key_management(emu: BoxEmulator) -> None:
    app = emu.create_app(public_keys=0)
    assert app.kid is None
    with pytest.raises(KeyError):
        app.private_key()
    key = generate_rsa_key(cached=True)
    kid_from_pem = app.add_public_key(public_key_pem(key))
    kid_from_public = app.add_public_key(key.public_key())
    assert set(app.public_keys) == {kid_from_pem, kid_from_public}
    with pytest.raises(KeyError):
        app.private_key(kid_from_pem)
    app.remove_public_key(kid_from_pem)
    kid_from_bytes = app.add_public_key(public_key_pem(key).encode())
    app.remove_public_key(kid_from_bytes)
    kid_private = app.add_public_key(key)
    assert app.private_key(kid_private) is key
    with pytest.raises(KeyError):
        app.remove_public_key("nope")
    app.remove_public_key(kid_private)
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="only accepts RSA"):
        app.add_public_key(ec_pem)


def test_configure_validation(emu: BoxEmulator) -> None:
    app = emu.create_app()
    with pytest.raises(ValueError, match="access_level"):
        app.configure(access_level="everything")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown scope"):
        app.configure(scopes={"read", "fly"})
    with pytest.raises(ValueError, match="unknown scope"):
        emu.create_app(scopes={"nope"})
    pending = app.configure(access_level="app_only", as_user=False, user_tokens=False, scopes=[])
    assert pending == AppSettings("app_only", False, False, frozenset())
    assert app.settings == AppSettings()
    assert app.reauthorize() == pending
    with pytest.raises(ValueError, match="auth must be"):
        emu.create_app(auth="saml")  # type: ignore[arg-type]


def test_app_users_and_authorize_alias(emu: BoxEmulator) -> None:
    app = emu.create_app(app_users=0, authorized=False)
    assert app.app_users == []
    user = app.add_app_user()
    named = app.add_app_user("Robot")
    assert app.app_users == [user, named]
    assert user.is_platform_access_only
    assert user.role == "user"
    assert named.name == "Robot"
    assert user.login.endswith("@boxdevedition.com")
    app.authorize()
    assert app.authorized
    assert emu.create_app(auth="ccg").public_keys == {}


# --------------------------------------------------------------------------- the enterprise


def test_enterprise_population() -> None:
    with BoxEmulator(
        co_admins=1,
        managed_users=3,
        inactive_users=2,
        external_users=2,
        groups=0,
        enterprise_id="4242",
    ) as emu:
        assert emu.enterprise_id == "4242"
        assert emu.admin.role == "admin"
        assert emu.admin.is_admin
        assert [u.role for u in emu.co_admins] == ["coadmin"]
        assert [u.status for u in emu.managed_users] == ["active", "inactive", "inactive"]
        assert emu.groups == []
        with pytest.raises(LookupError, match="no app yet"):
            _ = emu.app
        app = emu.create_app()
        sa = app.service_account
        assert sa.is_service_account
        assert emu.service_accounts == [sa]
        assert emu.app_users == app.app_users
        assert emu.user(sa.id) is sa
        assert emu.find_user("nope") is None
        with pytest.raises(KeyError):
            emu.user("nope")
        assert [u.is_external for u in emu.external_users] == [True, True]
        assert len({u.id for u in emu.users}) == len(emu.users) == 1 + 1 + 3 + 2 + 1 + 2


def test_add_user(emu: BoxEmulator) -> None:
    extra = emu.add_user("Extra Admin", kind="coadmin", status="inactive", login="x@example.com")
    assert extra in emu.co_admins
    assert extra.login == "x@example.com"
    assert emu.add_user("Plain").login.endswith(f"@enterprise{emu.enterprise_id}.example.com")
    with pytest.raises(ValueError, match="kind must be"):
        emu.add_user("App", kind="app_user")  # type: ignore[arg-type]


def test_user_json_fields(emu: BoxEmulator) -> None:
    user = emu.managed_users[0]
    enterprise = emu.state.enterprise_json
    full = user.to_json(enterprise)
    assert full["type"] == "user"
    assert "role" not in full
    chosen = user.to_json(enterprise, ["login", "can_see_managed_users", "missing"])
    assert chosen == {
        "type": "user",
        "id": user.id,
        "login": user.login,
        "can_see_managed_users": False,
    }
    assert user.mini() == {"type": "user", "id": user.id, "name": user.name, "login": user.login}


def test_issue_token_directly(emu: BoxEmulator) -> None:
    app = emu.create_app()
    user = emu.managed_users[0]
    token = emu.issue_token(app, user, expires_in=10)
    issued = emu.live_token(token)
    assert issued is not None
    assert issued.subject_type == "user"
    assert issued.expires_at - issued.issued_at == 10
    assert emu.forget_token(token, emu.create_app()) is False
    assert emu.forget_token(token) is True


def test_ids_never_repeat(emu: BoxEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    values = iter([105, 105, 106])
    monkeypatch.setattr(emu.state._id_rng, "randrange", lambda low, high: next(values))
    first = emu.state.new_id(3)
    second = emu.state.new_id(3)
    assert (first, second) == ("105", "106")
