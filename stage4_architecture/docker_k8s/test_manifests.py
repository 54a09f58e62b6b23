"""Tasks 6 and 7: the base manifests, rendered by kustomize, against the Kubernetes schema and
against the rules a reviewer (or an admission policy) would hold them to."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # no type information shipped
import pytest

from .conftest import Manifest, container, render, the

KUBERNETES_VERSION = "1.33.0"  # schemas bundled with kubernetes-validate: no cluster needed
UNITS = {"m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def quantity(value: str | int) -> float:
    """A Kubernetes quantity ("250m" CPU, "128Mi" bytes) as a number."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m|k|M|G|Ki|Mi|Gi)?", str(value))
    assert match, f"not a quantity: {value!r}"
    return float(match.group(1)) * UNITS[match.group(2) or ""]


def assert_schema_valid(manifest: Manifest) -> None:
    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        name = f"{manifest['kind']}/{manifest['metadata']['name']}"
        pytest.fail(f"{name} does not match the Kubernetes {KUBERNETES_VERSION} schema: {error}")


def pod_spec(manifests: list[Manifest]) -> Manifest:
    spec: Manifest = the(manifests, "Deployment")["spec"]["template"]["spec"]
    return spec


def pod_labels(manifests: list[Manifest]) -> dict[str, str]:
    labels: dict[str, str] = the(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    return labels


def selects_the_pods(selector: dict[str, str], manifests: list[Manifest]) -> bool:
    return bool(selector) and selector.items() <= pod_labels(manifests).items()


def settings(manifests: list[Manifest]) -> dict[str, str]:
    data: dict[str, str] = the(manifests, "ConfigMap")["data"]
    return data


def check_resources(resources: dict[str, Any]) -> None:
    """Requests and limits for CPU and memory, each request within its limit."""
    for kind in ("cpu", "memory"):
        request = quantity(resources["requests"][kind])
        limit = quantity(resources["limits"][kind])
        assert 0 < request <= limit, f"{kind}: request {request} must be > 0 and <= limit {limit}"


# --- task 6: the Deployment -------------------------------------------------------------------


@pytest.mark.task(6)
def test_the_deployment_matches_the_schema_and_leaves_replicas_to_the_hpa() -> None:
    deployment = the(render("base"), "Deployment")
    assert_schema_valid(deployment)
    assert "replicas" not in deployment["spec"], "the HPA owns the count"
    assert container(render("base"))["resources"], "the container needs its resources"


@pytest.mark.task(6)
def test_a_rollout_never_drops_below_the_wanted_count() -> None:
    strategy = the(render("base"), "Deployment")["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] in (0, "0%")
    assert strategy["rollingUpdate"]["maxSurge"] == 1


@pytest.mark.task(6)
@pytest.mark.parametrize(
    ("probe", "path"),
    [("startupProbe", "/startupz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")],
)
def test_each_probe_asks_its_own_endpoint_on_the_named_port(probe: str, path: str) -> None:
    app = container(render("base"))
    http_get = app[probe]["httpGet"]
    assert http_get["path"] == path
    assert http_get["port"] == "http" and {"name": "http", "containerPort": 8000} in app["ports"]


@pytest.mark.task(6)
def test_the_probe_timings_fit_the_service() -> None:
    app = container(render("base"))
    startup, liveness = app["startupProbe"], app["livenessProbe"]
    # A slow start must not be killed: the startup probe allows a minute at least.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60
    # One slow answer must not restart a pod: liveness gives up only after 3 failures.
    assert liveness["failureThreshold"] >= 3
    assert liveness["periodSeconds"] >= app["readinessProbe"]["periodSeconds"]


@pytest.mark.task(6)
def test_requests_and_limits_are_set() -> None:
    resources = container(render("base"))["resources"]
    check_resources(resources)
    assert quantity(resources["requests"]["memory"]) == 128 * 2**20
    assert quantity(resources["limits"]["memory"]) == 256 * 2**20


@pytest.mark.task(6)
def test_the_pod_runs_as_the_images_non_root_user_with_no_api_token() -> None:
    pod = pod_spec(render("base"))
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True
    assert (security["runAsUser"], security["runAsGroup"]) == (10001, 10001), "as the Dockerfile"
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False, "the app never calls the Kubernetes API"


@pytest.mark.task(6)
def test_the_container_cannot_escalate_or_write_its_root_filesystem() -> None:
    pod, app = pod_spec(render("base")), container(render("base"))
    security = app["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    # A read-only root still needs a writable /tmp: an emptyDir volume, mounted there.
    mounts = {m["mountPath"]: m["name"] for m in app["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


@pytest.mark.task(6)
def test_the_grace_period_is_explicit() -> None:
    assert pod_spec(render("base"))["terminationGracePeriodSeconds"] == 30


# --- task 7: Service, ConfigMap, HPA, PodDisruptionBudget -------------------------------------


@pytest.mark.task(7)
@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("Service", "spec"),
        ("ConfigMap", "data"),
        ("HorizontalPodAutoscaler", "spec"),
        ("PodDisruptionBudget", "spec"),
    ],
)
def test_each_object_matches_the_schema(kind: str, content: str) -> None:
    manifest = the(render("base"), kind)
    assert manifest.get(content), f"the {kind} has no {content}"
    assert_schema_valid(manifest)


@pytest.mark.task(7)
def test_the_service_sends_port_80_to_the_pods_named_port() -> None:
    manifests = render("base")
    spec = the(manifests, "Service")["spec"]
    assert spec.get("type", "ClusterIP") == "ClusterIP"
    assert selects_the_pods(spec["selector"], manifests)
    assert spec["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
    assert spec["publishNotReadyAddresses"] is False, "say it: unready pods get no traffic"


@pytest.mark.task(7)
def test_the_hpa_scales_the_deployment_on_cpu() -> None:
    manifests = render("base")
    hpa = the(manifests, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        the(manifests, "Deployment")["metadata"]["name"],
    )
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    [metric] = hpa["spec"]["metrics"]
    assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    # Utilisation is a share of the request: without a CPU request the HPA cannot act.
    assert quantity(container(manifests)["resources"]["requests"]["cpu"]) > 0


@pytest.mark.task(7)
def test_the_disruption_budget_lets_one_pod_go_at_a_time() -> None:
    manifests = render("base")
    spec = the(manifests, "PodDisruptionBudget")["spec"]
    assert the(manifests, "PodDisruptionBudget")["apiVersion"] == "policy/v1"
    assert selects_the_pods(spec["selector"]["matchLabels"], manifests)
    # maxUnavailable works for any count; minAvailable equal to the count blocks every drain.
    assert spec["maxUnavailable"] == 1 and "minAvailable" not in spec
    # An unready pod serves nothing, so evicting it costs nothing, even with the budget spent.
    assert spec["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


@pytest.mark.task(7)
def test_the_pod_environment_comes_from_a_generated_configmap_and_the_secret() -> None:
    manifests = render("base")
    configmap, secret = the(manifests, "ConfigMap"), the(manifests, "Secret")
    # A generated name carries a hash of the data: new settings roll the Deployment.
    assert re.fullmatch(r"greeter-config-[a-z0-9]{10}", configmap["metadata"]["name"])
    app = container(manifests)
    assert app["envFrom"] == [{"configMapRef": {"name": configmap["metadata"]["name"]}}]
    [token] = app["env"]
    reference = token["valueFrom"]["secretKeyRef"]
    assert reference["name"] == secret["metadata"]["name"]
    keys: dict[str, str] = secret.get("stringData") or secret.get("data") or {}
    assert reference["key"] in keys


@pytest.mark.task(7)
def test_the_settings_agree_with_the_pod() -> None:
    manifests = render("base")
    env, app, pod = settings(manifests), container(manifests), pod_spec(manifests)
    assert env["HOST"] == "0.0.0.0", "127.0.0.1 in a pod is unreachable for the kubelet's probes"
    assert int(env["PORT"]) == app["ports"][0]["containerPort"]
    assert float(env["GRACE_PERIOD_SECONDS"]) == pod["terminationGracePeriodSeconds"]
    budget = float(env["DRAIN_SECONDS"]) + float(env["SHUTDOWN_TIMEOUT_SECONDS"])
    assert budget < pod["terminationGracePeriodSeconds"], "the kubelet would SIGKILL mid-shutdown"
    # The drain must outlast the time readiness takes to notice, or traffic arrives at a
    # closed port: readiness fails within period x threshold of the SIGTERM.
    readiness = app["readinessProbe"]
    assert readiness["periodSeconds"] * readiness["failureThreshold"] < float(env["DRAIN_SECONDS"])
    warm_up = float(env["WARMUP_SECONDS"])
    startup = app["startupProbe"]
    assert 0 < warm_up < startup["periodSeconds"] * startup["failureThreshold"]
    assert env["GREETING"]
