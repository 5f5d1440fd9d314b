"""Built-in template definitions: ``templates/sms/<name>.json``, in the wire shape minus the signature.

A tenant installs one with its own signature (and optionally its own quick app); the result is
an ordinary template, checked and reviewed like any other. The verification built-ins are named
``verification_code_<locale>`` (a BCP 47 tag); :func:`verification_builtin` picks one for a locale.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from importlib.abc import Traversable

from gateway.errors import NotFound
from gateway.templates.schemas import QuickAppBody, TemplateCreate
from gateway.templates.spec import TemplateSpec

__all__ = ["DEFAULT_VERIFICATION_LOCALE", "builtin_names", "builtin_spec", "verification_builtin"]

DEFAULT_VERIFICATION_LOCALE = "zh-CN"
_VERIFICATION_PREFIX = "verification_code_"


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


def verification_builtin(locale: str | None) -> str:
    """The name of the verification built-in for ``locale``: the same tag (case-insensitive), else the
    first of the same language (``en-GB`` -> ``en``, ``zh-Hans`` -> ``zh-CN``), else
    :data:`DEFAULT_VERIFICATION_LOCALE`'s."""
    tags = {
        name.removeprefix(_VERIFICATION_PREFIX).lower(): name
        for name in builtin_names()
        if name.startswith(_VERIFICATION_PREFIX)
    }
    wanted = (locale or DEFAULT_VERIFICATION_LOCALE).lower()
    if wanted in tags:
        return tags[wanted]
    language = wanted.split("-", 1)[0]
    for tag, name in sorted(tags.items()):
        if tag.split("-", 1)[0] == language:
            return name
    return tags[DEFAULT_VERIFICATION_LOCALE.lower()]
