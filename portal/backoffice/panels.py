"""Dashboard panels. Each feature registers a function that returns its panel for an
officer; the dashboard renders whatever is registered, so features extend it without
editing it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portal.accounts.models import User


@dataclass
class Panel:
    """One box on the dashboard: a title, a headline count, some rows and a link."""

    key: str
    title: str
    count: int
    link: str
    rows: list[tuple[str, str]] = field(default_factory=list)  # (text, url)
    empty_text: str = ""
    alert: bool = False


PanelProvider = Callable[["User"], Panel | None]
_providers: list[tuple[int, PanelProvider]] = []


def register_panel(order: int) -> Callable[[PanelProvider], PanelProvider]:
    """Decorator: add a panel provider at a position (lower comes first)."""

    def decorator(fn: PanelProvider) -> PanelProvider:
        if fn not in [p for _, p in _providers]:
            _providers.append((order, fn))
            _providers.sort(key=lambda item: item[0])
        return fn

    return decorator


def panels_for(user: User) -> list[Panel]:
    """Every registered panel the user should see."""
    return [p for _, fn in _providers if (p := fn(user)) is not None]
