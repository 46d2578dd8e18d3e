"""The per-application gauges (daemon/telemetry/app_gauges.py) expose what the labelled
prometheus_client Gauges they replaced exposed, less the series at 0 (issue 29 item 4: only
applications with something to say have series; compliant ones are counted per rule, account
and Region in flink_remediator_compliant_apps): same HELP/TYPE lines, the same series at 1.

The reference below is the old code (three Gauges and forget_application's removal) on a fresh
registry; both are fed the same calls and their /metrics text is compared line by line.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.openmetrics.exposition import (
    generate_latest as generate_openmetrics,
)
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from daemon.state import AppRef
from daemon.telemetry import metrics
from daemon.telemetry.app_gauges import AppRuleGauges

# An account no other test uses, so the shared REGISTRY's other series can be told apart.
ACCOUNT = "999988887777"
FAMILIES = (
    "flink_remediator_violation_active",
    "flink_remediator_fight_active",
    "flink_remediator_fix_deferred",
)
COMPLIANT = "flink_remediator_compliant_apps"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
# The HELP texts of the replaced Gauges, verbatim: dashboards and docs quote these metrics.
OLD_HELP = (
    "1 while a reconcile left drift of this rule in place on this application, else 0.",
    "1 while fixes of this rule on this application are suspended: another actor keeps undoing "
    "them (the per-application fix budget is spent), else 0.",
    "1 while a fix of this rule on this application waits for a disruption window (it would "
    "restart the running application), else 0.",
)
RULES = ("cloudwatch_logging", "vpc_public_route", "checkpointing", "encryption", "snapshots")
APPS = tuple(AppRef(ACCOUNT, region, f"app-{i}") for i in range(6) for region in ("eu-west-1",))
APPS += (AppRef(ACCOUNT, "us-east-1", "app-0"), AppRef(ACCOUNT, "us-east-1", 'quote"back\\slash'))
SETTERS: tuple[Callable[[AppRef, str, bool], None], ...] = (
    metrics.set_violation,
    metrics.set_fight,
    metrics.set_fix_deferred,
)


class OldGauges:
    """The Gauge-based code these helpers had before the compact collector."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["account", "region", "application", "rule"]
        self.gauges = [
            Gauge(name, help, labels, registry=self.registry)
            for name, help in zip(FAMILIES, OLD_HELP, strict=True)
        ]
        self.app_rules: dict[AppRef, set[str]] = {}

    def set(self, family: int, app: AppRef, rule: str, value: bool) -> None:
        self.app_rules.setdefault(app, set()).add(rule)
        labels = {"account": app.account, "region": app.region, "application": app.name}
        self.gauges[family].labels(**labels, rule=rule).set(1 if value else 0)

    def forget(self, app: AppRef) -> None:
        for rule in self.app_rules.pop(app, set()):
            for gauge in self.gauges:
                gauge.remove(app.account, app.region, app.name, rule)


def _lines(body: bytes) -> tuple[list[str], list[str]]:
    """(HELP/TYPE lines, sorted sample lines) of the three families, samples of ACCOUNT only.
    Sample order within a family is not part of the exposition (Prometheus does not keep it)."""
    meta, samples = [], []
    for line in body.decode().splitlines():
        if line.startswith("#") and any(f" {name} " in line for name in FAMILIES):
            meta.append(line)
        elif line.startswith(FAMILIES) and f'account="{ACCOUNT}"' in line:
            samples.append(line)
    return meta, sorted(samples)


