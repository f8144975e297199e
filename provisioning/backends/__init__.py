"""Provisioning backends: one module per backend, chosen by ENGAGE_PROVISIONING_BACKEND.

A backend module defines a class `Backend` (a subclass of `base.ProvisioningBackend`). Adding a third
backend (say RADIUS SQL) means adding `provisioning/backends/radius.py` and setting
ENGAGE_PROVISIONING_BACKEND=radius; nothing else changes.
"""

import importlib
import pkgutil

from django.conf import settings

from .base import STATE_AFTER, AccountRef, BackendError, ProvisioningBackend, Verb

__all__ = [
    "STATE_AFTER", "AccountRef", "BackendError", "ProvisioningBackend", "Verb",
    "available_backends", "get_backend", "load_backend",
]

_NOT_BACKENDS = {"base"}


def available_backends() -> list[str]:
    """Names of the backend modules in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_BACKENDS)


def load_backend(name: str) -> type[ProvisioningBackend]:
    """The Backend class of module `name`; ValueError with the known names when there is none."""
    if name not in available_backends():
        raise ValueError(
            f"Unknown provisioning backend {name!r}; known backends: {', '.join(available_backends())}."
        )
    module = importlib.import_module(f"{__name__}.{name}")
    backend = getattr(module, "Backend", None)
    if not (isinstance(backend, type) and issubclass(backend, ProvisioningBackend)):
        raise ValueError(f"provisioning/backends/{name}.py defines no Backend class (a ProvisioningBackend).")
    return backend


def get_backend() -> ProvisioningBackend:
    """The configured backend, built from the current settings (read on every call, so tests can switch)."""
    return load_backend(settings.ENGAGE_PROVISIONING_BACKEND).from_settings(settings)
