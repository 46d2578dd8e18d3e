"""The list-and-watch decision alone (pure): what a sweep describes, given the listing, the side
fingerprints and what the last full reads saw."""

from __future__ import annotations

from daemon.reconcile.list_watch import Links, Listed, Watch
from daemon.reconcile.side_reads import Sides
from daemon.state import AppRef
from tests.clock import FakeClock

APP = AppRef("111122223333", "eu-west-1", "app")
LINKS = Links(role="r", log_group="/g/app", vpcs=("vpc-1",))
SIDES = Sides(
    tags={APP.arn: "t1"},
    roles={"r": "r1"},
    log_groups=frozenset({"/g/app"}),
    routes={"vpc-1": "v1"},
)


def seen_once(status: str = "READY") -> tuple[Watch, FakeClock]:
    clock = FakeClock()
    watch = Watch(resync_seconds=100, clock=clock)
    assert watch.begin_sweep() is True  # the first sweep is a full resync
    watch.saw(Listed(APP, 3, status), LINKS, SIDES)
    return watch, clock


def test_only_a_changed_version_status_or_side_resource_makes_an_app_due() -> None:
    watch, _ = seen_once()
    assert watch.due([Listed(APP, 3, "READY")], SIDES, full=False) == ()
    assert watch.due([Listed(APP, 4, "READY")], SIDES, full=False) != ()
    assert watch.due([Listed(APP, 3, "RUNNING")], SIDES, full=False) != ()
    changed = [
        Sides(tags={}, roles=SIDES.roles, log_groups=SIDES.log_groups, routes=SIDES.routes),
        Sides(tags=SIDES.tags, roles={"r": "r2"}, log_groups=SIDES.log_groups, routes=SIDES.routes),
        Sides(tags=SIDES.tags, roles=SIDES.roles, log_groups=frozenset(), routes=SIDES.routes),
        Sides(tags=SIDES.tags, roles=SIDES.roles, log_groups=SIDES.log_groups, routes={}),
    ]
    for sides in changed:
        assert watch.due([Listed(APP, 3, "READY")], sides, full=False) == (Listed(APP, 3, "READY"),)


def test_the_resync_period_and_time_driven_rules_make_apps_due() -> None:
    watch, clock = seen_once("RUNNING")
    running = Listed(APP, 3, "RUNNING")
    assert watch.begin_sweep() is False
    assert watch.due([running], SIDES, full=False) == ()
    assert watch.due([running], SIDES, full=False, running_too=True) == (running,)
    clock.now = 100
    assert watch.begin_sweep() is True


def test_a_new_or_forgotten_app_is_due_and_the_gone_are_dropped() -> None:
    watch, _ = seen_once()
    other = Listed(AppRef(APP.account, APP.region, "other"), 1, "READY")
    assert watch.due([other], SIDES, full=False) == (other,)
    watch.forget(APP)
    assert watch.due([Listed(APP, 3, "READY")], SIDES, full=False) != ()
    watch.saw(Listed(APP, 3, "READY"), LINKS, SIDES)
    watch.retain(APP.account, APP.region, [])
    assert watch.links([APP]) == ()


def test_links_come_from_the_detail() -> None:
    detail = {
        "ServiceExecutionRole": "arn:aws:iam::111122223333:role/path/r",
        "CloudWatchLoggingOptionDescriptions": [
            {"LogStreamARN": "arn:aws:logs:eu-west-1:111122223333:log-group:/g/app:log-stream:s"}
        ],
        "ApplicationConfigurationDescription": {
            "VpcConfigurationDescriptions": [{"VpcId": "vpc-1", "SubnetIds": ["subnet-1"]}]
        },
    }
    assert Links.from_detail(detail) == LINKS
