"""``hr register …``: the eligibility register a recruitment leaves behind, from the command line.

``show`` prints the ranking; ``certify``, ``remove`` and ``fill`` are the ``EligibilityRegister``'s
Updates of those names. A validator's refusal is printed as ``refused: <reason>``, and a register
that does not exist (yet) is said as such. This is HR's own terminal: ``show`` and ``certify``
print applicants' names from the store next to their ids (``show --csv`` as CSV for a spreadsheet).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import Engine
from temporalio.client import WorkflowHandle

from cli.recruitment import (
    AsOption,
    RidArgument,
    applicant,
    applicant_names,
    no_register,
    register_handle,
    register_status,
)
from cli.recruitment_open import position_problems
from cli.recruitment_render import register_csv, render_certification, render_register
from cli.store import require_person, store_engine
from cli.support import CliError, load_settings, run
from cli.temporal import connect, update
from schemas.eligibility_register import (
    Certification,
    CertifyInput,
    FillInput,
    RegisterEntry,
    RemoveInput,
)

T = TypeVar("T")

register_app = typer.Typer(help="Eligibility registers that recruitments leave behind.", no_args_is_help=True)


async def register_update(handle: WorkflowHandle[Any, Any], name: str, arg: Any, result_type: type[T]) -> T:
    try:
        return await update(handle, name, arg, result_type)
    except CliError as err:
        raise no_register(err, handle.id) from None


def check_position(engine: Engine, class_code: str, position_id: str) -> None:
    """A position filled from the register must exist and be of its classification.

    It may have its incumbent already: the hire itself is recorded elsewhere.
    """
    problems = position_problems(engine, class_code, [position_id], vacant=False)
    if problems:
        raise CliError(problems[position_id])


# --------------------------------------------------------------------------- commands


@register_app.command("show")
def register_show(
    recruitment_id: RidArgument,
    as_csv: Annotated[
        bool,
        typer.Option(
            "--csv",
            help="Print the ranking as CSV for a spreadsheet: HR's own export from the store, with "
            "the applicants' names (formulas neutralised).",
        ),
    ] = False,
) -> None:
    """The register's ranking, with the applicants' names from the store."""
    settings = load_settings()

    async def body() -> None:
        engine = store_engine(settings)
        client = await connect(settings)
        execution, current = await register_status(register_handle(client, recruitment_id))
        names = applicant_names(engine, recruitment_id)
        if as_csv:
            typer.echo(register_csv(current, names), nl=False)
        else:
            typer.echo(render_register(current, names, execution))

    run(body())


@register_app.command("certify")
def register_certify(
    recruitment_id: RidArgument,
    as_: AsOption,
    request_id: Annotated[
        str, typer.Option(help="The department's request; the same id gives the same names.")
    ],
    vacancies: Annotated[int, typer.Option(min=1, help="Vacancies to fill.")] = 1,
) -> None:
    """Certify names from the register for a later vacancy."""
    settings = load_settings()

    async def body() -> None:
        engine = store_engine(settings)
        require_person(engine, as_)
        client = await connect(settings)
        cert = await register_update(
            register_handle(client, recruitment_id),
            "certify",
            CertifyInput(actor_id=as_, request_id=request_id, vacancies=vacancies),
            Certification,
        )
        typer.echo(render_certification(cert, applicant_names(engine, recruitment_id)))

    run(body())


@register_app.command("remove")
def register_remove(
    recruitment_id: RidArgument,
    as_: AsOption,
    applicant_id: Annotated[str, typer.Option("--applicant", help="Applicant id, e.g. A002.")],
    reason: Annotated[str, typer.Option(help="withdrawn, declined, disqualified or unreachable.")],
    comment: Annotated[str | None, typer.Option(help="Comment recorded with the removal.")] = None,
) -> None:
    """Take a candidate off the register."""
    settings = load_settings()

    async def body() -> None:
        require_person(store_engine(settings), as_)
        client = await connect(settings)
        entry = await register_update(
            register_handle(client, recruitment_id),
            "remove",
            RemoveInput(actor_id=as_, applicant_id=applicant(applicant_id), reason=reason, comment=comment),
            RegisterEntry,
        )
        typer.echo(f"{entry.applicant_id} (rank {entry.rank}) is off the register: {entry.reason}")

    run(body())


@register_app.command("fill")
def register_fill(
    recruitment_id: RidArgument,
    as_: AsOption,
    applicant_id: Annotated[str, typer.Option("--applicant", help="The applicant hired, e.g. A002.")],
    position: Annotated[str, typer.Option(help="The position filled, e.g. P-ITAT-03.")],
) -> None:
    """Record a later vacancy filled from the register: the applicant is hired, off the list."""
    settings = load_settings()

    async def body() -> None:
        engine = store_engine(settings)
        require_person(engine, as_)
        client = await connect(settings)
        handle = register_handle(client, recruitment_id)
        _, current = await register_status(handle)
        position_id = position.strip()
        check_position(engine, current.class_code, position_id)
        entry = await register_update(
            handle,
            "fill",
            FillInput(actor_id=as_, applicant_id=applicant(applicant_id), position_id=position_id),
            RegisterEntry,
        )
        typer.echo(f"{entry.applicant_id} (rank {entry.rank}) filled {position_id} from the register")

    run(body())
