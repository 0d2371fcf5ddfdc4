"""The pure incident rules: lifecycles, derived statuses, indicator, impact windows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise, product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents import rules
from incidents.common.errors import InvalidTransition
from incidents.models import ComponentStatus, Impact, IncidentStatus, Indicator, MaintenanceStatus
from incidents.rules import ImpactWindow, Segment, StatusChange

OPERATIONAL = ComponentStatus.operational
MAINTENANCE = ComponentStatus.under_maintenance
DEGRADED = ComponentStatus.degraded_performance
PARTIAL = ComponentStatus.partial_outage
MAJOR = ComponentStatus.major_outage

INVESTIGATING = IncidentStatus.investigating
IDENTIFIED = IncidentStatus.identified
MONITORING = IncidentStatus.monitoring
RESOLVED = IncidentStatus.resolved
POSTMORTEM = IncidentStatus.postmortem
OPEN = (INVESTIGATING, IDENTIFIED, MONITORING)

SCHEDULED = MaintenanceStatus.scheduled
IN_PROGRESS = MaintenanceStatus.in_progress
VERIFYING = MaintenanceStatus.verifying
COMPLETED = MaintenanceStatus.completed
CANCELLED = MaintenanceStatus.cancelled


def _at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment on the day of the examples, 1 March 2026, in UTC."""
    return datetime(2026, 3, 1, hour, minute, second, tzinfo=UTC)


def _change(
    at: datetime, status: ComponentStatus, *, component_id: int = 1, order: int = 0
) -> StatusChange:
    return StatusChange(at=at, component_id=component_id, status=status, order=order)


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


# -- incident lifecycle: ordinary updates -------------------------------------------------

UPDATE_ALLOWED = list(product(OPEN, (*OPEN, RESOLVED)))
UPDATE_TO_POSTMORTEM = [(current, POSTMORTEM) for current in OPEN]
UPDATE_AFTER_RESOLVED = [(RESOLVED, new) for new in IncidentStatus]
UPDATE_AFTER_POSTMORTEM = [(POSTMORTEM, new) for new in IncidentStatus]


def test_update_table_covers_every_pair_exactly_once() -> None:
    groups = [UPDATE_ALLOWED, UPDATE_TO_POSTMORTEM, UPDATE_AFTER_RESOLVED, UPDATE_AFTER_POSTMORTEM]
    every_listed = [pair for group in groups for pair in group]
    assert sorted(every_listed) == sorted(product(IncidentStatus, IncidentStatus))


@pytest.mark.parametrize(("current", "new"), UPDATE_ALLOWED)
def test_update_moves_between_open_statuses_or_to_resolved(
    current: IncidentStatus, new: IncidentStatus
) -> None:
    rules.check_update(current, new)


@pytest.mark.parametrize(("current", "new"), UPDATE_AFTER_RESOLVED)
def test_update_after_resolution_asks_for_a_reopen(
    current: IncidentStatus, new: IncidentStatus
) -> None:
    with pytest.raises(InvalidTransition, match="resolved; reopen it explicitly") as refused:
        rules.check_update(current, new)
    assert refused.value.field == "status"
    assert (refused.value.status_code, refused.value.code) == (409, "invalid_transition")


@pytest.mark.parametrize(("current", "new"), UPDATE_AFTER_POSTMORTEM)
def test_update_after_postmortem_is_refused(current: IncidentStatus, new: IncidentStatus) -> None:
    message = "this incident has a postmortem; only the postmortem can still be edited"
    with pytest.raises(InvalidTransition, match=_exactly(message)) as refused:
        rules.check_update(current, new)
    assert refused.value.field == "status"


@pytest.mark.parametrize(("current", "new"), UPDATE_TO_POSTMORTEM)
def test_update_cannot_move_to_postmortem(current: IncidentStatus, new: IncidentStatus) -> None:
    with pytest.raises(InvalidTransition, match="added with the postmortem action") as refused:
        rules.check_update(current, new)
    assert refused.value.field == "status"


