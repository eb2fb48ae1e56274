"""The one way ARM ids become identity labels (exporter.core.identity)."""

from __future__ import annotations

import pytest

from exporter.core.identity import ResourceIdentity, normalise_resource_id, resource_identity

CLUSTER = (
    " /subscriptions/9E8D7C6B-5A49-4382-B1A0-F9E8D7C6B5A4/resourceGroups/RG-AzLocal-AMS01"
    "/providers/Microsoft.AzureStackHCI/clusters/AZL-AMS01/ "
)


def test_cluster_id_gives_lowercased_identity_labels() -> None:
    ident = resource_identity(CLUSTER)
    assert ident == ResourceIdentity(
        "/subscriptions/9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4/resourcegroups/rg-azlocal-ams01"
        "/providers/microsoft.azurestackhci/clusters/azl-ams01",
        "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4",
        "rg-azlocal-ams01",
        "azl-ams01",
    )
    assert ident.labels == ("9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4", "rg-azlocal-ams01", "azl-ams01")


@pytest.mark.parametrize(
    ("resource_id", "expected"),
    [
        ("/subscriptions/ABC", ("abc", "", "abc")),  # a subscription: no resource group
        ("/subscriptions/abc/resourceGroups/RG", ("abc", "rg", "rg")),
        # `resourcegroups` further down is a name, not the resource group position.
        (
            "/subscriptions/s/resourcegroups/g/providers/x.y/things/resourcegroups",
            ("s", "g", "resourcegroups"),
        ),
        ("/providers/Microsoft.Update.Admin", ("", "", "microsoft.update.admin")),
        ("", ("", "", "")),
        ("  ", ("", "", "")),
    ],
)
def test_identity_labels_come_from_the_arm_positions(
    resource_id: str, expected: tuple[str, str, str]
) -> None:
    assert resource_identity(resource_id).labels == expected


def test_normal_form_is_idempotent_and_collapses_slashes() -> None:
    once = normalise_resource_id("//Subscriptions//S/ResourceGroups/G/")
    assert once == "/subscriptions/s/resourcegroups/g"
    assert normalise_resource_id(once) == once
