import pytest

from provisioning.backends import available_backends, load_backend
from provisioning.backends.base import ProvisioningBackend
from provisioning.checks import check_provisioning_settings


def ids(errors):
    return [e.id for e in errors]


@pytest.fixture
def webhook(settings):
    settings.ENGAGE_PROVISIONING_BACKEND = "webhook"
    settings.ENGAGE_WEBHOOK_URL = "https://provisioning.example.net/engage"
    settings.ENGAGE_WEBHOOK_SECRET = "s3cret"
    settings.ENGAGE_WEBHOOK_TIMEOUT = 5.0
    return settings


def test_the_default_ledger_backend_passes(settings):
    settings.ENGAGE_PROVISIONING_BACKEND = "ledger"
    settings.ENGAGE_WEBHOOK_URL = "not even a url"  # not used by the ledger backend
    assert check_provisioning_settings() == []


def test_a_complete_webhook_configuration_passes(webhook):
    assert check_provisioning_settings() == []
    webhook.ENGAGE_WEBHOOK_URL = "http://10.0.0.5:8080/hook"
    assert check_provisioning_settings() == []


def test_an_unknown_backend_is_refused(settings):
    settings.ENGAGE_PROVISIONING_BACKEND = "radius"
    [error] = check_provisioning_settings()
    assert error.id == "provisioning.E001"
    assert error.level >= 40  # Error
    assert error.msg == "ENGAGE_PROVISIONING_BACKEND is 'radius', which is not a provisioning backend."
    assert error.hint == "Use one of: ledger, webhook."


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "is empty; the webhook backend needs a URL"),
        ("ftp://switch.example.net/x", "must start with http:// or https:// (scheme 'ftp' is not allowed)"),
        ("javascript:alert(1)", "must start with http:// or https:// (scheme 'javascript' is not allowed)"),
        ("switch.example.net/hook", "has no scheme; it must start with http:// or https://"),
        ("https://", "has no host name"),
        ("http://switch.example.net:99999/", "is malformed (Port out of range 0-65535)"),
        ("http://switch.example.net:http/", "is malformed (Port could not be cast to integer value as 'http')"),
        ("http://[::1/hook", "is malformed (Invalid IPv6 URL)"),
        ("https://switch example.net/", "contains white space"),
    ],
)
def test_a_malformed_or_non_http_webhook_url_is_refused(webhook, url, problem):
    webhook.ENGAGE_WEBHOOK_URL = url
    [error] = check_provisioning_settings()
    assert error.id == "provisioning.E002"
    assert error.level >= 40
    assert error.msg == f"ENGAGE_WEBHOOK_URL {url!r} {problem}."


def test_a_webhook_without_secret_or_with_a_bad_timeout_is_refused(webhook):
    webhook.ENGAGE_WEBHOOK_SECRET = ""
    webhook.ENGAGE_WEBHOOK_TIMEOUT = 0
    assert ids(check_provisioning_settings()) == ["provisioning.E003", "provisioning.E004"]


def test_the_check_is_registered():
    from django.core.checks import registry

    assert check_provisioning_settings in registry.registry.get_checks()


def test_backends_are_the_modules_of_the_package():
    assert available_backends() == ["ledger", "webhook"]
    for name in available_backends():
        assert issubclass(load_backend(name), ProvisioningBackend)
    with pytest.raises(ValueError, match="Unknown provisioning backend 'base'"):
        load_backend("base")


def test_plain_http_is_refused_in_production_without_showing_credentials(settings):
    settings.ENGAGE_PROVISIONING_BACKEND = "webhook"
    settings.ENGAGE_WEBHOOK_URL = "http://engage:s3cret@switch.example.net/hook"
    settings.ENGAGE_WEBHOOK_SECRET = "x" * 40
    settings.ENGAGE_WEBHOOK_TIMEOUT = 5
    settings.PRODUCTION = True
    (error,) = check_provisioning_settings()
    assert error.id == "provisioning.E005"
    assert "'http://switch.example.net/hook' is plain http:// in production" in error.msg
    assert "s3cret" not in error.msg and "s3cret" not in (error.hint or "")
    settings.ENGAGE_WEBHOOK_URL = "https://engage:s3cret@switch.example.net/hook"
    assert check_provisioning_settings() == []
    settings.PRODUCTION = False
    settings.ENGAGE_WEBHOOK_URL = "http://switch.example.net/hook"
    assert check_provisioning_settings() == []
