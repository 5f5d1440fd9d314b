"""What the sign-in page says when single sign-on failed, by :data:`gateway.console.sso.Reason`
(every reason has its words; a test checks): Chinese first, English beside."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["SSO_ERRORS"]

SSO_ERRORS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "not_configured": (
            "该机构尚未开通银行账号登录，请使用用户名和密码登录。",  # noqa: RUF001
            "Signing in with a bank account is not set up for this institution: use your username and "
            "password.",
        ),
        "unreachable": (
            "暂时无法连接银行的统一身份认证系统，请稍后再试。",  # noqa: RUF001
            "The bank's sign-in service cannot be reached right now: try again shortly.",
        ),
        "expired": (
            "登录请求已失效或已使用，请重新点击“使用银行账号登录”。",  # noqa: RUF001
            "The sign-in request has expired or was already used: start again with "
            "'Sign in with bank account'.",
        ),
        "denied": (
            "银行的统一身份认证系统未完成登录（已取消或被拒绝）。",  # noqa: RUF001
            "The bank's sign-in service did not sign you in (cancelled or refused).",
        ),
        "invalid_token": (
            "银行身份认证系统返回的身份凭证无效，登录已拒绝。",  # noqa: RUF001
            "The bank's sign-in service answered with an identity token that failed the checks: "
            "not signed in.",
        ),
        "no_account": (
            "此银行账号未关联控制台账号，或账号已停用，请联系管理员。",  # noqa: RUF001
            "This bank account is not linked to a console account, or the account is disabled: ask an admin.",
        ),
    }
)
