"""Custom search attributes. They carry ids and codes only: Temporal never encrypts them."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey
from temporalio.api.enums.v1 import IndexedValueType

HR_ACTION_TYPE = SearchAttributeKey.for_keyword("HrActionType")
HR_STAGE = SearchAttributeKey.for_keyword("HrStage")
HR_EMPLOYEE_ID = SearchAttributeKey.for_keyword("HrEmployeeId")
HR_CLASS_CODE = SearchAttributeKey.for_keyword("HrClassCode")
HR_DEPARTMENT = SearchAttributeKey.for_keyword("HrDepartment")
HR_PENDING_APPROVERS = SearchAttributeKey.for_keyword_list("HrPendingApprovers")
HR_DUE_AT = SearchAttributeKey.for_datetime("HrDueAt")

ALL_KEYS = [
    HR_ACTION_TYPE,
    HR_STAGE,
    HR_EMPLOYEE_ID,
    HR_CLASS_CODE,
    HR_DEPARTMENT,
    HR_PENDING_APPROVERS,
    HR_DUE_AT,
]

_CLI_TYPES = {
    IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD: "Keyword",
    IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST: "KeywordList",
    IndexedValueType.INDEXED_VALUE_TYPE_DATETIME: "Datetime",
}


def indexed_types() -> dict[str, "IndexedValueType.ValueType"]:
    """Name -> indexed value type, for ``OperatorService.AddSearchAttributes``."""
    return {key.name: key.indexed_value_type for key in ALL_KEYS}


def dev_server_flags() -> list[str]:
    """``--search-attribute NAME=TYPE`` flags for ``temporal server start-dev``."""
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type]}"]
    return flags