# -- incident lifecycle: resolve, reopen, postmortem, edits --------------------------------


@pytest.mark.parametrize("current", OPEN)
def test_an_open_incident_can_be_resolved(current: IncidentStatus) -> None:
    rules.check_resolve(current)


@pytest.mark.parametrize("current", [RESOLVED, POSTMORTEM])
def test_a_closed_incident_cannot_be_resolved_again(current: IncidentStatus) -> None:
    message = f"an incident that is {current.value} cannot be resolved"
    with pytest.raises(InvalidTransition, match=_exactly(message)):
        rules.check_resolve(current)


REOPEN_ALLOWED = [(RESOLVED, new) for new in OPEN]
REOPEN_NOT_RESOLVED = [
    (current, new)
    for current, new in product(IncidentStatus, IncidentStatus)
    if current != RESOLVED
]
REOPEN_TO_CLOSED = [(RESOLVED, RESOLVED), (RESOLVED, POSTMORTEM)]


def test_reopen_table_covers_every_pair_exactly_once() -> None:
    every_listed = [*REOPEN_ALLOWED, *REOPEN_NOT_RESOLVED, *REOPEN_TO_CLOSED]
    assert sorted(every_listed) == sorted(product(IncidentStatus, IncidentStatus))


@pytest.mark.parametrize(("current", "new"), REOPEN_ALLOWED)
def test_a_resolved_incident_reopens_to_an_open_status(
    current: IncidentStatus, new: IncidentStatus
) -> None:
    rules.check_reopen(current, new)


@pytest.mark.parametrize(("current", "new"), REOPEN_NOT_RESOLVED)
def test_only_a_resolved_incident_can_be_reopened(
    current: IncidentStatus, new: IncidentStatus
) -> None:
    message = f"only a resolved incident can be reopened; this one is {current.value}"
    with pytest.raises(InvalidTransition, match=_exactly(message)):
        rules.check_reopen(current, new)


@pytest.mark.parametrize(("current", "new"), REOPEN_TO_CLOSED)
def test_a_reopened_incident_must_move_to_an_open_status(
    current: IncidentStatus, new: IncidentStatus
) -> None:
    message = "a reopened incident moves to investigating, identified or monitoring"
    with pytest.raises(InvalidTransition, match=_exactly(message)) as refused:
        rules.check_reopen(current, new)
    assert refused.value.field == "status"


@pytest.mark.parametrize("current", [RESOLVED, POSTMORTEM])
def test_a_postmortem_follows_resolution(current: IncidentStatus) -> None:
    rules.check_postmortem(current)


@pytest.mark.parametrize("current", OPEN)
def test_no_postmortem_while_the_incident_is_open(current: IncidentStatus) -> None:
    message = f"a postmortem follows resolution; this incident is still {current.value}"
    with pytest.raises(InvalidTransition, match=_exactly(message)):
        rules.check_postmortem(current)


@pytest.mark.parametrize("status", [*OPEN, RESOLVED])
def test_updates_can_be_edited_until_a_postmortem(status: IncidentStatus) -> None:
    rules.check_update_edit(status)


def test_updates_are_frozen_once_there_is_a_postmortem() -> None:
    message = "this incident has a postmortem; only the postmortem can still be edited"
    with pytest.raises(InvalidTransition, match=_exactly(message)):
        rules.check_update_edit(POSTMORTEM)


# -- maintenance lifecycle ----------------------------------------------------------------

MAINTENANCE_ALLOWED = {
    (SCHEDULED, SCHEDULED),  # a progress note
    (SCHEDULED, IN_PROGRESS),
    (SCHEDULED, CANCELLED),
    (IN_PROGRESS, IN_PROGRESS),  # a progress note
    (IN_PROGRESS, VERIFYING),
    (IN_PROGRESS, COMPLETED),
    (VERIFYING, VERIFYING),  # a progress note
    (VERIFYING, IN_PROGRESS),
    (VERIFYING, COMPLETED),
}
MAINTENANCE_ALLOWED_LISTING = {
    SCHEDULED: "cancelled, in_progress",
    IN_PROGRESS: "completed, verifying",
    VERIFYING: "completed, in_progress",
    COMPLETED: "nothing",
    CANCELLED: "nothing",
}
MAINTENANCE_PAIRS = list(product(MaintenanceStatus, MaintenanceStatus))


