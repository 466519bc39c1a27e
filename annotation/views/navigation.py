"""What the site's header offers the signed-in user (templates/base.html), and the rule
of who may open /manage/ that both the header and the page follow."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from annotation.models import Capability, User, visible_projects


def may_open_manage(user: User) -> bool:
    """Admins, and the reviewers and managers of some project, may open /manage/."""
    return user.is_platform_admin or visible_projects(user, Capability.REVIEW).exists()


def navigation(request: HttpRequest) -> dict[str, Callable[[], bool]]:
    """A template context processor. `nav_may_manage`: whether the header links
    /manage/; a callable, so its one query runs only on pages whose header asks."""
    user = request.user

    def may_manage() -> bool:
        return isinstance(user, User) and user.is_authenticated and may_open_manage(user)

    return {"nav_may_manage": may_manage}
