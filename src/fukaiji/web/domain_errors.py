"""Domain errors as problem details: every service error already names its field and rule."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fukaiji.errors import DomainError
from fukaiji.intermediate import errors as intermediate_errors
from fukaiji.intermediate.addressee_files import RowFault
from fukaiji.jpki import errors as jpki_errors
from fukaiji.network.errors import (
    DuplicateDepartment,
    DuplicateInstitution,
    ProviderIsRouted,
    QueryNotPermitted,
    UnknownDepartment,
    UnknownInstitution,
    UnknownRecord,
)
from fukaiji.notices import errors as notice_errors
from fukaiji.portal import errors as portal_errors
from fukaiji.protection import errors as protection_errors
from fukaiji.protection.ledger import LEDGER_FIELD, LedgerRejected
from fukaiji.registry import errors as registry_errors
from fukaiji.staff import errors as staff_errors
from fukaiji.web.problems import FieldError, Problem, problem_response

_NOT_FOUND = (
    UnknownInstitution,
    UnknownDepartment,
    staff_errors.UnknownInstitution,
    staff_errors.UnknownDepartment,
    staff_errors.UnknownStaff,
    staff_errors.UnknownApiKey,
    registry_errors.UnknownPerson,
    registry_errors.UnknownMyNumber,
    registry_errors.RetiredMyNumber,
    jpki_errors.UnknownPerson,
    jpki_errors.NoCard,
    jpki_errors.UnknownCard,
    jpki_errors.UnknownCertificate,
    UnknownRecord,
    intermediate_errors.UnknownAddressee,
    intermediate_errors.UnknownSelfInfoItem,
    portal_errors.UnknownGrant,
    portal_errors.UnknownInvitation,
    portal_errors.NoAccount,
    protection_errors.UnknownProtection,
    protection_errors.UnknownConsent,
    protection_errors.UnknownLedgerEntry,
    notice_errors.UnknownNotice,
)
_FORBIDDEN = (QueryNotPermitted,)
_CONFLICT = (
    DuplicateInstitution,
    DuplicateDepartment,
    staff_errors.DuplicateUsername,
    staff_errors.InactiveStaff,
    jpki_errors.CardAlreadyIssued,
    jpki_errors.CardNotSuspended,
    jpki_errors.CardNotActive,
    jpki_errors.CardRefused,
    portal_errors.DuplicateGrant,
    portal_errors.GrantNotLegal,
    protection_errors.ProtectionExists,
    notice_errors.NoticeLocked,
)


def domain_problem(error: DomainError) -> Problem:
    if isinstance(error, _NOT_FOUND):
        return Problem(404, error.message, slug="not-found")
    if isinstance(error, portal_errors.PortalRefusal):
        return Problem(403, error.message, slug=error.reason.replace("_", "-"))
    if isinstance(error, _FORBIDDEN):
        return Problem(403, error.message, slug="query-not-permitted")
    if isinstance(error, ProviderIsRouted):
        return Problem(
            422,
            error.message,
            slug="provider-is-routed",
            errors=[FieldError(field="body.provider_code", message=error.message)],
        )
    if isinstance(error, protection_errors.ProtectionAccessDenied):
        return Problem(403, error.message, slug="not-registering-desk")
    if isinstance(error, LedgerRejected):
        return _rejected_file_problem(error, LEDGER_FIELD, error.faults)
    if isinstance(error, notice_errors.DestinationRejected):
        return _rejected_file_problem(error, error.field, error.faults)
    if isinstance(error, _CONFLICT):
        return Problem(409, error.message, slug="conflict")
    return Problem(
        422,
        error.message,
        slug="invalid-input",
        errors=[FieldError(field=error.field, message=error.message)],
    )


def _rejected_file_problem(error: DomainError, field: str, faults: tuple[RowFault, ...]) -> Problem:
    """Every bad row of a rejected file, each as an error of its own naming its row. A row's
    value is shown as ``shown_value``: a 12-digit value (a 個人番号?) is never echoed."""
    return Problem(
        422,
        error.message,
        slug="invalid-input",
        errors=[
            FieldError(
                field=f"{field}.{fault.row_number}",
                message=f"{fault.row_number} 行目 {fault.shown_value!r}: {fault.reason}",
            )
            for fault in faults
        ],
    )


def install_domain_error_handlers(app: FastAPI) -> None:
    async def _handle(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DomainError)  # noqa: S101  registered for this type only
        return problem_response(domain_problem(error), request)

    app.add_exception_handler(DomainError, _handle)
