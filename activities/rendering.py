"""Every text the service renders, from the Jinja2 templates in ``activities/templates/``.

One strict environment renders them all: a field a template uses and the caller did not supply
raises ``MissingField`` (a ``jinja2.UndefinedError``) instead of rendering a placeholder, so a
notice with a hole in it fails in tests, not in someone's mailbox. A value that is genuinely
optional is handled in its template, explicitly (``{% if x is defined %}``, ``is not none``).

The templates (``activities/templates/``, shipped as package data):

- ``staff/<name>.txt``: the notices to staff (``notify``); ``staff/_generic.txt`` for a name
  that has no file of its own.
- ``applicant/<name>.txt``: the notices to applicants (``notify_applicants``).
- ``memo.txt``: the memo to the Civil Service Board; ``redline.txt``: a redline document.
- ``_signature.txt``: the signature under every notice.
- Files whose names start with ``_`` are parts (includes, macros), not documents of their own.

A notice has two blocks: ``{% block subject %}`` (rendered on its own; whitespace, line breaks
included, collapses to single spaces) and ``{% block body %}`` (leading and trailing blank
space removed; the signature is added under it). Anything outside the two blocks (a comment) is
not rendered. A document (memo, redline) is the whole file, rendered as it is.

Activities turn a ``MissingField`` into a retryable ``ApplicationError`` of type
``TemplateError`` with ``template_errors``: the message and the log name the template and the
field, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any

import jinja2
from temporalio.exceptions import ApplicationError

TEMPLATE_ERROR = "TemplateError"
"""The ``ApplicationError`` type of a template that could not be rendered."""

STAFF_DIR = "staff"
APPLICANT_DIR = "applicant"
GENERIC_STAFF_NOTICE = f"{STAFF_DIR}/_generic.txt"
MEMO = "memo.txt"
REDLINE = "redline.txt"
SIGNATURE_TEMPLATE = "_signature.txt"

HIDDEN_IN_DETAILS = frozenset({"workflow_id", "outcome"})
"""Parameters a staff notice's list of details leaves out (the notice states them itself)."""


