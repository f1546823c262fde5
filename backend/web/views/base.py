"""What every page shares: login, the navigation, error pages for refused reads, pagination."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_htmx.http import HttpResponseClientRedirect

from common.exceptions import ApplicationError, Forbidden, NotFound
from orgs import selectors as org_selectors
from orgs.models import Level, OrgUnit, User
from web.homes import HOME_LABELS, Home, Workspace, current_workspace, remember_workspace, workspaces_for

PAGE_SIZE = 20


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url: str


@dataclass
class Nav:
    workspaces: list[Workspace]
    current: Workspace | None
    items: list[NavItem] = field(default_factory=list)
    active: str = ""

    @property
    def phone_tabs(self) -> bool:
        """Workers get a bottom tab bar on phones; officials a desk navigation."""
        return self.current is not None and self.current.home == Home.MINE


def _items(current: Workspace | None) -> list[NavItem]:
    items = []
    if current is not None:
        items.append(NavItem("home", str(HOME_LABELS[current.home]), current.url))
    items.append(NavItem("tasks", _("Tasks"), reverse("web:task_list")))
    if current is None or current.home != Home.MINE:
        items.append(NavItem("units", _("Units and people"), reverse("web:unit_index")))
    if current is not None and current.home != Home.MINE and current.unit.level < Level.COMMUNITY:
        # District and street officials: 排名 and 统计 (issue 11).
        items.append(NavItem("ranking", _("Rankings"), reverse("web:ranking")))
        items.append(NavItem("stats", _("Statistics"), reverse("web:stats")))
    items.append(NavItem("account", _("Me"), reverse("web:account")))
    return items


def request_workspaces(request: HttpRequest) -> list[Workspace]:
    """The person's workspaces, read once per request."""
    cached = getattr(request, "_web_workspaces", None)
    if cached is None:
        cached = workspaces_for(request.user)  # type: ignore[arg-type]
        request._web_workspaces = cached  # type: ignore[attr-defined]
    return cached


