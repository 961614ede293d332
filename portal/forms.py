"""Form helpers shared by every feature: the same form validates HTML posts and JSON."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_control_characters(value: Any) -> Any:
    """Text without NUL and other control characters (PostgreSQL refuses NUL; nobody
    means to type them); tabs and line breaks stay."""
    return _CONTROL.sub("", value) if isinstance(value, str) else value


class PortalForm(FlaskForm):
    """Base form. ``from_json`` lets the API reuse the page's validation rules; every
    field's text is cleaned of control characters before validation."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            filters = [*unbound_field.kwargs.get("filters", ()), strip_control_characters]
            return unbound_field.bind(form=form, filters=filters, **options)

    @classmethod
    def from_json(cls, payload: Any, **kwargs: Any) -> PortalForm:
        """Validate a JSON object with the same fields and rules as the page form."""
        data = payload if isinstance(payload, dict) else {}
        flat = MultiDict()
        for key, value in data.items():
            if value is None or value is False or isinstance(value, (dict, list)):
                continue  # absent, like an unticked box or an empty field
            flat[key] = "y" if value is True else str(value)
        return cls(formdata=flat, meta={"csrf": False}, **kwargs)

    def error_dict(self) -> dict[str, list[str]]:
        """Field errors as plain strings, for JSON answers."""
        return {name: [str(e) for e in errs] for name, errs in self.errors.items()}
