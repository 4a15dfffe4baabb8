"""The lock files: complete, consistent with pyproject.toml, CPU-only, and what is installed.

`make run`/`make test`/`make bench` install requirements.txt / requirements-test.txt /
requirements-bench.txt (and requirements-models.txt)
with --no-deps, so a requirement missing from a lock would simply not be installed, and a lock
that disagrees with pyproject.toml would test other versions than users get. `make lock`
rewrites them; these tests fail when someone edits one side only.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements"
LAYERS = {"app": [], "test": ["test", "postgres"], "bench": ["test", "bench", "postgres"]}
LOCK_FILES = {
    "app": "requirements.txt",
    "test": "requirements-test.txt",
    "bench": "requirements-bench.txt",
    "models": "requirements-models.txt",
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def locked(layer: str) -> dict[str, tuple[str, list[str]]]:
    """``{package: (version, hashes)}`` of one layer's lock file."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in (ROOT / LOCK_FILES[layer]).read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), [])
        elif line.strip().startswith("--hash=") and current is not None:
            pins[current][1].append(line.strip().removeprefix("--hash=").rstrip(" \\"))
    return pins


def project_requirements(extras: list[str]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = list(project["dependencies"])
    for extra in extras:
        listed += project["optional-dependencies"][extra]
    tools = (REQUIREMENTS / "tools.in").read_text(encoding="utf-8").splitlines()
    listed += [line for line in tools if line.strip() and not line.startswith("#")]
    return [Requirement(line) for line in listed]


@pytest.mark.parametrize("layer", LAYERS)
def test_every_requirement_is_locked_with_a_matching_version_and_hashes(layer: str) -> None:
    pins = locked(layer)
    for requirement in project_requirements(LAYERS[layer]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {LOCK_FILES[layer]}: run `make lock`"
        version, _ = pins[name]
        assert requirement.specifier.contains(Version(version), prereleases=True), (
            f"{LOCK_FILES[layer]} pins {name}=={version}, outside {requirement}: run `make lock`"
        )
    unhashed = [name for name, (_, hashes) in pins.items() if not hashes]
    assert not unhashed, f"pins without hashes in {LOCK_FILES[layer]}: {unhashed}"


def test_layers_agree_and_nest() -> None:
    app, test, bench = (locked(layer) for layer in LAYERS)
    assert set(app) <= set(test) <= set(bench)
    for name in bench:
        versions = {layer[name][0] for layer in (app, test, bench) if name in layer}
        assert len(versions) == 1, f"{name} is pinned to {versions} in different layers"


def test_torch_is_the_cpu_build_and_nothing_pulls_cuda() -> None:
    for layer in LAYERS:
        pins = locked(layer)
        assert pins["torch"][0] == "2.13.0+cpu"
        gpu = [name for name in pins if name.startswith(("nvidia-", "triton", "cuda"))]
        assert not gpu, f"{LOCK_FILES[layer]} would install GPU packages: {gpu}"


def test_model_packages_are_locked_as_pinned() -> None:
    wanted = {}
    for line in (REQUIREMENTS / "models.in").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            wanted[canonicalize_name(requirement.name)] = str(requirement.specifier)[2:]
    pins = locked("models")
    assert {name: version for name, (version, _) in pins.items()} == wanted
    assert all(len(hashes) == 1 for _, hashes in pins.values())


def test_the_running_environment_is_the_lock() -> None:
    """The tests run on exactly the locked versions (the bench layer is a superset, same pins)."""
    mismatched = {}
    for name, (version, _) in {**locked("test"), **locked("models")}.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "missing"
        if installed != version:
            mismatched[name] = f"locked {version}, installed {installed}"
    assert not mismatched, f"the environment is not the lock (run `make test`): {mismatched}"