@pytest.mark.parametrize(
    ("current", "new"), [pair for pair in MAINTENANCE_PAIRS if pair in MAINTENANCE_ALLOWED]
)
def test_maintenance_allowed_transitions(
    current: MaintenanceStatus, new: MaintenanceStatus
) -> None:
    rules.check_maintenance_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"), [pair for pair in MAINTENANCE_PAIRS if pair not in MAINTENANCE_ALLOWED]
)
def test_maintenance_refused_transitions(
    current: MaintenanceStatus, new: MaintenanceStatus
) -> None:
    message = (
        f"maintenance cannot go from {current.value} to {new.value} "
        f"(allowed: {MAINTENANCE_ALLOWED_LISTING[current]})"
    )
    with pytest.raises(InvalidTransition, match=_exactly(message)) as refused:
        rules.check_maintenance_transition(current, new)
    assert refused.value.field == "status"


def test_maintenance_refusals_count_sixteen_of_twenty_five_pairs() -> None:
    refused = [pair for pair in MAINTENANCE_PAIRS if pair not in MAINTENANCE_ALLOWED]
    assert (len(MAINTENANCE_PAIRS), len(refused)) == (25, 16)
    assert (COMPLETED, COMPLETED) in refused
    assert (CANCELLED, CANCELLED) in refused


@pytest.mark.parametrize("current", [SCHEDULED, IN_PROGRESS, VERIFYING])
def test_unfinished_maintenance_can_be_edited(current: MaintenanceStatus) -> None:
    rules.check_maintenance_edit(current)


@pytest.mark.parametrize("current", [COMPLETED, CANCELLED])
def test_finished_maintenance_can_no_longer_be_edited(current: MaintenanceStatus) -> None:
    message = f"a {current.value} maintenance can no longer be changed"
    with pytest.raises(InvalidTransition, match=_exactly(message)):
        rules.check_maintenance_edit(current)


# -- derived component status -------------------------------------------------------------

SEVERITY_ORDER = [OPERATIONAL, MAINTENANCE, DEGRADED, PARTIAL, MAJOR]


def test_worst_of_nothing_is_operational() -> None:
    assert rules.worst_component_status([]) == OPERATIONAL


@pytest.mark.parametrize(
    ("milder", "worse"),
    [
        (SEVERITY_ORDER[i], SEVERITY_ORDER[j])
        for i in range(len(SEVERITY_ORDER))
        for j in range(i + 1, len(SEVERITY_ORDER))
    ],
)
def test_worst_component_status_follows_severity(
    milder: ComponentStatus, worse: ComponentStatus
) -> None:
    assert rules.worst_component_status([milder, worse]) == worse
    assert rules.worst_component_status([worse, milder]) == worse
    assert rules.worst_component_status(iter([milder, worse, milder])) == worse


def test_worst_component_status_of_all_levels_is_major_outage() -> None:
    assert rules.worst_component_status(reversed(SEVERITY_ORDER)) == MAJOR


@pytest.mark.parametrize(
    ("manual", "from_open_incidents", "in_active_maintenance", "expected"),
    [
        (OPERATIONAL, [], False, OPERATIONAL),
        (DEGRADED, [], False, DEGRADED),
        (OPERATIONAL, [DEGRADED, PARTIAL], False, PARTIAL),
        (MAJOR, [DEGRADED], False, MAJOR),
        (OPERATIONAL, [OPERATIONAL], False, OPERATIONAL),
        (OPERATIONAL, [], True, MAINTENANCE),
        (OPERATIONAL, [OPERATIONAL], True, MAINTENANCE),
        (MAINTENANCE, [], False, MAINTENANCE),
        (OPERATIONAL, [DEGRADED], True, DEGRADED),
        (OPERATIONAL, [MAJOR], True, MAJOR),
        (PARTIAL, [], True, PARTIAL),
    ],
)
def test_derive_component_status_takes_the_worst(
    manual: ComponentStatus,
    from_open_incidents: list[ComponentStatus],
    in_active_maintenance: bool,
    expected: ComponentStatus,
) -> None:
    derived = rules.derive_component_status(
        manual=manual,
        from_open_incidents=iter(from_open_incidents),
        in_active_maintenance=in_active_maintenance,
    )
    assert derived == expected


