"""The cluster path, checked as far as this machine can (no container engine, no Kubernetes):
the Zero to JupyterHub values use only keys the chart documents, their Python runs, and the
single-user image installs the README's locked environment on a pinned Docker Stacks base."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
VALUES = yaml.safe_load((K8S / "values.yaml").read_text(encoding="utf-8"))
DOCKERFILE = (K8S / "Dockerfile").read_text(encoding="utf-8")

# Keys of the jupyterhub chart's values, from its jsonschema
# (github.com/jupyterhub/zero-to-jupyterhub-k8s, jupyterhub/values.schema.yaml at commit
# 02dd73df01bdbb6d602fed21b0be12565ab38080; cull.* from jupyterhub/values.yaml). A key ending in
# "*" takes any content below it (the schema says additionalProperties: true there).
CHART_KEYS = {
    "hub.config.*", "hub.extraConfig.*", "hub.loadRoles.*", "hub.services.*", "hub.extraEnv.*",
    "hub.baseUrl", "hub.image.name", "hub.image.tag", "hub.db.type",
    "singleuser.image.name", "singleuser.image.tag", "singleuser.image.pullPolicy",
    "singleuser.cmd", "singleuser.defaultUrl", "singleuser.extraEnv.*", "singleuser.startTimeout",
    "singleuser.storage.type", "singleuser.storage.capacity", "singleuser.storage.homeMountPath",
    "singleuser.memory.limit", "singleuser.memory.guarantee",
    "singleuser.cpu.limit", "singleuser.cpu.guarantee",
    "proxy.https.enabled", "proxy.https.type", "proxy.https.hosts",
    "proxy.https.letsencrypt.contactEmail",
    "cull.enabled", "cull.timeout", "cull.every",
}


def key_paths(tree: dict, prefix: str = "") -> list[str]:
    """Dotted paths of the values, stopping where the chart accepts free-form content."""
    paths = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if f"{path}.*" in CHART_KEYS:
            paths.append(f"{path}.*")
        elif isinstance(value, dict):
            paths += key_paths(value, f"{path}.")
        else:
            paths.append(path)
    return paths


def test_values_use_only_keys_the_chart_documents():
    unknown = [p for p in key_paths(VALUES) if p not in CHART_KEYS]
    assert not unknown, f"not in the chart's values schema: {unknown}"


def test_key_paths_catches_a_misspelt_key():
    assert key_paths({"singleuser": {"defaultURL": "/lab"}}) == ["singleuser.defaultURL"]
    assert "singleuser.defaultURL" not in CHART_KEYS


def fake_spawner(*groups: str) -> SimpleNamespace:
    user = SimpleNamespace(groups=[SimpleNamespace(name=g) for g in groups])
    return SimpleNamespace(user=user, environment={})


def test_extra_config_gives_trainees_no_grading_tools():
    c = SimpleNamespace(KubeSpawner=SimpleNamespace())
    for name, source in VALUES["hub"]["extraConfig"].items():
        exec(compile(source, name, "exec"), {"c": c})
    hook = c.KubeSpawner.pre_spawn_hook

    trainee, instructor = fake_spawner("nbgrader-upstream"), fake_spawner("formgrade-upstream")
    hook(trainee)
    hook(instructor)
    trainee_dirs = trainee.environment["JUPYTER_CONFIG_PATH"].split(":")
    instructor_dirs = instructor.environment["JUPYTER_CONFIG_PATH"].split(":")
    assert trainee_dirs[0] == "/opt/upstream/deploy/jupyter/trainee"
    assert "/opt/upstream/deploy/jupyter/trainee" not in instructor_dirs
    for d in trainee_dirs:  # the image has the checkout at /opt/upstream
        assert (ROOT / Path(d).relative_to("/opt/upstream")).is_dir(), d


def test_groups_and_exchange_are_consistent():
    config = VALUES["hub"]["config"]
    groups = config["JupyterHub"]["load_groups"]
    course = VALUES["singleuser"]["extraEnv"]["UPSTREAM_COURSE_ID"]
    assert set(groups) == {f"formgrade-{course}", f"nbgrader-{course}"}
    allowed = set(config["Authenticator"]["allowed_users"])
    assert all(set(g["users"]) <= allowed for g in groups.values())
    service_url = VALUES["hub"]["services"]["ngshare"]["url"]
    assert VALUES["singleuser"]["extraEnv"]["UPSTREAM_NGSHARE_URL"] == (
        f"{service_url}/services/ngshare")
    assert VALUES["singleuser"]["defaultUrl"] == "/lab"


def test_image_is_a_pinned_docker_stacks_base():
    base = re.search(r"^FROM (\S+)", DOCKERFILE, re.M).group(1)
    assert re.fullmatch(r"quay\.io/jupyter/[a-z-]+-notebook:\d{4}-\d{2}-\d{2}", base), base


def test_image_installs_the_locked_environment_and_the_course_as_a_package():
    # exactly the locked versions (as `make install`), then the course package, not editable:
    # the image keeps no checkout (tests/test_trainee_material.py checks its build context)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"uv pip sync .*requirements\.lock", makefile)
    assert re.search(r"uv pip sync .*deps\.txt", DOCKERFILE)
    assert "grep -v '^-e ' /tmp/upstream/requirements.lock" in DOCKERFILE
    assert re.search(r"uv pip install .*--no-deps /tmp/upstream", DOCKERFILE)
    assert "COPY . " not in DOCKERFILE
    # the values run the server from that environment, the image's user is not root
    assert VALUES["singleuser"]["cmd"] == ["/opt/upstream/.venv/bin/python", "-m", "course.serve"]
    assert re.findall(r"^USER (\S+)", DOCKERFILE, re.M)[-1] == "${NB_UID}"


def test_every_builder_sees_the_same_allow_list():
    """BuildKit reads Dockerfile.dockerignore, other builders the root .dockerignore: the same
    rules, so no builder sends the exercise sources."""
    def rules(path):
        return [line for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]

    assert rules(ROOT / ".dockerignore") == rules(K8S / "Dockerfile.dockerignore")
    assert rules(ROOT / ".dockerignore")[0] == "*" and "course/exercises/source" in rules(
        ROOT / ".dockerignore")


def test_the_final_image_copies_only_the_built_wheel_and_distribution():
    final = DOCKERFILE.split("\nFROM ")[-1]
    copies = re.findall(r"^COPY (.*)$", final, re.M)
    assert all(c.startswith(("--from=build /out/", "requirements.lock", "deploy/jupyter"))
               for c in copies), copies
