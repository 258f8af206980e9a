"""The approvers' web application: sign-in, the inbox, a step's page, the answer, its confirmation.

Server-rendered pages (Jinja2), no JavaScript, readable on a phone. A person signs in with their
local password (``/login``), through the city's identity provider when HR_OIDC_ISSUER and
HR_OIDC_CLIENT_ID are set (``/login/oidc``: authorization code with PKCE, state and nonce, the
pending sign-in in a short-lived HMAC-sealed cookie; the callback verifies the ID token and checks
the person is active in the directory, then signs them in exactly as a password does), or by
opening a decision link from a notice (``/link/<token>``: single use, bound to the person, the
workflow, the step and an expiry; it signs the person in for that step only). The session is a
cookie holding the person's signed credential (HttpOnly, SameSite=Lax); every form carries a CSRF token
bound to that credential. An answer goes to the workflow as the same validated, signed Update the CLI sends
(``decide``, or ``score`` for a scoring step); a refusal shows the workflow's reason on the page.

Logs carry ids and reasons only: never a token, a password or a payload.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import Engine, update
from sqlmodel import Session, col, func, select
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from schemas.credentials import LINK, Credential, CredentialRefused
from schemas.human_step import DECIDE, DecisionInput, DecisionReceipt
from schemas.identity_tables import DecisionLink
from schemas.limits import reason as validation_reason
from schemas.search_attributes import HR_DUE_AT, HR_PENDING_APPROVERS
from schemas.tables import Delegation, Document, OutboxMessage, Person
from service.identity import KeyRing, SignInError, check_password
from service.oidc import OidcError, PendingSignIn, SignInFlow
from service.settings import Settings
from service.signing import SigningInterceptor

STATUS_TIMEOUT = timedelta(seconds=3)
"""How long a page waits for a workflow's status query (its worker may be down)."""
SESSION_COOKIE = "hr_session"
LOGIN_COOKIE = "hr_login_nonce"
OIDC_COOKIE = "hr_oidc_pending"
OIDC_LOGIN = "/login/oidc"
OIDC_CALLBACK = "/login/oidc/callback"
OIDC_PENDING_SECONDS = 600
NO_OIDC = "Sign-in through an identity provider is not set up."
"""How long a sign-in at the identity provider may take."""
SCORE = "score"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
_SESSION_TOKEN: ContextVar[str | None] = ContextVar("hr_web_session_token", default=None)


def _log() -> Any:
    return structlog.get_logger("hr.web")


@dataclass
class Row:
    """One line of the inbox: a step waiting for the person (or for someone they act for)."""

    workflow_id: str
    process: str
    step_id: str
    title: str
    due_at: datetime
    for_whom: str | None
    reminders: int


class LinkRefused(Exception):
    """A decision link that cannot be used; the message is for the page and the log."""


def _signing_client(client: Client) -> Client:
    """``client`` signing each Update with the credential of the request being served."""
    config = client.config()
    config["interceptors"] = [SigningInterceptor(lambda _actor: _SESSION_TOKEN.get())]
    return Client(**config)


