"""The OpenAPI 3.1 document, generated from the code.

Each API view is decorated with ``operation``: its tag (the feature package), a summary,
the form that validates its body (the same form class the pages use) and the JSON Schema
of its answer. ``build_document`` walks the URL map, so a route cannot exist without
appearing in the document.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from wtforms import BooleanField, DateField, FileField, Form, HiddenField, IntegerField, SelectField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

F = Callable[..., Any]

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object"},
            },
        }
    },
}


def operation(
    tag: str,
    summary: str,
    *,
    form: type[Form] | None = None,
    response: dict[str, Any] | None = None,
    auth: str = "public",
    status: int = 200,
    body_required: bool = True,
) -> Callable[[F], F]:
    """Describe an API view for the OpenAPI document. ``body_required=False``: the view
    also accepts a request without a body (every field of ``form`` optional)."""

    def decorator(view: F) -> F:
        view.openapi = {  # type: ignore[attr-defined]
            "tag": tag,
            "summary": summary,
            "form": form,
            "response": response or {},
            "auth": auth,
            "status": status,
            "body_required": body_required,
        }
        return view

    return decorator


def form_schema(form_cls: type[Form]) -> dict[str, Any]:
    """JSON Schema of a WTForms form's fields, from the fields' own validators."""
    props: dict[str, Any] = {}
    required: list[str] = []
    for name, unbound in form_cls.__dict__.items():
        field_cls = getattr(unbound, "field_class", None)
        if (
            field_cls is None
            or name == "csrf_token"
            or issubclass(field_cls, (FileField, HiddenField))
        ):
            continue
        kwargs = unbound.kwargs
        validators = kwargs.get("validators") or []
        schema: dict[str, Any]
        if issubclass(field_cls, BooleanField):
            schema = {"type": "boolean"}
        elif issubclass(field_cls, IntegerField) or (
            issubclass(field_cls, SelectField) and kwargs.get("coerce") is int
        ):
            schema = {"type": "integer"}
        elif issubclass(field_cls, DateField):
            schema = {"type": "string", "format": "date"}
        else:
            schema = {"type": "string"}
        label = unbound.args[0] if unbound.args else kwargs.get("label")
        if label is not None:
            schema["description"] = str(label)
        for v in validators:
            if isinstance(v, Length):
                if v.min and v.min > 0:
                    schema["minLength"] = v.min
                if v.max and v.max > 0:
                    schema["maxLength"] = v.max
            elif isinstance(v, NumberRange):
                if v.min is not None:
                    schema["minimum"] = v.min
                if v.max is not None:
                    schema["maximum"] = v.max
            elif isinstance(v, (DataRequired, InputRequired)) and name not in required:
                required.append(name)
        props[name] = schema
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", rule):
        params.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer" if conv == "int" else "string"},
            }
        )
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule), params


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route under /api/v1."""
    paths: dict[str, Any] = {}
    tags: set[str] = set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/v1"):
            continue
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "openapi", None)
        if meta is None:
            continue
        path, params = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            tags.add(meta["tag"])
            op: dict[str, Any] = {
                "operationId": rule.endpoint.replace(".", "_") + "_" + method.lower(),
                "tags": [meta["tag"]],
                "summary": meta["summary"],
                "responses": {
                    str(meta["status"]): {
                        "description": "OK",
                        "content": {"application/json": {"schema": meta["response"]}},
                    },
                    "default": {
                        "description": "Error",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                },
            }
            if params:
                op["parameters"] = params
            if meta["form"] is not None and method in ("POST", "PUT", "PATCH"):
                op["requestBody"] = {
                    "required": meta["body_required"],
                    "content": {"application/json": {"schema": form_schema(meta["form"])}},
                }
            if meta["auth"] != "public":
                op["security"] = [{"session": []}]
                op["x-roles"] = meta["auth"]
            if method != "GET":
                op.setdefault("parameters", []).append(
                    {
                        "name": "X-CSRFToken",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "The token from GET /api/v1/csrf",
                    }
                )
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "网上警务室 API",
            "version": "1",
            "description": "JSON API of the online community police office. Session cookie "
            "authentication; writes carry the CSRF token in the X-CSRFToken header.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": t} for t in sorted(tags)],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        },
    }
