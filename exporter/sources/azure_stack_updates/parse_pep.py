"""The privileged endpoint's ``Get-AzureStackUpdateStatus`` XML as the same step tree (§1.7).

Not fetched by the exporter (the PEP needs a PowerShell JEA session on an ERCS VM); this
parser lets a PEP-side script's output be read with the same model, and documents how the
ECE action plan maps onto the REST step tree: ``Action``/``Step`` elements become steps and a
``Task``'s child ``Action`` contributes its steps to the enclosing step. The nesting of child
plans under ``Task`` is unconfirmed; the parser is lenient about it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from exporter.core.errors import PayloadError
from exporter.core.timefmt import parse_iso
from exporter.sources.azure_stack_updates.model import Step


def parse_update_status(text: str) -> Step:
    """The root ``Action`` element as a Step; PayloadError for anything else."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise PayloadError("update status XML must not carry a DTD")
    try:
        root = ET.fromstring(text)  # noqa: S314 - DTDs rejected above
    except (ET.ParseError, ValueError) as exc:  # ValueError: a lone surrogate cannot be UTF-8
        raise PayloadError(f"update status is not XML: {type(exc).__name__}") from exc
    if root.tag != "Action":
        raise PayloadError(f"update status root is <{root.tag}>, not <Action>")
    return _step(root, root.get("Type", "Action"))


def _step(element: ET.Element, name: str) -> Step:
    children: list[Step] = []
    for steps in element.findall("Steps"):
        children.extend(_step(child, child.get("Name", "")) for child in steps.findall("Step"))
    for task in element.findall("Task"):
        for action in task.findall("Action"):
            children.extend(_step(action, "").steps)

    return Step(
        name=name,
        status=element.get("Status", ""),
        start=_when(element, "StartTimeUtc"),
        end=_when(element, "EndTimeUtc"),
        steps=tuple(children),
    )


def _when(element: ET.Element, key: str) -> datetime | None:
    try:
        return parse_iso(element.get(key))
    except ValueError:
        return None
