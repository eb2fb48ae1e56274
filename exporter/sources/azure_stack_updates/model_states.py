"""Enum values of the Azure Stack Hub and Azure Local update APIs (reference §1.4-1.6, §2.2-2.4).

All are open-ended on the wire: an unknown value passes through as a label value and is counted
once as ``reason="unknown_enum"``. The tuples below are the values pre-created at 0.
"""

from __future__ import annotations

HUB = "hub"
LOCAL = "local"

# RegionUpdateState 2021-07-01 (2016-05-01 has a subset) and the Azure Local updateSummaries state.
HUB_LOCATION_STATES = (
    "Unknown",
    "UpdateAvailable",
    "PreparationInProgress",
    "PreparationFailed",
    "AppliedSuccessfully",
    "AppliedUpdateAvailableSuccessfully",
    "UpdateInProgress",
    "UpdateFailed",
    "NeedsAttention",
)
LOCAL_LOCATION_STATES = (
    "Unknown",
    "AppliedSuccessfully",
    "UpdateAvailable",
    "UpdateInProgress",
    "UpdateFailed",
    "NeedsAttention",
    "PreparationInProgress",
    "PreparationFailed",
)
HUB_UPDATE_STATES = (
    "Ready",
    "Downloading",
    "DownloadFailed",
    "HealthChecking",
    "HealthCheckFailed",
    "Preparing",
    "PreparationFailed",
    "Invalid",
    "HasPrerequisite",
    "Recalled",
    "Obsolete",
    "ReadyToInstall",
    "NotApplicableBecauseAnotherUpdateIsInProgress",
    "Installing",
    "Installed",
    "InstallationFailed",
)
LOCAL_UPDATE_STATES = (
    "HasPrerequisite",
    "Obsolete",
    "Ready",
    "NotApplicableBecauseAnotherUpdateIsInProgress",
    "Preparing",
    "Installing",
    "Installed",
    "PreparationFailed",
    "InstallationFailed",
    "Invalid",
    "Recalled",
    "Downloading",
    "DownloadFailed",
    "HealthChecking",
    "HealthCheckFailed",
    "ReadyToInstall",
    "ScanInProgress",
    "ScanFailed",
    "AdditionalContentRequired",
    "HealthCheckExpired",
    "PendingOEMValidation",
)
# An earlier revision of the 2016-05-01 spec had `Failed`: accepted quietly, not pre-created.
LEGACY_UPDATE_STATES = ("Failed",)
RUN_STATES = ("Unknown", "Succeeded", "InProgress", "Failed")
# Step status is a free string; these are the values seen (§1.6, §2.4) and are pre-created.
STEP_STATUSES = ("Success", "InProgress", "Error")
IN_PROGRESS_LOCATION_STATES = frozenset({"UpdateInProgress", "PreparationInProgress"})
# Updates in these states have never been run, so their runs are not read (saves a call each).
NO_RUN_STATES = frozenset(
    {
        "Ready",
        "HasPrerequisite",
        "Obsolete",
        "Recalled",
        "Invalid",
        "NotApplicableBecauseAnotherUpdateIsInProgress",
    }
)
FINISHED_RUN_STATES = frozenset({"Succeeded", "Failed"})
# Updates waiting for an operator (idle) or done for good (final) are counted per state and stamp
# rather than given a full state set each (about 20 series per update, mostly 0): only updates
# that are being worked on or failed (every other state, unknown ones included) get a state set,
# which is what the alerts read (docs/metrics.md, cardinality).
IDLE_UPDATE_STATES = (
    "Ready",
    "HasPrerequisite",
    "NotApplicableBecauseAnotherUpdateIsInProgress",
    "ReadyToInstall",
)
FINAL_UPDATE_STATES = ("Installed", "Obsolete", "Recalled", "Invalid")
COUNTED_UPDATE_STATES = IDLE_UPDATE_STATES + FINAL_UPDATE_STATES
MAX_STEP_DEPTH = 32
MAX_STEPS = 5000


def location_states(platform: str) -> tuple[str, ...]:
    return HUB_LOCATION_STATES if platform == HUB else LOCAL_LOCATION_STATES


def update_states(platform: str) -> tuple[str, ...]:
    return HUB_UPDATE_STATES if platform == HUB else LOCAL_UPDATE_STATES