def create_app(settings: Settings, engine: Engine, client: Client, keyring: KeyRing) -> FastAPI:
    """The application, bound to the store, a Temporal client and the service's keys."""
    app = FastAPI(title="HR approvals", docs_url=None, redoc_url=None, openapi_url=None)
    signing_client = _signing_client(client)
    csrf_secret = secrets.token_bytes(32)
    audience = settings.temporal_namespace
    secure = settings.web_url.startswith("https://")

    # ----- sessions and CSRF ---------------------------------------------------------------

    def session(request: Request) -> tuple[str, Credential] | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            return token, keyring.verify(token, audience)
        except CredentialRefused:
            return None

    def csrf_for(binding: str) -> str:
        return hmac.new(csrf_secret, binding.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(binding: str, sent: str) -> bool:
        return bool(sent) and hmac.compare_digest(csrf_for(binding), sent)

    def page(request: Request, name: str, http_status: int = 200, **values: Any) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, name, values, status_code=http_status)

    def message(request: Request, title: str, text: str, status: int) -> HTMLResponse:
        return page(request, "message.html", status, title=title, text=text)

    def signed_in(response: Response, token: str, credential: Credential) -> Response:
        max_age = int((credential.expires_at - datetime.now(timezone.utc)).total_seconds())
        response.set_cookie(
            SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
        )
        return response

    def to_login() -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    # ----- sign-in ---------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        nonce = secrets.token_hex(16)
        response = page(request, "login.html", csrf=csrf_for(f"login:{nonce}"), error=None, oidc=oidc_on)
        response.set_cookie(
            LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=secure, path="/login"
        )
        return response

    @app.post("/login", response_class=HTMLResponse)
    def login(
        request: Request, person_id: str = Form(""), password: str = Form(""), csrf: str = Form("")
    ) -> Response:
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not csrf_ok(f"login:{nonce}", csrf):
            _log().warning("web.csrf_refused", path="/login")
            return message(
                request, "Form expired", "The form was not sent from this site; open it again.", 403
            )
        person_id = person_id.strip()[:64]
        try:
            check_password(engine, person_id, password)
        except SignInError as err:
            _log().info("web.sign_in_refused", reason=str(err))
            return page(request, "login.html", 401, csrf=csrf, error=str(err), oidc=oidc_on)
        token, credential = keyring.issue(
            person_id, audience, timedelta(minutes=settings.auth_session_minutes)
        )
        _log().info("web.signed_in", person_id=person_id, token_id=credential.token_id)
        return signed_in(RedirectResponse("/", status_code=303), token, credential)

    # ----- sign-in through the city's identity provider (OIDC) ------------------------------

    oidc_on = bool(settings.oidc_issuer and settings.oidc_client_id)
    flows: list[SignInFlow] = []
    flow_lock = threading.Lock()
    callback_url = f"{settings.web_url.rstrip('/')}{OIDC_CALLBACK}"

    def flow() -> SignInFlow:
        """The provider's flow, discovered on first use (the provider may be down at start)."""
        with flow_lock:
            if not flows:
                flows.append(SignInFlow.from_settings(settings))
            return flows[0]

    def seal(pending: PendingSignIn) -> str:
        body = base64.urlsafe_b64encode(
            json.dumps(asdict(pending) | {"at": int(time.time())}).encode()
        ).decode()
        return f"{body}.{csrf_for(f'oidc:{body}')}"

    def unseal(value: str) -> PendingSignIn:
        body, _, mac = value.partition(".")
        if not body or not csrf_ok(f"oidc:{body}", mac):
            raise OidcError("the sign-in was not started here, or it expired (start it again)")
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
        if time.time() - int(data.pop("at")) > OIDC_PENDING_SECONDS:
            raise OidcError("the sign-in took too long (start it again)")
        return PendingSignIn(**data)

    def oidc_refused(request: Request, err: Exception, status: int) -> Response:
        _log().warning("web.oidc_refused", reason=str(err))
        response = message(request, "Sign-in refused", f"{err}.", status)
        response.delete_cookie(OIDC_COOKIE, path=OIDC_LOGIN)
        return response

    @app.get(OIDC_LOGIN)
    def oidc_login(request: Request) -> Response:
        if not oidc_on:
            return message(request, "Not available", NO_OIDC, 404)
        try:
            url, pending = flow().begin(callback_url)
        except OidcError as err:
            return oidc_refused(request, err, 502)
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            OIDC_COOKIE,
            seal(pending),
            max_age=OIDC_PENDING_SECONDS,
            httponly=True,
            samesite="lax",  # the provider's redirect back is a top-level navigation from its site
            secure=secure,
            path=OIDC_LOGIN,
        )
        return response

    @app.get(OIDC_CALLBACK)
    def oidc_callback(request: Request) -> Response:
        if not oidc_on:
            return message(request, "Not available", NO_OIDC, 404)
        params = {k: v for k, v in request.query_params.items()}
        try:
            pending = unseal(request.cookies.get(OIDC_COOKIE, ""))
        except (OidcError, ValueError, TypeError, KeyError) as err:
            reason = err if isinstance(err, OidcError) else OidcError("the sign-in was not started here")
            return oidc_refused(request, reason, 400)
        try:
            _, provider_credential = flow().finish(pending, params)
        except OidcError as err:
            status = 401 if "refused the sign-in" in str(err) else 400
            return oidc_refused(request, err, status)
        person_id = provider_credential.person_id
        with Session(engine) as db:
            person = db.get(Person, person_id)
        if person is None or not person.active:
            return oidc_refused(
                request, OidcError(f"{person_id} is not an active person in the city's directory"), 403
            )
        token, credential = keyring.issue(
            person_id, audience, timedelta(minutes=settings.auth_session_minutes)
        )
        _log().info(
            "web.signed_in",
            person_id=person_id,
            method="oidc",
            provider_token_id=provider_credential.token_id,
            token_id=credential.token_id,
        )
        response = signed_in(RedirectResponse("/", status_code=303), token, credential)
        response.delete_cookie(OIDC_COOKIE, path=OIDC_LOGIN)
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        current = session(request)
        if current is not None and not csrf_ok(current[1].token_id, csrf):
            return message(request, "Form expired", "The form was not sent from this site.", 403)
        response = to_login()
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/link/{token}", response_class=HTMLResponse)
    def open_link(request: Request, token: str) -> Response:
        try:
            link = _use_link(engine, keyring, token, audience)
        except LinkRefused as err:
            _log().warning("web.link_refused", reason=str(err))
            return message(request, "This link cannot be used", f"{err}. Sign in to see your inbox.", 400)
        session_token, credential = keyring.issue(
            link.person_id,
            audience,
            timedelta(minutes=settings.auth_session_minutes),
            workflow_id=link.workflow_id,
            step_id=link.step_id,
        )
        _log().info(
            "web.link_used", person_id=link.person_id, workflow_id=link.workflow_id, step_id=link.step_id
        )
        target = f"/steps/{link.workflow_id}/{link.step_id}"
        return signed_in(RedirectResponse(target, status_code=303), session_token, credential)

    # ----- the inbox ---------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    async def inbox(request: Request) -> Response:
        current = session(request)
        if current is None:
            return to_login()
        _, credential = current
        if credential.step_id is not None:  # a link's sign-in is good for its step only
            return RedirectResponse(f"/steps/{credential.workflow_id}/{credential.step_id}", status_code=303)
        rows = await _inbox(client, engine, credential.person_id)
        return page(
            request,
            "inbox.html",
            person_id=credential.person_id,
            rows=rows,
            csrf=csrf_for(credential.token_id),
        )

    # ----- a step ------------------------------------------------------------------------------

    async def step_view(
        request: Request, credential: Credential, workflow_id: str, step_id: str
    ) -> dict | None:
        try:
            status = await client.get_workflow_handle(workflow_id).query("status", rpc_timeout=STATUS_TIMEOUT)
        except (RPCError, Exception) as err:  # noqa: BLE001 (an unknown id, a closed run: one page)
            _log().info("web.status_failed", workflow_id=workflow_id, error=type(err).__name__)
            return None
        steps = {s["step_id"]: s for s in status.get("open_steps", []) + status.get("closed_steps", [])}
        step = steps.get(step_id)
        if step is None:
            return None
        person = credential.person_id
        for_whom = _acting_for(engine, person, step.get("pending", []))
        view: dict[str, Any] = {
            "workflow_id": workflow_id,
            "status": status,
            "step": step,
            "closed": step.get("closed") or step not in status.get("open_steps", []),
            "person_id": person,
            "for_whom": for_whom,
            "csrf": csrf_for(credential.token_id),
            "redline": None,
            "candidates": [],
        }
        if status.get("draft_version_id") is not None:
            view["redline"] = _redline(engine, workflow_id)
        if step.get("answer_with") != "hr decide":
            assigned = status.get("assignments", {}).get(step_id, {})
            view["candidates"] = assigned.get(for_whom or person, [])
        return view

    def scope_refusal(credential: Credential, workflow_id: str, step_id: str) -> str | None:
        if credential.workflow_id not in (None, workflow_id) or credential.step_id not in (None, step_id):
            return "your sign-in from a decision link is good for its own step only; sign in to see others"
        return None

    @app.get("/steps/{workflow_id}/{step_id}", response_class=HTMLResponse)
    async def step_page(request: Request, workflow_id: str, step_id: str) -> Response:
        current = session(request)
        if current is None:
            return to_login()
        _, credential = current
        if (refusal := scope_refusal(credential, workflow_id, step_id)) is not None:
            return message(request, "Not this step", refusal, 403)
        view = await step_view(request, credential, workflow_id, step_id)
        if view is None:
            return message(request, "No such step", f"{workflow_id} has no step {step_id}.", 404)
        return page(request, "step.html", error=None, **view)

    @app.post("/steps/{workflow_id}/{step_id}", response_class=HTMLResponse)
    async def answer(request: Request, workflow_id: str, step_id: str) -> Response:
        current = session(request)
        if current is None:
            return to_login()
        token, credential = current
        form = await request.form()
        if not csrf_ok(credential.token_id, str(form.get("csrf", ""))):
            _log().warning("web.csrf_refused", path="/steps", workflow_id=workflow_id, step_id=step_id)
            return message(
                request, "Form expired", "The form was not sent from this site; open the step again.", 403
            )
        if (refusal := scope_refusal(credential, workflow_id, step_id)) is not None:
            return message(request, "Not this step", refusal, 403)
        view = await step_view(request, credential, workflow_id, step_id)
        if view is None:
            return message(request, "No such step", f"{workflow_id} has no step {step_id}.", 404)
        handle = signing_client.get_workflow_handle(workflow_id)
        reset = _SESSION_TOKEN.set(token)
        try:
            if view["step"].get("answer_with") == "hr decide":
                receipt = await _send_decision(handle, credential.person_id, step_id, form)
                done = f"{receipt.decision} recorded" + (" (step closed)" if receipt.step_closed else "")
            elif view["step"].get("answer_with", "").endswith("score"):
                done = await _send_scores(handle, credential.person_id, step_id, form, view["candidates"])
            else:
                raise _Refusal(f"answer this step with `{view['step'].get('answer_with')}`")
        except _Refusal as err:
            _log().info("web.answer_refused", workflow_id=workflow_id, step_id=step_id, reason=str(err))
            return page(request, "step.html", 422, error=str(err), **view)
        finally:
            _SESSION_TOKEN.reset(reset)
        _log().info("web.answered", workflow_id=workflow_id, step_id=step_id, person_id=credential.person_id)
        return page(
            request,
            "done.html",
            workflow_id=workflow_id,
            step_id=step_id,
            done=done,
            person_id=credential.person_id,
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


class _Refusal(Exception):
    """An answer the form or the workflow refused; the message is shown on the page."""


def _form_text(form: Any, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


async def _send_decision(handle: Any, person_id: str, step_id: str, form: Any) -> DecisionReceipt:
    details: dict[str, Any] | None = None
    if (resolution := _form_text(form, "resolution_number")) is not None:
        details = {"kind": "board_resolution", "resolution_number": resolution}
        if (meeting := _form_text(form, "meeting_date")) is not None:
            details["meeting_date"] = meeting
    elif (text := _form_text(form, "revised_text")) is not None:
        details = {"kind": "revised_text", "text": text}
    try:
        inp = DecisionInput(
            actor_id=person_id,
            decision=_form_text(form, "decision") or "",
            step_id=step_id,
            on_behalf_of=_form_text(form, "on_behalf_of"),
            comment=_form_text(form, "comment"),
            details=details,
        )
    except ValidationError as err:
        raise _Refusal(validation_reason(err)) from None
    try:
        return await handle.execute_update(DECIDE, inp, result_type=DecisionReceipt)
    except WorkflowUpdateFailedError as err:
        raise _Refusal(_update_reason(err)) from None


async def _send_scores(handle: Any, person_id: str, step_id: str, form: Any, candidates: list[str]) -> str:
    from schemas.recruitment import ScoreInput, ScoreReceipt

    scores = []
    for applicant_id in candidates:
        value = _form_text(form, f"score_{applicant_id}")
        if value is not None:
            scores.append({"applicant_id": applicant_id, "score": value})
    if not scores:
        raise _Refusal("enter at least one score")
    try:
        inp = ScoreInput.model_validate(
            {
                "actor_id": person_id,
                "scores": scores,
                "step_id": step_id,
                "comment": _form_text(form, "comment"),
            }
        )
    except ValidationError as err:
        raise _Refusal(validation_reason(err)) from None
    try:
        receipt = await handle.execute_update(SCORE, inp, result_type=ScoreReceipt)
    except WorkflowUpdateFailedError as err:
        raise _Refusal(_update_reason(err)) from None
    left = f"; still to score: {', '.join(receipt.remaining)}" if receipt.remaining else ""
    return f"scores recorded for {', '.join(receipt.recorded)}{left}"


def _update_reason(err: WorkflowUpdateFailedError) -> str:
    cause = err.cause
    return str(getattr(cause, "message", None) or cause)


def _use_link(engine: Engine, keyring: KeyRing, token: str, audience: str) -> DecisionLink:
    """Checks a decision link and marks it used (once: a second use is refused).

    Raises:
        LinkRefused: expired, altered or foreign (not signed by this service, or for another
            namespace), unknown, or used already.
    """
    now = datetime.now(timezone.utc)
    try:
        credential = keyring.verify(token, audience, at=now, purpose=LINK)
    except CredentialRefused as err:
        text = str(err)
        if "expired" in text:
            raise LinkRefused("the link has expired") from None
        raise LinkRefused("the link is not valid (altered, or not from this service)") from None
    with Session(engine) as session:
        link = session.get(DecisionLink, credential.token_id)
        if link is None or (link.person_id, link.workflow_id, link.step_id) != (
            credential.person_id,
            credential.workflow_id,
            credential.step_id,
        ):
            raise LinkRefused("the link is not valid (not from this service)")
        used = session.exec(  # type: ignore[call-overload]
            update(DecisionLink)
            .where(col(DecisionLink.token_id) == credential.token_id)
            .where(col(DecisionLink.used_at).is_(None))
            .values(used_at=now)
        )
        session.commit()
        if used.rowcount != 1:
            raise LinkRefused("the link has been used already")
        session.refresh(link)
        return link


def _acting_for(engine: Engine, person_id: str, pending: list[str]) -> str | None:
    """Whom ``person_id`` acts for among ``pending`` (a delegation active today), if not themselves."""
    if person_id in pending:
        return None
    today = date.today()
    with Session(engine) as session:
        rows = session.exec(
            select(Delegation)
            .where(Delegation.delegate_id == person_id)
            .where(Delegation.starts_on <= today)
            .where(Delegation.ends_on >= today)
        ).all()
    for row in rows:
        if row.delegator_id in pending:
            return row.delegator_id
    return None


def _redline(engine: Engine, workflow_id: str) -> str | None:
    with Session(engine) as session:
        doc = session.exec(
            select(Document)
            .where(Document.workflow_id == workflow_id)
            .where(Document.kind == "redline")
            .order_by(col(Document.id).desc())
        ).first()
    return doc.text if doc else None


def _reminders(engine: Engine, workflow_id: str, step_id: str, person_id: str) -> int:
    with Session(engine) as session:
        return session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.workflow_id == workflow_id)
            .where(OutboxMessage.recipient_id == person_id)
            .where(col(OutboxMessage.key).contains(f":{step_id}:reminder:"))
        ).one()


