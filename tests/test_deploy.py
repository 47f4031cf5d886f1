"""deploy/ is checked offline, without a cluster: the compose file against the compose specification, the
Kubernetes manifests against the API schemas (strict: no unknown fields), the image definition by hadolint,
the NATS cluster configuration by nats-server itself; and no real secret is in any of them."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.runtime.embedded import nats_server_binary

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
NATS_VARIABLES = {f"NATS_{n}_PASSWORD": "placeholder" for n in ("ADMIN", "RELAY", "DECISIONS", "SCHEDULING", "PUBLISHING")}


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _run(*command: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def test_the_compose_file_follows_the_compose_specification() -> None:
    checked = _run(_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_compose_file_runs_two_replicas_of_each_service_on_three_nats_nodes() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    for name in ("decisions", "scheduling", "publishing"):
        assert services[name]["deploy"]["replicas"] == 2
        assert services[name]["environment"]["COPRO_NATS_REPLICAS"] == "3"
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert {"nats-1", "nats-2", "nats-3", "postgres"} <= set(services)


def test_every_password_the_compose_file_needs_is_in_the_example_environment_as_a_placeholder() -> None:
    needed = set(re.findall(r"\$\{([A-Z_]+):\?", (DEPLOY / "compose.yaml").read_text()))
    example = dict(line.split("=", 1) for line in (DEPLOY / "env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert needed <= set(example), sorted(needed - set(example))
    assert all("change-me" in value for value in example.values())


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_the_kubernetes_manifests_validate_strictly(manifest: Path) -> None:
    checked = _run(_tool("kubernetes-validate"), "--strict", "--quiet", str(manifest))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _documents() -> list[dict[str, object]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_every_service_is_probed_replicated_and_protected_by_a_disruption_budget() -> None:
    documents = _documents()
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}  # type: ignore[index]
    budgets = {d["metadata"]["name"] for d in documents if d["kind"] == "PodDisruptionBudget"}  # type: ignore[index]
    assert set(deployments) == {"copro-decisions", "copro-scheduling", "copro-publishing"}
    for name, deployment in deployments.items():
        spec = deployment["spec"]  # type: ignore[index]
        [container] = spec["template"]["spec"]["containers"]
        assert spec["replicas"] >= 2
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        assert name in budgets


def test_secrets_hold_placeholders_only() -> None:
    for secret in (d for d in _documents() if d["kind"] == "Secret"):
        values = list(secret.get("stringData", {}).values())  # type: ignore[attr-defined]
        values += [base64.b64decode(v).decode() for v in secret.get("data", {}).values()]  # type: ignore[attr-defined]
        assert values and all("CHANGE-ME" in v for v in values), secret["metadata"]


def test_the_image_definition_passes_hadolint() -> None:
    checked = _run(_tool("hadolint"), str(DEPLOY / "Dockerfile"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^USER 10001", text, re.M) and "HEALTHCHECK" in text


def _nats_conf_is_valid(text: str, tmp_path: Path) -> None:
    conf = tmp_path / "cluster.conf"
    conf.write_text(text)
    checked = _run(nats_server_binary(), "-t", "-c", str(conf), env={**os.environ, **NATS_VARIABLES,
                                                                       "NATS_SERVER_NAME": "nats-1"}, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_nats_cluster_configuration_is_valid(tmp_path: Path) -> None:
    _nats_conf_is_valid((DEPLOY / "nats" / "cluster.conf").read_text(), tmp_path)


def test_the_kubernetes_nats_configuration_is_the_cluster_configuration_with_its_routes(tmp_path: Path) -> None:
    [config] = [d for d in _documents() if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "nats-config"]  # type: ignore[index]
    text = config["data"]["cluster.conf"]  # type: ignore[index]
    _nats_conf_is_valid(text, tmp_path)
    as_compose = re.sub(r"nats-(\d)\.nats-cluster", lambda m: f"nats-{int(m[1]) + 1}", text)
    as_compose = as_compose.replace("(the pod's name: nats-0, nats-1, nats-2)", "(nats-1, nats-2, nats-3)")
    assert as_compose.strip() == (DEPLOY / "nats" / "cluster.conf").read_text().strip()
