"""Custom search attributes. They carry ids and codes only: Temporal never encrypts them."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.common import SearchAttributeKey

HR_ACTION_TYPE = SearchAttributeKey.for_keyword("HrActionType")
HR_STAGE = SearchAttributeKey.for_keyword("HrStage")
HR_EMPLOYEE_ID = SearchAttributeKey.for_keyword("HrEmployeeId")
HR_CLASS_CODE = SearchAttributeKey.for_keyword("HrClassCode")
HR_DEPARTMENT = SearchAttributeKey.for_keyword("HrDepartment")
HR_PENDING_APPROVERS = SearchAttributeKey.for_keyword_list("HrPendingApprovers")
HR_DUE_AT = SearchAttributeKey.for_datetime("HrDueAt")

ALL_KEYS: list[SearchAttributeKey[Any]] = [
    HR_ACTION_TYPE,
    HR_STAGE,
    HR_EMPLOYEE_ID,
    HR_CLASS_CODE,
    HR_DEPARTMENT,
    HR_PENDING_APPROVERS,
    HR_DUE_AT,
]

_CLI_TYPES = {"KEYWORD": "Keyword", "KEYWORD_LIST": "KeywordList", "DATETIME": "Datetime"}


def indexed_types() -> dict[str, IndexedValueType.ValueType]:
    """Name -> indexed value type, for ``OperatorService.AddSearchAttributes``."""
    return {key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in ALL_KEYS}


def dev_server_flags() -> list[str]:
    """``--search-attribute NAME=TYPE`` flags for ``temporal server start-dev``."""
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type.name]}"]
    return flags