# -- latest statuses within an incident ---------------------------------------------------


def test_latest_component_statuses_follow_time_then_order() -> None:
    changes = [
        _change(_at(10, 30), OPERATIONAL, component_id=2, order=5),
        _change(_at(10, 0), MAJOR, component_id=1, order=1),
        _change(_at(10, 20), PARTIAL, component_id=1, order=3),
        _change(_at(10, 20), DEGRADED, component_id=1, order=4),  # same moment, later order
        _change(_at(10, 10), DEGRADED, component_id=2, order=2),
    ]
    latest = rules.latest_component_statuses(changes)
    assert list(latest.items()) == [(1, DEGRADED), (2, OPERATIONAL)]


def test_latest_component_statuses_tie_goes_to_the_higher_order_not_the_list_position() -> None:
    changes = [
        _change(_at(10, 0), DEGRADED, order=9),
        _change(_at(10, 0), MAJOR, order=8),
    ]
    assert rules.latest_component_statuses(changes) == {1: DEGRADED}


def test_latest_component_statuses_of_no_changes_is_empty() -> None:
    assert rules.latest_component_statuses([]) == {}


# -- impact and page indicator ------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], Impact.none),
        ([OPERATIONAL], Impact.none),
        ([MAINTENANCE], Impact.none),
        ([DEGRADED], Impact.minor),
        ([PARTIAL], Impact.major),
        ([MAJOR], Impact.critical),
        ([DEGRADED, OPERATIONAL, PARTIAL], Impact.major),
        ([MAJOR, DEGRADED, MAINTENANCE], Impact.critical),
    ],
)
def test_impact_of_component_statuses(statuses: list[ComponentStatus], expected: Impact) -> None:
    assert rules.impact_of(iter(statuses)) == expected


@pytest.mark.parametrize(
    ("impacts", "statuses", "maintenance_in_progress", "expected"),
    [
        ([], [], False, Indicator.none),
        ([], [OPERATIONAL, OPERATIONAL], False, Indicator.none),
        ([Impact.none], [OPERATIONAL], False, Indicator.none),
        ([Impact.minor], [], False, Indicator.minor),
        ([Impact.major], [], False, Indicator.major),
        ([Impact.critical], [], False, Indicator.critical),
        ([Impact.minor, Impact.critical, Impact.major], [], False, Indicator.critical),
        ([], [DEGRADED], False, Indicator.minor),
        ([], [PARTIAL, DEGRADED], False, Indicator.major),
        ([], [MAJOR, OPERATIONAL], False, Indicator.critical),
        ([Impact.minor], [MAJOR], False, Indicator.critical),
        ([Impact.critical], [DEGRADED], False, Indicator.critical),
        ([], [OPERATIONAL], True, Indicator.maintenance),
        ([], [MAINTENANCE], False, Indicator.maintenance),
        ([Impact.none], [MAINTENANCE, OPERATIONAL], False, Indicator.maintenance),
        ([Impact.minor], [], True, Indicator.minor),
        ([], [DEGRADED, MAINTENANCE], True, Indicator.minor),
        ([], [MAJOR], True, Indicator.critical),
    ],
)
def test_page_indicator(
    impacts: list[Impact],
    statuses: list[ComponentStatus],
    maintenance_in_progress: bool,
    expected: Indicator,
) -> None:
    indicator = rules.page_indicator(
        open_incident_impacts=iter(impacts),
        component_statuses=iter(statuses),
        maintenance_in_progress=maintenance_in_progress,
    )
    assert indicator == expected


