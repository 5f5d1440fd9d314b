"""Built-in templates (``templates/sms/*.json``): valid under the same checks, Chinese, renderable."""

from __future__ import annotations

import pytest

from gateway.errors import NotFound
from gateway.templates import Encoding
from gateway.templates.builtin import builtin_names, builtin_spec
from gateway.templates.rendering import check_spec, render
from gateway.templates.schemas import QuickAppBody
from gateway.templates.spec import Category, Flow, QuickApp

LINK = "https://gateway.example.com/l/" + "Ab3" * 7 + "x"


LINKED = [name for name in builtin_names() if not name.startswith("verification_code_")]


def test_claim_location_and_branch_queue_are_built_in() -> None:
    """Both flows of contract §6 have a built-in template, beside the verification code built-ins."""
    assert builtin_names() == [
        "branch-queue",
        "claim-location",
        "verification_code_en",
        "verification_code_zh-CN",
    ]
    claim = builtin_spec("claim-location", signature="平安保险")
    queue = builtin_spec("branch-queue", signature="平安银行")
    assert (claim.flow, claim.category) == (Flow.CLAIM_LOCATION, Category.NOTIFICATION)
    assert {"claimNo", "insurerName"} == set(claim.params)
    assert (queue.flow, queue.category) == (Flow.BRANCH_QUEUE, Category.NOTIFICATION)
    assert {"ticket", "branchName"} == set(queue.params)


@pytest.mark.parametrize("name", LINKED)
def test_builtins_pass_the_creation_checks_and_render(name: str) -> None:
    """Each built-in with a link passes check_spec and renders a Chinese SMS of at most two parts with
    typical values."""
    spec = builtin_spec(name, signature="平安银行")
    check_spec(spec)
    values = {
        "claimNo": "PA2026112400017",
        "insurerName": "平安产险",
        "ticket": "A017",
        "branchName": "深南支行",
    }
    sms = render(spec, {k: values[k] for k in spec.params}, LINK)
    assert sms.text.startswith("【平安银行】")
    assert f" {LINK} " in sms.text
    assert sms.encoding is Encoding.UCS2
    assert sms.segments <= 2


def test_tenant_quick_app_replaces_the_default() -> None:
    """A tenant may point the built-in at its own quick app."""
    spec = builtin_spec(
        "claim-location", signature="平安保险", quick_app=QuickAppBody(package="com.pa.claims", page="Geo")
    )
    assert spec.quick_app == QuickApp("com.pa.claims", "Geo")


@pytest.mark.parametrize("name", ["nope", "../pyproject", "claim-location.json", ""])
def test_unknown_builtin_is_not_found(name: str) -> None:
    """Only names of files in templates/sms/ resolve; anything else is 404."""
    with pytest.raises(NotFound):
        builtin_spec(name, signature="平安银行")
