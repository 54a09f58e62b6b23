"""Task 8: the dev and prod overlays, rendered by kustomize, validated, and held to the policies
every environment shares (pinned images, resources, probes, a PDB that never blocks a drain)."""

from __future__ import annotations

import re

import pytest

from .conftest import Manifest, container, render, the
from .test_manifests import assert_schema_valid, check_resources, quantity

IMAGE = "katas/greeter"


def image_tag(manifests: list[Manifest]) -> str:
    image: str = container(manifests)["image"]
    name, _, tag = image.rpartition(":")
    assert name == IMAGE, f"the image is {IMAGE}, retagged by the overlay"
    return tag


def kinds(manifests: list[Manifest]) -> list[str]:
    return sorted(m["kind"] for m in manifests)


def min_replicas(manifests: list[Manifest]) -> int:
    """The fewest pods the environment runs: the HPA's floor, or the Deployment's count."""
    hpas = [m for m in manifests if m["kind"] == "HorizontalPodAutoscaler"]
    if hpas:
        assert "replicas" not in the(manifests, "Deployment")["spec"], "HPA and replicas fight"
        return int(hpas[0]["spec"]["minReplicas"])
    return int(the(manifests, "Deployment")["spec"].get("replicas", 1))


def check_policies(manifests: list[Manifest]) -> None:
    """What any environment must hold to: valid objects, a tagged image, resources, probes,
    and a disruption budget that still lets a node drain at the smallest pod count."""
    for manifest in manifests:
        assert_schema_valid(manifest)
    tag = image_tag(manifests)
    assert tag and tag != "latest", "a tag that names one build, never latest"
    app = container(manifests)
    check_resources(app["resources"])
    assert {"startupProbe", "livenessProbe", "readinessProbe"} <= app.keys()
    budget = the(manifests, "PodDisruptionBudget")["spec"]
    fewest = min_replicas(manifests)
    evictable = budget.get("maxUnavailable", fewest - int(budget.get("minAvailable", 0)))
    assert evictable >= 1, "this budget would block every node drain"


def requests(manifests: list[Manifest], kind: str) -> float:
    return quantity(container(manifests)["resources"]["requests"][kind])


def limits(manifests: list[Manifest], kind: str) -> float:
    return quantity(container(manifests)["resources"]["limits"][kind])


@pytest.mark.task(8)
def test_dev_runs_one_small_pod_of_the_dev_image() -> None:
    dev = render("dev")
    check_policies(dev)
    assert image_tag(dev) == "dev"
    assert the(dev, "Deployment")["spec"]["replicas"] == 1
    assert kinds(dev) == ["ConfigMap", "Deployment", "PodDisruptionBudget", "Secret", "Service"]


@pytest.mark.task(8)
def test_dev_asks_for_less_than_base() -> None:
    dev, base = render("dev"), render("base")
    for kind in ("cpu", "memory"):
        assert requests(dev, kind) < requests(base, kind)
    assert limits(dev, "memory") < limits(base, "memory")
    assert (requests(dev, "cpu"), requests(dev, "memory")) == (0.05, 96 * 2**20)


@pytest.mark.task(8)
def test_prod_runs_a_pinned_release_on_3_to_12_pods() -> None:
    prod = render("prod")
    check_policies(prod)
    assert re.fullmatch(r"\d+\.\d+\.\d+", image_tag(prod)), "a release version, never dev"
    assert image_tag(prod) == "1.4.2"
    hpa = the(prod, "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 12)
    assert min_replicas(prod) == 3


@pytest.mark.task(8)
def test_prod_gives_each_pod_more_room_than_base() -> None:
    prod, base = render("prod"), render("base")
    for kind in ("cpu", "memory"):
        assert requests(prod, kind) > requests(base, kind)
        assert limits(prod, kind) > limits(base, kind)
    assert (requests(prod, "cpu"), limits(prod, "memory")) == (0.25, 512 * 2**20)


@pytest.mark.task(8)
def test_prod_leaves_the_secret_to_the_secret_store() -> None:
    prod = render("prod")
    assert "Secret" not in kinds(prod), "an apply must never overwrite the real token"
    [token] = container(prod)["env"]
    assert token["valueFrom"]["secretKeyRef"]["name"] == "greeter-secret"
    assert kinds(prod) == [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Service",
    ]


@pytest.mark.task(8)
@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlays_keep_the_bases_settings_and_security(overlay: str) -> None:
    rendered, base = render(overlay), render("base")
    assert the(rendered, "ConfigMap")["data"] == the(base, "ConfigMap")["data"]
    app, base_app = container(rendered), container(base)
    for key in ("securityContext", "startupProbe", "livenessProbe", "readinessProbe"):
        assert app[key] == base_app[key], f"{overlay} must not change {key}"
    assert image_tag(rendered) != image_tag(base), f"{overlay} sets its own image tag"