# -- impact windows: examples -------------------------------------------------------------


def test_a_single_window() -> None:
    changes = [_change(_at(10, 0), MAJOR, order=1), _change(_at(11, 30), OPERATIONAL, order=2)]
    windows = rules.impact_windows(changes)
    assert windows == {
        1: [ImpactWindow(1, _at(10, 0), _at(11, 30), (Segment(_at(10, 0), _at(11, 30), MAJOR),))]
    }
    window = windows[1][0]
    assert window.seconds_at(MAJOR, until=_at(23, 59)) == 5400.0
    assert window.seconds_at(PARTIAL, until=_at(23, 59)) == 0.0
    assert window.worst_status == MAJOR


def test_a_window_split_by_level_with_equal_neighbours_merged() -> None:
    changes = [
        _change(_at(10, 0), DEGRADED, order=1),
        _change(_at(10, 20), PARTIAL, order=2),
        _change(_at(10, 45, 30), MAJOR, order=3),
        _change(_at(11, 0), MAJOR, order=4),  # restated: merged into the same segment
        _change(_at(11, 10, 15), PARTIAL, order=5),
        _change(_at(11, 30), OPERATIONAL, order=6),
    ]
    [window] = rules.impact_windows(changes)[1]
    assert window == ImpactWindow(
        1,
        _at(10, 0),
        _at(11, 30),
        (
            Segment(_at(10, 0), _at(10, 20), DEGRADED),
            Segment(_at(10, 20), _at(10, 45, 30), PARTIAL),
            Segment(_at(10, 45, 30), _at(11, 10, 15), MAJOR),
            Segment(_at(11, 10, 15), _at(11, 30), PARTIAL),
        ),
    )
    until = _at(23, 0)
    assert window.seconds_at(DEGRADED, until=until) == 1200.0
    assert window.seconds_at(PARTIAL, until=until) == 1530.0 + 1185.0
    assert window.seconds_at(MAJOR, until=until) == 1485.0
    assert window.seconds_at(OPERATIONAL, until=until) == 0.0
    assert window.worst_status == MAJOR


def test_recovery_then_a_second_failure_makes_two_windows() -> None:
    changes = [
        _change(_at(10, 0), PARTIAL, order=1),
        _change(_at(10, 30), OPERATIONAL, order=2),
        _change(_at(12, 0), MAJOR, order=3),
        _change(_at(12, 15, 30), OPERATIONAL, order=4),
    ]
    assert rules.impact_windows(changes) == {
        1: [
            ImpactWindow(1, _at(10, 0), _at(10, 30), (Segment(_at(10, 0), _at(10, 30), PARTIAL),)),
            ImpactWindow(
                1, _at(12, 0), _at(12, 15, 30), (Segment(_at(12, 0), _at(12, 15, 30), MAJOR),)
            ),
        ]
    }


def test_a_component_still_down_has_an_open_window() -> None:
    changes = [_change(_at(10, 0), MAJOR, order=1), _change(_at(10, 40), PARTIAL, order=2)]
    [window] = rules.impact_windows(changes)[1]
    assert window == ImpactWindow(
        1,
        _at(10, 0),
        None,
        (Segment(_at(10, 0), _at(10, 40), MAJOR), Segment(_at(10, 40), None, PARTIAL)),
    )
    assert window.seconds_at(MAJOR, until=_at(11, 0)) == 2400.0
    assert window.seconds_at(PARTIAL, until=_at(11, 0)) == 1200.0
    assert window.seconds_at(PARTIAL, until=_at(12, 0, 1)) == 4801.0
    assert window.worst_status == MAJOR


def test_an_open_window_counts_nothing_before_its_last_segment_starts() -> None:
    [window] = rules.impact_windows([_change(_at(10, 0), MAJOR)])[1]
    assert window.seconds_at(MAJOR, until=_at(9, 0)) == 0.0
    assert window.seconds_at(MAJOR, until=_at(10, 0)) == 0.0