def join_names(names: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C`` (the ``names`` filter)."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("activities", "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
"""The one template environment: strict (a missing field raises), plain text (no escaping)."""
ENV.filters["names"] = join_names


class MissingField(jinja2.UndefinedError):
    """A template used a field its caller did not supply.

    Attributes:
        template: The template's name (``staff/reminder.txt``).
        field: The missing field's name (``due_at``), or ``None`` if Jinja did not say.
    """

    def __init__(self, template: str, field: str | None) -> None:
        self.template = template
        self.field = field
        super().__init__(f"template {template!r} needs the field {field or '(unknown)'!r}, which is missing")


_UNDEFINED_NAME = re.compile(r"^'([A-Za-z_][A-Za-z0-9_]*)' is undefined$")
_UNDEFINED_ATTRIBUTE = re.compile(r"has no attribute '([A-Za-z_][A-Za-z0-9_]*)'$")


def _field_of(exc: jinja2.UndefinedError) -> str | None:
    """The field an ``UndefinedError`` names (a name or an attribute); never a value."""
    message = exc.message or ""
    found = _UNDEFINED_NAME.match(message) or _UNDEFINED_ATTRIBUTE.search(message)
    return found.group(1) if found else None


def _names_in(directory: str) -> frozenset[str]:
    """The documents (not parts) directly in ``directory``, by name without ``.txt``."""
    names = set()
    for path in ENV.list_templates(extensions=["txt"]):
        folder, _, file = path.rpartition("/")
        if folder == directory and not file.startswith("_"):
            names.add(file[: -len(".txt")])
    return frozenset(names)


STAFF_NOTICES: frozenset[str] = _names_in(STAFF_DIR)
"""The staff notices that have a template of their own (``step_opened``, ``reminder``, ...)."""
APPLICANT_NOTICES: frozenset[str] = _names_in(APPLICANT_DIR)
"""The applicant notices (``application_received``, ..., ``recruitment_closed``)."""


def render_document(template: str, values: Mapping[str, Any]) -> str:
    """Renders a whole template (a document) with ``values``.

    Raises:
        MissingField: The template uses a field ``values`` does not have.
    """
    try:
        return ENV.get_template(template).render(dict(values))
    except MissingField:
        raise
    except jinja2.UndefinedError as exc:
        raise MissingField(template, _field_of(exc)) from None


SIGNATURE: str = render_document(SIGNATURE_TEMPLATE, {}).strip()
"""The office's signature under every notice."""


def render_notice(template: str, values: Mapping[str, Any]) -> tuple[str, str]:
    """Renders a notice's ``subject`` and ``body`` blocks.

    Returns:
        ``(subject, body)``: the subject on one line; the body ends with the signature and a newline.

    Raises:
        MissingField: The template uses a field ``values`` does not have.
    """
    compiled = ENV.get_template(template)
    try:
        context = compiled.new_context(dict(values))
        subject = "".join(compiled.blocks["subject"](context))
        context = compiled.new_context(dict(values))
        body = "".join(compiled.blocks["body"](context))
    except jinja2.UndefinedError as exc:
        raise MissingField(template, _field_of(exc)) from None
    return " ".join(subject.split()), body.strip("\n").rstrip() + "\n\n" + SIGNATURE + "\n"


def render_staff_notice(
    template: str, params: Mapping[str, str], name: str, workflow_id: str | None
) -> tuple[str, str]:
    """Renders a notice to a member of staff (``notify``).

    Args:
        template: A name in ``STAFF_NOTICES``; any other name gets ``staff/_generic.txt``.
        params: The notice's parameters (``step_title``, ``due_at``, ``allowed``, ``overdue``,
            ``decision``, ``outcome``, ...); ``params`` is also a field (the list of details).
        name: The recipient's name (the greeting).
        workflow_id: The workflow the notice is about; else ``params["workflow_id"]``; else the
            notice says "(no workflow)" (a notice need not belong to a workflow).

    Returns:
        ``(subject, body)``.

    Raises:
        MissingField: The template uses a parameter ``params`` does not have.
    """
    path = f"{STAFF_DIR}/{template}.txt" if template in STAFF_NOTICES else GENERIC_STAFF_NOTICE
    values: dict[str, Any] = dict(params)
    values.update(
        name=name,
        template=template,
        workflow_id=workflow_id or params.get("workflow_id") or "(no workflow)",
        params=dict(params),
        hidden=HIDDEN_IN_DETAILS,
    )
    return render_notice(path, values)


def render_applicant_notice(
    template: str, params: Mapping[str, str], name: str, applicant_id: str, recruitment_id: str
) -> tuple[str, str]:
    """Renders a notice to an applicant (``notify_applicants``).

    Args:
        template: A name in ``APPLICANT_NOTICES``.
        params: The notice's parameters (``title``, ``class_code``, ``closes_at``, ...).
        name: The applicant's name (the greeting).
        applicant_id: The applicant's id (a field, ``applicant_id``).
        recruitment_id: The recruitment's id (a field, ``recruitment_id``).

    Raises:
        KeyError: ``template`` is not an applicant notice.
        MissingField: The template uses a parameter ``params`` does not have.
    """
    if template not in APPLICANT_NOTICES:
        raise KeyError(template)
    values: dict[str, Any] = dict(params)
    values.update(name=name, applicant_id=applicant_id, recruitment_id=recruitment_id)
    return render_notice(f"{APPLICANT_DIR}/{template}.txt", values)


def render_redline_document(
    *, class_code: str, review_round: int, current_revised_on: date | None, has_current: bool, redline: str
) -> str:
    """A redline document: a header (classification, round, the current text's revision date),
    then the redline text of ``workflows.rules.redline.redline``."""
    return render_document(
        REDLINE,
        {
            "class_code": class_code,
            "round": review_round,
            "current_revised_on": current_revised_on,
            "has_current": has_current,
            "redline": redline,
        },
    )


def template_error(exc: jinja2.UndefinedError) -> ApplicationError:
    """The activity error for a template that could not be rendered: retryable (a worker with
    the fix deployed then heals the process), naming the template and the field only."""
    template = exc.template if isinstance(exc, MissingField) else "(unknown template)"
    field = exc.field if isinstance(exc, MissingField) else _field_of(exc)
    return ApplicationError(
        f"template {template!r} needs the field {field or '(unknown)'!r}, which the caller did not supply",
        {"template": template, "field": field},
        type=TEMPLATE_ERROR,
    )


@contextmanager
def template_errors(log: Any, **ids: Any) -> Iterator[None]:
    """Within an activity: a ``jinja2.UndefinedError`` becomes ``template_error(...)``, logged
    once at error level with the template, the field and ``ids`` (ids only, never values)."""
    try:
        yield
    except jinja2.UndefinedError as exc:
        error = template_error(exc)
        names = error.details[0]
        log.error("template.missing_field", template=names["template"], field=names["field"], **ids)
        raise error from None
