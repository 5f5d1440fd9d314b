"""Built-in template definitions: ``templates/sms/<name>.json``, in the wire shape minus the signature.

A tenant installs one with its own signature (and optionally its own quick app); the result is
an ordinary template, checked and reviewed like any other.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from importlib.abc import Traversable

from gateway.errors import NotFound
from gateway.templates.schemas import QuickAppBody, TemplateCreate
from gateway.templates.spec import TemplateSpec

__all__ = ["builtin_names", "builtin_spec"]


@functools.cache
def _definitions() -> dict[str, Traversable]:
    folder = resources.files("templates") / "sms"
    return {
        entry.name.removesuffix(".json"): entry for entry in folder.iterdir() if entry.name.endswith(".json")
    }


def builtin_names() -> list[str]:
    """The names of the built-in templates, sorted."""
    return sorted(_definitions())


def builtin_spec(name: str, *, signature: str, quick_app: QuickAppBody | None = None) -> TemplateSpec:
    """The built-in ``name`` as a spec with the tenant's ``signature`` (and ``quick_app`` if given).

    :raises NotFound: no built-in of that name.
    """
    entry = _definitions().get(name)
    if entry is None:
        raise NotFound(f"No such built-in template; built-ins: {', '.join(builtin_names())}.")
    data = json.loads(entry.read_text(encoding="utf-8"))
    data["signature"] = signature
    if quick_app is not None:
        data["quickApp"] = quick_app.model_dump()
    return TemplateCreate.model_validate(data).to_spec()