def test_resolution_closes_an_open_window_at_resolved_at() -> None:
    changes = [_change(_at(10, 0), MAJOR, order=1), _change(_at(10, 40), PARTIAL, order=2)]
    assert rules.impact_windows(changes, resolved_at=_at(11, 5, 9)) == {
        1: [
            ImpactWindow(
                1,
                _at(10, 0),
                _at(11, 5, 9),
                (
                    Segment(_at(10, 0), _at(10, 40), MAJOR),
                    Segment(_at(10, 40), _at(11, 5, 9), PARTIAL),
                ),
            )
        ]
    }


def test_resolution_leaves_a_window_that_already_closed_alone() -> None:
    changes = [_change(_at(10, 0), DEGRADED, order=1), _change(_at(10, 10), OPERATIONAL, order=2)]
    assert rules.impact_windows(changes, resolved_at=_at(12, 0)) == {
        1: [ImpactWindow(1, _at(10, 0), _at(10, 10), (Segment(_at(10, 0), _at(10, 10), DEGRADED),))]
    }


def test_resolution_at_the_moment_of_the_last_change_drops_the_empty_segment() -> None:
    changes = [_change(_at(10, 0), MAJOR, order=1), _change(_at(11, 0), PARTIAL, order=2)]
    assert rules.impact_windows(changes, resolved_at=_at(11, 0)) == {
        1: [ImpactWindow(1, _at(10, 0), _at(11, 0), (Segment(_at(10, 0), _at(11, 0), MAJOR),))]
    }


def test_changes_given_out_of_order_are_sorted_by_time() -> None:
    in_order = [
        _change(_at(10, 0), DEGRADED, order=1),
        _change(_at(10, 20), MAJOR, order=2),
        _change(_at(10, 50), OPERATIONAL, order=3),
        _change(_at(11, 0), PARTIAL, order=4),
    ]
    shuffled = [in_order[2], in_order[3], in_order[0], in_order[1]]
    expected = {
        1: [
            ImpactWindow(
                1,
                _at(10, 0),
                _at(10, 50),
                (
                    Segment(_at(10, 0), _at(10, 20), DEGRADED),
                    Segment(_at(10, 20), _at(10, 50), MAJOR),
                ),
            ),
            ImpactWindow(1, _at(11, 0), None, (Segment(_at(11, 0), None, PARTIAL),)),
        ]
    }
    assert rules.impact_windows(shuffled) == expected
    assert rules.impact_windows(in_order) == expected


def test_at_the_same_moment_the_later_order_wins() -> None:
    changes = [
        _change(_at(10, 0), PARTIAL, order=2),
        _change(_at(10, 0), MAJOR, order=1),
        _change(_at(10, 30), OPERATIONAL, order=3),
    ]
    assert rules.impact_windows(changes) == {
        1: [ImpactWindow(1, _at(10, 0), _at(10, 30), (Segment(_at(10, 0), _at(10, 30), PARTIAL),))]
    }


def test_a_zero_length_window_vanishes() -> None:
    changes = [_change(_at(10, 0), OPERATIONAL, order=2), _change(_at(10, 0), MAJOR, order=1)]
    assert rules.impact_windows(changes) == {}
    assert rules.impact_windows(changes, resolved_at=_at(11, 0)) == {}


def test_a_zero_length_level_inside_a_window_vanishes() -> None:
    changes = [
        _change(_at(10, 0), PARTIAL, order=1),
        _change(_at(10, 30), MAJOR, order=2),
        _change(_at(10, 30), OPERATIONAL, order=3),
    ]
    assert rules.impact_windows(changes) == {
        1: [ImpactWindow(1, _at(10, 0), _at(10, 30), (Segment(_at(10, 0), _at(10, 30), PARTIAL),))]
    }


def test_a_zero_length_recovery_does_not_split_the_window() -> None:
    """Back to operational and down again at the same moment: the component never recovered."""
    changes = [
        _change(_at(10, 0), PARTIAL, order=1),
        _change(_at(10, 30), OPERATIONAL, order=2),
        _change(_at(10, 30), MAJOR, order=3),
        _change(_at(11, 0), OPERATIONAL, order=4),
    ]
    assert rules.impact_windows(changes) == {
        1: [
            ImpactWindow(
                1,
                _at(10, 0),
                _at(11, 0),
                (
                    Segment(_at(10, 0), _at(10, 30), PARTIAL),
                    Segment(_at(10, 30), _at(11, 0), MAJOR),
                ),
            )
        ]
    }