async def _inbox(client: Client, engine: Engine, person_id: str) -> list[Row]:
    """Every open step waiting for ``person_id`` or for someone they act for, oldest due first.

    The workflows come from visibility (``HrPendingApprovers``), their steps from their status
    queries, asked all at once; a workflow whose worker does not answer in time is still listed,
    from its search attributes, without its step.
    """
    today = date.today()
    with Session(engine) as session:
        delegators = sorted(
            {
                d.delegator_id
                for d in session.exec(
                    select(Delegation)
                    .where(Delegation.delegate_id == person_id)
                    .where(Delegation.starts_on <= today)
                    .where(Delegation.ends_on >= today)
                ).all()
            }
        )
        known = session.get(Person, person_id) is not None
    if not known:
        return []
    waiting: list[tuple[str, Any]] = []
    for whom in [person_id, *delegators]:
        query = f"ExecutionStatus = 'Running' AND {HR_PENDING_APPROVERS.name} = '{whom}'"
        waiting += [(whom, execution) async for execution in client.list_workflows(query)]

    async def status_of(workflow_id: str) -> dict[str, Any] | None:
        try:
            handle = client.get_workflow_handle(workflow_id)
            return await handle.query("status", rpc_timeout=STATUS_TIMEOUT)
        except Exception as err:  # noqa: BLE001 (one workflow not answering leaves the others)
            _log().info("web.status_failed", workflow_id=workflow_id, error=type(err).__name__)
            return None

    ids = sorted({execution.id for _, execution in waiting})
    statuses = dict(zip(ids, await asyncio.gather(*(status_of(i) for i in ids)), strict=True))
    rows: list[Row] = []
    seen: set[tuple[str, str, str]] = set()
    for whom, execution in waiting:
        for_whom = None if whom == person_id else whom
        status = statuses[execution.id]
        if status is None:
            due = execution.typed_search_attributes.get(HR_DUE_AT) or execution.start_time
            due = due if due.tzinfo else due.replace(tzinfo=timezone.utc)
            rows.append(
                Row(execution.id, execution.workflow_type, "", "(status unavailable)", due, for_whom, 0)
            )
            continue
        for step in status.get("open_steps", []):
            if whom not in step.get("pending", []) or (execution.id, step["step_id"], whom) in seen:
                continue
            seen.add((execution.id, step["step_id"], whom))
            rows.append(
                Row(
                    workflow_id=execution.id,
                    process=execution.workflow_type,
                    step_id=step["step_id"],
                    title=step["title"],
                    due_at=datetime.fromisoformat(step["due_at"]),
                    for_whom=for_whom,
                    reminders=_reminders(engine, execution.id, step["step_id"], whom),
                )
            )
    rows.sort(key=lambda r: (r.due_at, r.workflow_id, r.step_id))
    return rows


AppFactory = Callable[[Settings, Engine, Client, KeyRing], FastAPI]