def _series(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The three families' series of ACCOUNT, parsed by prometheus_client's text parser."""
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        if family.name in FAMILIES:
            assert family.type == "gauge"
            for sample in family.samples:
                if sample.labels["account"] == ACCOUNT:
                    found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _compliant(registry: CollectorRegistry) -> dict[tuple[str, str, str], float]:
    """flink_remediator_compliant_apps of ACCOUNT: (rule, account, region) -> count."""
    found = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == COMPLIANT and sample.labels["account"] == ACCOUNT:
                found[(sample.labels["rule"], ACCOUNT, sample.labels["region"])] = sample.value
    return found


def _old_compliant(old: OldGauges) -> dict[tuple[str, str, str], float]:
    """What the old gauges said at 0 for the violation, counted as the new gauge counts."""
    counts: dict[tuple[str, str, str], float] = {}
    for sample in next(iter(old.gauges[0].collect())).samples:
        if sample.value == 0 and sample.labels["account"] == ACCOUNT:
            key = (sample.labels["rule"], ACCOUNT, sample.labels["region"])
            counts[key] = counts.get(key, 0.0) + 1
    return counts


@pytest.fixture
def clean() -> Iterator[None]:
    for app in APPS:
        metrics.forget_application(app)
    yield
    for app in APPS:
        metrics.forget_application(app)


def test_a_scrape_sees_set_and_forget(clean: None) -> None:
    app, other = APPS[0], APPS[1]
    assert _series(metrics.render()[0]) == {}

    metrics.set_violation(app, "cloudwatch_logging", True)
    metrics.set_fix_deferred(app, "cloudwatch_logging", False)
    metrics.set_fight(other, "vpc_public_route", True)
    labels = (("account", ACCOUNT), ("application", app.name), ("region", app.region))
    other_labels = (("account", ACCOUNT), ("application", other.name), ("region", other.region))
    assert _series(metrics.render()[0]) == {
        (FAMILIES[0], (*labels, ("rule", "cloudwatch_logging"))): 1.0,
        (FAMILIES[1], (*other_labels, ("rule", "vpc_public_route"))): 1.0,
    }
    assert _compliant(metrics.REGISTRY) == {}
    metrics.set_violation(app, "cloudwatch_logging", False)  # compliant: its series is removed
    assert _series(metrics.render()[0]) == {
        (FAMILIES[1], (*other_labels, ("rule", "vpc_public_route"))): 1.0,
    }
    assert _compliant(metrics.REGISTRY) == {("cloudwatch_logging", ACCOUNT, app.region): 1.0}

    metrics.forget_application(app)
    assert _series(metrics.render()[0]) == {
        (FAMILIES[1], (*other_labels, ("rule", "vpc_public_route"))): 1.0,
    }
    assert _compliant(metrics.REGISTRY) == {}  # a forgotten app is not counted either
    metrics.forget_application(other)
    metrics.forget_application(other)  # twice is harmless
    assert _series(metrics.render()[0]) == {}


def _at_one(lines: tuple[list[str], list[str]]) -> tuple[list[str], list[str]]:
    return lines[0], [line for line in lines[1] if line.endswith(" 1.0")]


def test_the_exposition_is_the_old_gauges_series_at_one(clean: None) -> None:
    old = OldGauges()
    steps = random.Random(16)
    for step in range(600):
        if steps.random() < 0.05:
            app = steps.choice(APPS)
            metrics.forget_application(app)
            old.forget(app)
        else:
            family, app = steps.randrange(3), steps.choice(APPS)
            rule, value = steps.choice(RULES), steps.random() < 0.5
            SETTERS[family](app, rule, value)
            old.set(family, app, rule, value)
        if step % 50 == 49:
            for encode, accept in ((generate_latest, ""), (generate_openmetrics, OPENMETRICS)):
                expected = _at_one(_lines(encode(old.registry)))
                assert _lines(encode(metrics.REGISTRY)) == expected, (step, encode)
                # /metrics keeps the per-app text between changes: it must follow each one.
                assert _lines(metrics.render(accept)[0]) == expected, (step, accept)
                assert len(expected[0]) == 6 and expected[1], "nothing compared"
            assert _compliant(metrics.REGISTRY) == _old_compliant(old)
    old_series = _series(generate_latest(old.registry))
    assert _series(metrics.render()[0]) == {k: v for k, v in old_series.items() if v == 1.0}
    assert _old_compliant(old), "no compliant pair compared"


def test_a_scrape_is_one_exposition_in_either_format(clean: None) -> None:
    metrics.set_violation(APPS[0], "cloudwatch_logging", True)
    text, content_type = metrics.render()
    assert content_type.startswith("text/plain") and b"# EOF" not in text
    assert b"flink_remediator_reconciles_total" in text and _series(text)
    body, content_type = metrics.render(OPENMETRICS)
    assert content_type.startswith("application/openmetrics-text")
    assert body.count(b"# EOF") == 1 and body.endswith(b"# EOF\n")
    parsed = {f.name for f in openmetrics_families(body.decode())}  # type: ignore[no-untyped-call]
    assert {"flink_remediator_reconciles", FAMILIES[0]} <= parsed


def test_the_three_families_are_listed_even_without_series(clean: None) -> None:
    meta, samples = _lines(metrics.render()[0])
    assert meta == _lines(generate_latest(OldGauges().registry))[0]
    assert samples == []


def test_the_collector_rejects_what_a_registry_or_a_byte_cannot_hold() -> None:
    gauges = AppRuleGauges([("flink_remediator_violation_active", "dup")])
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        metrics.REGISTRY.register(gauges)
    with pytest.raises(IndexError):
        gauges.set(1, APPS[0], "r", True)
    with pytest.raises(ValueError, match="at most 4"):
        AppRuleGauges([(f"m{i}", "h") for i in range(5)])


def test_many_rules_and_applications_keep_their_own_cells() -> None:
    gauges = AppRuleGauges([("a", "A"), ("b", "B"), ("c", "C")])
    registry = CollectorRegistry()
    registry.register(gauges)
    apps = [AppRef(ACCOUNT, "eu-west-1", f"n{i}") for i in range(40)]
    for i, app in enumerate(apps):
        for r in range(i % 20):  # rows of different widths, columns added late
            gauges.set(r % 3, app, f"rule{r}", (i + r) % 2 == 0)
    for i, app in enumerate(apps):
        for r in range(20):
            labels = {"account": ACCOUNT, "region": "eu-west-1", "application": app.name}
            for family, name in enumerate("abc"):
                value = registry.get_sample_value(name, {**labels, "rule": f"rule{r}"})
                on = r < i % 20 and r % 3 == family and (i + r) % 2 == 0
                expected = 1.0 if on else None  # a series at 0 is not exposed
                assert value == expected, (i, r, name)