def test_a_zero_length_recovery_between_equal_levels_merges_them() -> None:
    changes = [
        _change(_at(10, 0), MAJOR, order=1),
        _change(_at(10, 30), OPERATIONAL, order=2),
        _change(_at(10, 30), MAJOR, order=3),
    ]
    assert rules.impact_windows(changes, resolved_at=_at(11, 0)) == {
        1: [ImpactWindow(1, _at(10, 0), _at(11, 0), (Segment(_at(10, 0), _at(11, 0), MAJOR),))]
    }


def test_components_have_independent_windows() -> None:
    changes = [
        _change(_at(10, 0), PARTIAL, component_id=7, order=1),
        _change(_at(10, 20), MAJOR, component_id=7, order=2),
        _change(_at(10, 20), DEGRADED, component_id=3, order=2),
        _change(_at(10, 40), OPERATIONAL, component_id=3, order=3),
        _change(_at(11, 0), OPERATIONAL, component_id=7, order=4),
        _change(_at(11, 0), OPERATIONAL, component_id=5, order=4),
    ]
    assert rules.impact_windows(changes) == {
        7: [
            ImpactWindow(
                7,
                _at(10, 0),
                _at(11, 0),
                (
                    Segment(_at(10, 0), _at(10, 20), PARTIAL),
                    Segment(_at(10, 20), _at(11, 0), MAJOR),
                ),
            )
        ],
        3: [
            ImpactWindow(
                3, _at(10, 20), _at(10, 40), (Segment(_at(10, 20), _at(10, 40), DEGRADED),)
            )
        ],
    }


def test_operational_only_changes_make_no_window() -> None:
    changes = [
        _change(_at(10, 0), OPERATIONAL, order=1),
        _change(_at(10, 30), OPERATIONAL, order=2),
        _change(_at(10, 30), OPERATIONAL, component_id=2, order=2),
    ]
    assert rules.impact_windows(changes) == {}
    assert rules.impact_windows(changes, resolved_at=_at(11, 0)) == {}
    assert rules.impact_windows([]) == {}


def test_under_maintenance_set_by_an_incident_counts_as_a_window() -> None:
    changes = [_change(_at(10, 0), MAINTENANCE, order=1), _change(_at(10, 5), OPERATIONAL, order=2)]
    [window] = rules.impact_windows(changes)[1]
    assert window.worst_status == MAINTENANCE
    assert window.seconds_at(MAINTENANCE, until=_at(10, 5)) == 300.0


# -- impact windows: properties -----------------------------------------------------------

_BASE = _at(10, 0)
_MINUTES = 12  # changes fall on a small grid of minutes, so equal moments are common
_STATUS_WEIGHTS = (OPERATIONAL, OPERATIONAL, MAINTENANCE, DEGRADED, PARTIAL, MAJOR)


@st.composite
def _status_changes(draw: st.DrawFn) -> list[StatusChange]:
    """Changes of up to three components; orders are distinct, like update ids."""
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=_MINUTES),
                st.sampled_from((1, 2, 3)),
                st.sampled_from(_STATUS_WEIGHTS),
            ),
            max_size=20,
        )
    )
    orders = draw(st.permutations(range(len(rows))))
    return [
        StatusChange(
            at=_BASE + timedelta(minutes=minute), component_id=component, status=status, order=order
        )
        for (minute, component, status), order in zip(rows, orders, strict=True)
    ]


_resolved_after = st.none() | st.integers(min_value=_MINUTES, max_value=_MINUTES + 5).map(
    lambda minute: _BASE + timedelta(minutes=minute)
)