def navigation(request: HttpRequest, active: str) -> Nav:
    workspaces = request_workspaces(request)
    current = current_workspace(request, workspaces)
    return Nav(workspaces=workspaces, current=current, items=_items(current), active=active)


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    active: str = "",
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or only `partial` when htmx asks for it (the URL stays the page's own)."""
    if partial is not None and _htmx_partial(request):
        return render(request, partial, context, status=status)
    return render(request, template, {**context, "nav": navigation(request, active)}, status=status)


def _htmx_partial(request: HttpRequest) -> bool:
    """An htmx request for a part of the page; a history restore wants the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def render_error(request: HttpRequest, status: int, message: str = "") -> HttpResponse:
    titles = {
        400: gettext_lazy("The request could not be handled"),
        403: gettext_lazy("You may not do this"),
        404: gettext_lazy("Not found"),
        500: gettext_lazy("Something went wrong on our side"),
    }
    context = {"status": status, "title": titles.get(status, titles[400]), "message": message}
    template = "web/partials/error_panel.html" if _htmx_partial(request) else "web/error.html"
    return render(request, template, context, status=status)


def page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page for logged-in people. A selector's 404 or a service's refusal becomes an error page in
    the same design, with the selector's own message (existence outside one's scope never leaks)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            return render_error(request, 404, str(exc.message))
        except Forbidden as exc:
            return render_error(request, 403, str(exc.message))
        except ApplicationError as exc:
            return render_error(request, exc.status_code, str(exc.message))

    return wrapper


def paginate(request: HttpRequest, items: Any, *, per_page: int = PAGE_SIZE, param: str = "page") -> Page:
    paginator = Paginator(items, per_page)
    try:
        return paginator.page(request.GET.get(param) or 1)
    except (EmptyPage, PageNotAnInteger) as exc:
        raise NotFound(
            _("There is no page %(page)s; this list has %(count)s page(s).")
            % {"page": request.GET.get(param), "count": paginator.num_pages}
        ) from exc


def unit_param(request: HttpRequest, workspaces_home: Home) -> OrgUnit:
    """The unit named by ?unit= (404 outside one's scope), else the person's first workspace of this
    kind, else their highest one. The choice is remembered for the navigation."""
    user: User = request.user  # type: ignore[assignment]
    raw = request.GET.get("unit")
    if raw:
        unit = org_selectors.unit_get(user=user, unit_id=raw)
    else:
        workspaces = request_workspaces(request)
        same_kind = [w for w in workspaces if w.home == workspaces_home]
        candidates = same_kind or workspaces
        if not candidates:
            raise NotFound(_("You are not a member of any unit yet; ask your administrator to add you."))
        unit = candidates[0].unit
    remember_workspace(request, workspaces_home, unit)
    return unit


# Forms that change things ---------------------------------------------------------------------------


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", None))


def done(request: HttpRequest, url: str, message: str) -> HttpResponse:
    """After a change: the message on the next page, and that page (htmx follows in place)."""
    messages.success(request, message)
    if is_htmx(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def field_errors(exc: ApplicationError) -> dict[str, list[str]]:
    """A refusal's field errors as text lists, whatever their shape (lists, dicts of rows, codes)."""
    found: dict[str, list[str]] = {}
    for name, problems in (exc.extra or {}).items():
        if isinstance(problems, dict):
            problems = [text for value in problems.values() for text in _texts(value)]
        found[str(name)] = _texts(problems)
    return found


def _texts(problems: Any) -> list[str]:
    if isinstance(problems, list | tuple):
        return [text for problem in problems for text in _texts(problem)]
    if isinstance(problems, dict):
        return [str(problems["message"])] if "message" in problems else []
    return [str(problems)]


def form_context(request: HttpRequest, exc: ApplicationError | None = None) -> dict[str, Any]:
    """What a form partial needs to show a refusal in place, with what the person typed kept."""
    return {
        "values": request.POST,
        "error": str(exc.message) if exc else "",
        "errors": field_errors(exc) if exc else {},
    }


def render_form(
    request: HttpRequest,
    template: str,
    partial: str,
    context: dict[str, Any],
    *,
    exc: ApplicationError | None = None,
    active: str = "",
) -> HttpResponse:
    """A form page, or only its form for htmx; a refusal answers with its own status (htmx swaps 4xx
    in place: web/static/web/app.js)."""
    status = exc.status_code if exc else 200
    context = {**form_context(request, exc), **context}
    return render_page(request, template, context, partial=partial, active=active, status=status)


def with_actions(grants: Any, items: Any, *, only: tuple[str, ...] = ()) -> Any:
    """Each task or assignment of `items` (a list or a page) gets its `actions` (tasks.policies), which
    the templates read to show buttons; computed in memory from what the selectors loaded. With `only`,
    a list offers just those of them (the street's overdue list: urging, not the community's own steps,
    which its page still offers)."""
    from tasks import policies
    from tasks.models import Assignment, PracticeTask

    rows = items.object_list if isinstance(items, Page) else items
    rows = list(rows)
    if isinstance(items, Page):
        items.object_list = rows
    for item in rows:
        if isinstance(item, Assignment):
            actions = policies.assignment_actions(grants, item)
        elif isinstance(item, PracticeTask):
            actions = policies.task_actions(grants, item)
        else:
            continue
        item.actions = [action for action in actions if not only or action in only]
    return items


def moment_field(post: Any, name: str) -> str | None:
    """A date field and an optional time field (`<name>_date`, `<name>_time`) as the API reads a time:
    "2026-12-01" alone (the end, or for a start the beginning, of that day) or "2026-12-01T18:30"."""
    day = (post.get(f"{name}_date") or "").strip()
    clock = (post.get(f"{name}_time") or "").strip()
    if not day:
        return None
    return f"{day}T{clock}" if clock else day
