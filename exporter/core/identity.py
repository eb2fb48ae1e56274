"""Identity labels of an Azure resource, derived from its ARM resource id the same way in every source.

Every series about an Azure resource carries ``subscription_id``, ``resource_group`` (when the
resource lives in one) and a short name label of the source's choice (``vmss``, ``stamp``,
``machine``), all lowercased; one ``…_info`` series per resource adds the full ``resource_id``.
Long ids never sit on every series (docs/metrics.md, "Label schema").

ARM ids are case-insensitive and APIs disagree on their case (``resourceGroups`` vs
``resourcegroups``, upper-case names from Resource Graph); without one normal form the same
resource would be two series.
"""

from __future__ import annotations

from dataclasses import dataclass

# Label names of the two identity labels every resource-keyed family has (the name label is the
# source's own: a family about scale sets calls it `vmss`, one about machines `machine`).
SUBSCRIPTION_ID = "subscription_id"
RESOURCE_GROUP = "resource_group"


@dataclass(frozen=True, slots=True)
class ResourceIdentity:
    resource_id: str  # the normalised id: lowercased, no surrounding blanks, no trailing slash
    subscription_id: str  # "" when the id names no subscription
    resource_group: str  # "" for subscription-level resources
    name: str  # the last path segment: the resource's own name

    @property
    def labels(self) -> tuple[str, str, str]:
        """(subscription_id, resource_group, name): the values of the identity labels."""
        return self.subscription_id, self.resource_group, self.name


def normalise_resource_id(resource_id: str) -> str:
    """The one form an ARM id takes in a label: stripped, lowercased, single slashes, no trailing slash."""
    parts = [p for p in resource_id.strip().lower().split("/") if p]
    return "/" + "/".join(parts) if parts else ""


def resource_identity(resource_id: str) -> ResourceIdentity:
    """Identity labels of an ARM resource id (any case; ``/subscriptions/{s}/resourceGroups/{g}/…/{name}``).

    The segment after ``subscriptions`` and after ``resourcegroups`` are matched at their ARM
    positions only (a resource named ``resourcegroups`` further down does not confuse it).
    """
    normalised = normalise_resource_id(resource_id)
    parts = normalised.split("/")[1:] if normalised else []
    subscription = parts[1] if len(parts) >= 2 and parts[0] == "subscriptions" else ""
    group = parts[3] if subscription and len(parts) >= 4 and parts[2] == "resourcegroups" else ""
    return ResourceIdentity(normalised, subscription, group, parts[-1] if parts else "")
