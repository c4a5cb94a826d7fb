"""The compose stack and the worker image, checked without Docker.

docker-compose.yml, Dockerfile and .dockerignore are parsed and held to what the rest of the
project says: the search attributes in workflows/search_attributes.py, the console scripts and
packages in pyproject.toml, the example files the stack mounts.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from workflows.search_attributes import cli_types

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict] = COMPOSE["services"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

SCHEMA_DIRS = {
    "temporal": "/etc/temporal/schema/postgresql/v12/temporal/versioned",
    "visibility": "/etc/temporal/schema/postgresql/v12/visibility/versioned",
}

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
INTERPOLATION = re.compile(r"^\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}$")
SECRET_KEY = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY", re.IGNORECASE)


# --- helpers -------------------------------------------------------------------------------


def env(service: str) -> dict[str, str]:
    raw = SERVICES[service].get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    return {key: None if value is None else str(value) for key, value in raw.items()}


def interpolation(value: str) -> re.Match[str]:
    match = INTERPOLATION.match(value)
    assert match, f"{value!r} is not a ${{VARIABLE}} from the environment"
    return match


def as_run_without_environment(value: str) -> str:
    """What compose makes of a value when no variable is set, for ${X:-default} forms."""
    match = INTERPOLATION.match(value)
    if not match:
        return value
    assert match["op"] in (":-", "-"), f"{value!r} has no default"
    return match["arg"]


def script(service: str) -> str:
    command = SERVICES[service]["command"]
    assert isinstance(command, list) and command[:2] == ["/bin/sh", "-c"], command
    return command[2]


def script_lines(service: str) -> list[list[str]]:
    """The script's simple commands, split like the shell would (compose's $$ unescaped)."""
    lines = []
    for line in script(service).replace("$$", "$").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(shlex.split(line))
    return lines


def depends_on(service: str) -> dict[str, str]:
    raw = SERVICES[service].get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in raw.items()}


def bind_mounts(service: str) -> dict[str, dict]:
    """Bind mounts by container path: {'source': path as run without variables, 'read_only'}."""
    mounts = {}
    for volume in SERVICES[service].get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            if len(parts) < 2 or not parts[0].startswith((".", "/", "$")):
                continue
            source, target = parts[0], parts[1]
            read_only = len(parts) > 2 and "ro" in parts[2].split(",")
        else:
            if volume.get("type") != "bind":
                continue
            source, target = volume["source"], volume["target"]
            read_only = bool(volume.get("read_only"))
        mounts[target] = {"source": as_run_without_environment(source), "read_only": read_only}
    return mounts


def host_file(source: str) -> Path:
    return (ROOT / source).resolve()


def image_tag(service: str) -> tuple[str, str]:
    repository, _, tag = SERVICES[service]["image"].rpartition(":")
    return repository, tag


def published_ports(service: str) -> list[tuple[str, str, str]]:
    """(host ip, host port, container port) for every published port."""
    published = []
    for port in SERVICES[service].get("ports") or []:
        if isinstance(port, dict):
            published.append(
                (port.get("host_ip", ""), str(port.get("published", "")), str(port["target"]))
            )
            continue
        parts = str(port).split(":")
        if len(parts) == 3:
            published.append((parts[0], parts[1], parts[2]))
        elif len(parts) == 2:
            published.append(("", parts[0], parts[1]))
        else:
            published.append(("", "", parts[0]))
    return published


def option(args: list[str], name: str) -> str:
    assert name in args, f"{name} missing from {' '.join(args)}"
    return args[args.index(name) + 1]


def temporal_address_of_server() -> str:
    """host:port where the temporalio/server service answers on the compose network."""
    (server,) = [name for name in SERVICES if image_tag(name)[0] == "temporalio/server"]
    return f"{server}:{env(server).get('FRONTEND_GRPC_PORT', '7233')}"


# --- the Dockerfile ------------------------------------------------------------------------


def dockerfile_stages() -> list[dict]:
    """Each stage: name, base, and its instructions as (KEYWORD, arguments)."""
    text = (ROOT / "Dockerfile").read_text()
    logical, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    args: dict[str, str] = {}
    stages: list[dict] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not stages and "=" in rest:
            name, value = rest.split("=", 1)
            args[name] = value
        elif keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append({"name": name, "base": base, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((keyword, rest))
    return stages


STAGES = dockerfile_stages()
STAGES_BY_NAME = {stage["name"]: stage for stage in STAGES if stage["name"]}


def stage_chain(stage: dict) -> list[dict]:
    """The stage and the stages it is built FROM, nearest first."""
    chain = [stage]
    while chain[-1]["base"] in STAGES_BY_NAME:
        chain.append(STAGES_BY_NAME[chain[-1]["base"]])
    return chain


def last_instruction(stage: dict, keyword: str) -> str | None:
    for link in stage_chain(stage):
        for found, rest in reversed(link["instructions"]):
            if found == keyword:
                return rest
    return None


def pip_installs(stage: dict) -> list[str]:
    """The requirement arguments of every `pip install` in the stage and its ancestors."""
    requirements = []
    for link in stage_chain(stage):
        for keyword, rest in link["instructions"]:
            if keyword != "RUN" or "pip install" not in rest:
                continue
            after = rest.split("pip install", 1)[1].split("&&")[0]
            requirements += [word for word in shlex.split(after) if not word.startswith("-")]
    return requirements


def venv_source_stage(stage: dict) -> dict:
    """The stage a runtime stage copies /opt/venv from."""
    for link in stage_chain(stage):
        for keyword, rest in link["instructions"]:
            match = re.match(r"--from=(\S+)\s+/opt/venv\s", rest) if keyword == "COPY" else None
            if match:
                return STAGES_BY_NAME[match[1]]
    raise AssertionError(f"stage {stage['name']} copies no /opt/venv from a build stage")


def exec_form(instruction: str | None) -> list[str]:
    assert instruction, "no CMD or ENTRYPOINT"
    assert instruction.startswith("["), f"{instruction!r}: use the exec form so signals reach it"
    return yaml.safe_load(instruction)


def image_target_stage(service: str) -> dict:
    build = SERVICES[service]["build"]
    target = build.get("target") if isinstance(build, dict) else None
    return STAGES_BY_NAME[target] if target else STAGES[-1]


# --- Temporal ------------------------------------------------------------------------------


def test_server_is_the_plain_server_image_on_postgresql():
    server = env("temporal")
    assert image_tag("temporal")[0] == "temporalio/server"
    assert [name for name in SERVICES if "auto-setup" in SERVICES[name].get("image", "")] == []
    assert server["DB"] == "postgres12"
    assert image_tag(server["POSTGRES_SEEDS"])[0] == "postgres"
    assert server["DB_PORT"] == "5432"


def test_setup_jobs_use_admin_tools_of_the_servers_version():
    # The schema directories come from the admin-tools image: its version must be the server's.
    _, server_tag = image_tag("temporal")
    for job in ("temporal-schema", "temporal-namespace"):
        assert image_tag(job) == ("temporalio/admin-tools", server_tag)


@pytest.mark.parametrize("service", [name for name in SERVICES if "build" not in SERVICES[name]])
def test_pulled_images_are_pinned(service):
    repository, tag = image_tag(service)
    assert repository and tag and tag != "latest", SERVICES[service]["image"]


def test_postgresql_is_health_checked_and_keeps_its_data_in_a_named_volume():
    postgresql = SERVICES["postgresql"]
    assert "pg_isready" in " ".join(postgresql["healthcheck"]["test"])
    named = {
        volume.split(":")[1]: volume.split(":")[0]
        for volume in postgresql["volumes"]
        if isinstance(volume, str)
    }
    assert named.get("/var/lib/postgresql/data") in COMPOSE["volumes"]


@pytest.mark.parametrize(
    ("service", "dependency", "condition"),
    [
        ("temporal-schema", "postgresql", "service_healthy"),
        ("temporal", "temporal-schema", "service_completed_successfully"),
        ("temporal-namespace", "temporal", "service_healthy"),
        ("worker", "temporal-namespace", "service_completed_successfully"),
        ("temporal-ui", "temporal", "service_healthy"),
    ],
)
def test_startup_order(service, dependency, condition):
    assert depends_on(service).get(dependency) == condition


def test_services_waited_on_for_health_have_a_healthcheck():
    for service in SERVICES:
        for dependency, condition in depends_on(service).items():
            if condition == "service_healthy":
                assert "test" in SERVICES[dependency].get("healthcheck", {}), dependency


def test_one_shot_jobs_are_not_restarted_after_they_finish():
    jobs = {
        dependency
        for service in SERVICES
        for dependency, condition in depends_on(service).items()
        if condition == "service_completed_successfully"
    }
    assert jobs == {"temporal-schema", "temporal-namespace"}
    for job in jobs:
        assert SERVICES[job].get("restart", "no") == "no", job


def test_schema_job_creates_and_updates_the_databases_the_server_uses():
    server = env("temporal")
    commands = [args for args in script_lines("temporal-schema") if "temporal-sql-tool" in args]
    (tool,) = commands  # the shell function every step goes through
    assert option(tool, "--plugin") == server["DB"]
    assert option(tool, "--endpoint") == server["POSTGRES_SEEDS"]
    assert option(tool, "--port") == server["DB_PORT"]

    steps = [args for args in script_lines("temporal-schema") if args[0] == "sql"]
    for database, schema in (
        (server.get("DBNAME", "temporal"), "temporal"),
        (server.get("VISIBILITY_DBNAME", "temporal_visibility"), "visibility"),
    ):
        mine = [args for args in steps if option(args, "--database") == database]
        verbs = [args[3] for args in mine]
        assert verbs == ["create-database", "setup-schema", "update-schema"], database
        assert option(mine[1], "--version") == "0.0"
        assert option(mine[2], "--schema-dir") == SCHEMA_DIRS[schema]


def test_database_credentials_come_from_one_required_variable():
    passwords = [
        env("postgresql")["POSTGRES_PASSWORD"],
        env("temporal")["POSTGRES_PWD"],
        env("temporal-schema")["SQL_PASSWORD"],
    ]
    matches = [interpolation(value) for value in passwords]
    assert {match["name"] for match in matches} == {"POSTGRES_PASSWORD"}
    assert {match["op"] for match in matches} == {":?"}, "no default password"
    users = {
        env("postgresql")["POSTGRES_USER"],
        env("temporal")["POSTGRES_USER"],
        env("temporal-schema")["SQL_USER"],
    }
    assert len(users) == 1, users


def test_no_secret_is_written_in_the_compose_file():
    for service in SERVICES:
        for key, value in env(service).items():
            if not SECRET_KEY.search(key) or value is None:
                continue
            match = interpolation(value)
            assert match["op"] in (None, ":?", "?") or not match["arg"], f"{service}.{key}"


def test_server_dynamic_config_is_mounted_from_the_repository():
    path = Path(env("temporal")["DYNAMIC_CONFIG_FILE_PATH"])
    mounts = bind_mounts("temporal")
    (target,) = [target for target in mounts if path.is_relative_to(target)]
    source = host_file(mounts[target]["source"]) / path.relative_to(target)
    assert mounts[target]["read_only"]
    assert isinstance(yaml.safe_load(source.read_text()), dict), source


def test_namespace_job_registers_exactly_the_projects_search_attributes():
    registered = [
        args
        for args in script_lines("temporal-namespace")
        if args[:4] == ["temporal", "operator", "search-attribute", "create"]
    ]
    names = [option(args, "--name") for args in registered]
    assert len(names) == len(set(names)), names
    assert {option(args, "--name"): option(args, "--type") for args in registered} == cli_types()
    for args in registered:
        assert option(args, "--namespace") == env("worker")["TEMPORAL_NAMESPACE"]
        assert option(args, "--address") == temporal_address_of_server()


def test_namespace_job_creates_the_workers_namespace_and_tolerates_an_existing_one():
    text = script("temporal-namespace")
    (create,) = [
        shlex.split(call.replace("$$", "$"))
        for call in re.findall(r"temporal operator namespace create [^)\n]*", text)
    ]
    assert option(create, "--namespace") == env("worker")["TEMPORAL_NAMESPACE"]
    assert option(create, "--address") == temporal_address_of_server()
    assert "already exists" in text
    assert text.index("cluster health") < text.index("namespace create")


# --- the UI --------------------------------------------------------------------------------


def test_ui_talks_to_the_server_and_is_on_the_dev_servers_port():
    assert image_tag("temporal-ui")[0] == "temporalio/ui"
    assert env("temporal-ui")["TEMPORAL_ADDRESS"] == temporal_address_of_server()
    assert published_ports("temporal-ui") == [("127.0.0.1", "8233", "8080")]


def test_only_the_ui_and_the_frontend_are_published_and_only_on_loopback():
    published = {
        service: published_ports(service) for service in SERVICES if published_ports(service)
    }
    assert published == {
        "temporal": [("127.0.0.1", "7233", "7233")],
        "temporal-ui": [("127.0.0.1", "8233", "8080")],
    }


# --- the worker ----------------------------------------------------------------------------


def test_worker_connects_to_the_temporal_service():
    worker = env("worker")
    assert worker["TEMPORAL_ADDRESS"] == temporal_address_of_server()
    assert worker["TEMPORAL_NAMESPACE"] == "default"
    assert worker["TEMPORAL_TASK_QUEUE"] == "accessctl"


def test_worker_reads_the_catalog_from_a_read_only_mount_of_the_example_by_default():
    path = env("worker")["ACCESSCTL_CATALOG"]
    mount = bind_mounts("worker").get(path)
    assert mount, f"nothing is mounted at {path}"
    assert mount["read_only"]
    assert host_file(mount["source"]) == ROOT / "examples" / "catalog.yaml"
    assert host_file(mount["source"]).is_file()


def test_worker_runs_in_production_mode_with_azure_credentials_from_the_host():
    worker = env("worker")
    assert SERVICES["worker"]["restart"] == "unless-stopped"
    assert worker["LOG_FORMAT"] == "json"
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"):
        match = interpolation(worker[name])
        assert (match["name"], match["op"], match["arg"]) == (name, ":-", ""), name
    # Unset, the worker calls the real Microsoft Graph.
    assert as_run_without_environment(worker["GRAPH_BASE_URL"]) == ""
    assert interpolation(worker["GRAPH_BASE_URL"])["name"] == "GRAPH_BASE_URL"


def test_worker_image_is_the_dockerfiles_default_target():
    build = SERVICES["worker"]["build"]
    assert (ROOT / build["context"]).resolve() == ROOT
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    assert image_target_stage("worker") is STAGES[-1]


# --- the Graph emulator (demo profile) -----------------------------------------------------


def test_emulator_runs_only_under_the_demo_profile():
    assert SERVICES["graph-emulator"]["profiles"] == ["demo"]
    assert [name for name in SERVICES if SERVICES[name].get("profiles")] == ["graph-emulator"]


def test_emulator_is_built_from_the_repositorys_dockerfile_with_its_extras():
    build = SERVICES["graph-emulator"]["build"]
    assert (ROOT / build["context"]).resolve() == ROOT
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    stage = image_target_stage("graph-emulator")
    assert ".[emulator]" in pip_installs(venv_source_stage(stage))


def test_emulator_serves_the_example_tenant_on_the_compose_network():
    command = SERVICES["graph-emulator"]["command"]
    assert command[0] in PYPROJECT["project"]["scripts"]
    tenant = bind_mounts("graph-emulator").get(option(command, "--tenant"))
    assert tenant and tenant["read_only"]
    assert host_file(tenant["source"]) == ROOT / "examples" / "tenant.yaml"
    assert option(command, "--host") == "0.0.0.0"  # inside its container, for the worker


def test_documented_demo_graph_url_reaches_the_emulator():
    urls = re.findall(r"GRAPH_BASE_URL=(\S+)", COMPOSE_TEXT)
    assert urls, "the compose file documents no GRAPH_BASE_URL for the demo"
    command = SERVICES["graph-emulator"]["command"]
    for url in urls:
        parts = urlsplit(url)
        assert parts.hostname == "graph-emulator", url
        assert str(parts.port) == option(command, "--port"), url
        assert parts.path == "/v1.0", url


# --- the image -----------------------------------------------------------------------------


def test_worker_image_runs_the_worker():
    stage = STAGES[-1]
    command = exec_form(last_instruction(stage, "ENTRYPOINT") or last_instruction(stage, "CMD"))
    scripts = PYPROJECT["project"]["scripts"]
    assert command[0] in scripts, command
    assert scripts[command[0]] == "worker:main"


def test_worker_image_is_python_311_slim_and_not_root():
    stage = STAGES[-1]
    assert stage_chain(stage)[-1]["base"] == "python:3.11-slim"
    user = last_instruction(stage, "USER")
    assert user and user.split(":")[0] not in ("root", "0"), user


def test_worker_image_installs_the_project_without_dev_extras():
    installed = pip_installs(venv_source_stage(STAGES[-1]))
    assert installed == ["."], installed


def test_dockerignore_lets_in_everything_pip_install_needs():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def excluded(name: str) -> bool:
        verdict = False
        for pattern in patterns:
            negated = pattern.startswith("!")
            body = pattern.lstrip("!").rstrip("/")
            if re.fullmatch(body.replace(".", r"\.").replace("*", ".*"), name):
                verdict = not negated
        return verdict

    setuptools = PYPROJECT["tool"]["setuptools"]
    needed = ["pyproject.toml", PYPROJECT["project"]["readme"]]
    needed += [f"{module}.py" for module in setuptools.get("py-modules", [])]
    needed += [
        pattern.rstrip("*").rstrip(".") for pattern in setuptools["packages"]["find"]["include"]
    ]
    assert [name for name in needed if excluded(name)] == []
    assert excluded("tests") and excluded(".env"), "the context should be an allow-list"