def _status_at(windows: list[ImpactWindow], moment: datetime) -> ComponentStatus:
    for window in windows:
        for segment in window.segments:
            if segment.start <= moment and (segment.end is None or moment < segment.end):
                return segment.status
    return OPERATIONAL


def _expected_status_at(
    changes: list[StatusChange], component_id: int, moment: datetime, resolved_at: datetime | None
) -> ComponentStatus:
    """Straight from the definition: the last change so far wins, nothing after resolution."""
    if resolved_at is not None and moment >= resolved_at:
        return OPERATIONAL
    so_far = [c for c in changes if c.component_id == component_id and c.at <= moment]
    return max(so_far, key=lambda c: (c.at, c.order)).status if so_far else OPERATIONAL


@settings(max_examples=150, deadline=None)
@given(changes=_status_changes(), resolved_at=_resolved_after)
def test_windows_are_ordered_apart_and_segments_tile_them(
    changes: list[StatusChange], resolved_at: datetime | None
) -> None:
    for component_id, windows in rules.impact_windows(changes, resolved_at=resolved_at).items():
        assert windows
        for earlier, later in pairwise(windows):
            assert earlier.end is not None
            assert earlier.end < later.start  # a real recovery lies between two windows
        for index, window in enumerate(windows):
            assert window.component_id == component_id
            assert window.segments
            assert window.segments[0].start == window.start
            assert window.segments[-1].end == window.end
            for before, after in pairwise(window.segments):
                assert before.end == after.start
                assert before.status != after.status  # equal neighbours are merged
            for position, segment in enumerate(window.segments):
                assert segment.status != OPERATIONAL
                if segment.end is None:
                    is_last = index == len(windows) - 1 and position == len(window.segments) - 1
                    assert is_last
                    assert resolved_at is None
                else:
                    assert segment.start < segment.end


@settings(max_examples=150, deadline=None)
@given(changes=_status_changes(), resolved_at=_resolved_after)
def test_windows_agree_with_the_status_at_every_moment(
    changes: list[StatusChange], resolved_at: datetime | None
) -> None:
    windows = rules.impact_windows(changes, resolved_at=resolved_at)
    for component_id in (1, 2, 3):
        for half_minutes in range(2 * (_MINUTES + 7)):
            moment = _BASE + timedelta(seconds=30 * half_minutes)
            expected = _expected_status_at(changes, component_id, moment, resolved_at)
            assert _status_at(windows.get(component_id, []), moment) == expected


@settings(max_examples=100, deadline=None)
@given(
    changes=_status_changes(), resolved_at=st.integers(min_value=_MINUTES, max_value=_MINUTES + 5)
)
def test_resolution_after_every_change_closes_every_window(
    changes: list[StatusChange], resolved_at: int
) -> None:
    resolved = _BASE + timedelta(minutes=resolved_at)
    for windows in rules.impact_windows(changes, resolved_at=resolved).values():
        for window in windows:
            assert window.end is not None
            assert window.end <= resolved


@settings(max_examples=100, deadline=None)
@given(changes=_status_changes(), resolved_at=_resolved_after)
def test_seconds_over_all_levels_sum_to_the_window_length(
    changes: list[StatusChange], resolved_at: datetime | None
) -> None:
    until = _BASE + timedelta(minutes=_MINUTES + 10)
    for windows in rules.impact_windows(changes, resolved_at=resolved_at).values():
        for window in windows:
            end = window.end if window.end is not None else until
            total = sum(window.seconds_at(status, until=until) for status in ComponentStatus)
            assert total == (end - window.start).total_seconds()
            assert total > 0


@settings(max_examples=100, deadline=None)
@given(changes=_status_changes(), resolved_at=_resolved_after)
def test_each_component_windows_depend_only_on_its_own_changes(
    changes: list[StatusChange], resolved_at: datetime | None
) -> None:
    together = rules.impact_windows(changes, resolved_at=resolved_at)
    for component_id in (1, 2, 3):
        own = [change for change in changes if change.component_id == component_id]
        alone = rules.impact_windows(own, resolved_at=resolved_at)
        assert together.get(component_id) == alone.get(component_id)
