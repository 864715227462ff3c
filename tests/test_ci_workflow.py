"""The hosted CI workflow runs what every CI run runs, and the package it builds is whole.

``.github/workflows/ci.yml`` must run ``bash .ci/run`` on push and pull request and build the
sdist and wheel as an artefact; every ``make`` target ``.ci/run`` calls must exist in the
Makefile; every non-Python file git tracks inside a package must be package data (the code
reads them at run time, so a built wheel without them would be broken).
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import yaml

from foundation.paths import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
CI_RUN = REPO_ROOT / ".ci" / "run"
MAKEFILE = REPO_ROOT / "Makefile"


def workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps(document: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def commands(document: dict[Any, Any]) -> list[str]:
    return [line.strip() for step in steps(document) for line in str(step.get("run", ""))
            .splitlines() if line.strip()]


def make_targets() -> set[str]:
    return {m.group(1) for m in re.finditer(r"^([A-Za-z0-9_.-]+):", MAKEFILE.read_text(),
                                             re.MULTILINE)}


def ci_make_calls() -> list[str]:
    return re.findall(r"^\s*make\s+([A-Za-z0-9_.-]+)", CI_RUN.read_text(), re.MULTILINE)


def test_the_workflow_runs_on_push_and_pull_request() -> None:
    document = workflow()
    triggers = document.get("on", document.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"push", "pull_request"}


def test_the_workflow_runs_the_same_entry_point_as_every_ci_run() -> None:
    assert "bash .ci/run" in commands(workflow())


def test_the_workflow_builds_the_sdist_and_wheel_as_an_artefact() -> None:
    document = workflow()
    assert any(c.startswith("python -m build") for c in commands(document))
    uploads = [s for s in steps(document) if str(s.get("uses", "")).startswith(
        "actions/upload-artifact@")]
    assert [u["with"]["path"] for u in uploads] == ["dist/"]


def test_the_workflow_gives_ci_python_3_11_and_its_system_packages() -> None:
    document = workflow()
    test_job = next(job for job in document["jobs"].values()
                    if "bash .ci/run" in commands({"jobs": {"j": job}}))
    assert test_job["container"].startswith("python:3.11")
    installs = " ".join(commands({"jobs": {"j": test_job}}))
    assert "chromium" in installs and "openjdk-17-jre-headless" in installs


def test_every_make_target_ci_calls_exists() -> None:
    calls = ci_make_calls()
    assert calls == ["test", "test-spark", "test-orchestration"]
    assert set(calls) <= make_targets()


def test_every_file_the_packages_read_is_package_data() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    package_data: dict[str, list[str]] = config["package-data"]
    packages = [p.rstrip("*") for p in config["packages"]["find"]["include"]]
    tracked = subprocess.run(["git", "ls-files", *packages], cwd=REPO_ROOT, check=True,
                             capture_output=True, text=True).stdout.split()
    missing = []
    for name in tracked:
        path = Path(name)
        if path.suffix == ".py" or path.name == ".gitkeep":
            continue
        owners = [pkg for pkg in package_data
                  if path.is_relative_to(Path(*pkg.split(".")))]
        package = max(owners, key=len, default=None)
        relative = str(path.relative_to(Path(*package.split(".")))) if package else None
        if package is None or not any(fnmatch.fnmatch(relative, glob)
                                      for glob in package_data[package]):
            missing.append(name)
    assert missing == []
