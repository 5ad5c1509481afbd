"""The test suite on every Python the classifiers claim: ``nox -s tests-3.12``, or ``nox`` for all.

``make test`` runs the suite with coverage on the main interpreter; these sessions run it, without
coverage, on each of the others (``.ci/run`` calls them). Interpreters come from ``PATH`` or from
pyenv, whose shims answer ``python3.12`` only while that version is active.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import nox

PYPROJECT = nox.project.load_toml("pyproject.toml")
# Every version the trove classifiers claim.
PYTHONS = nox.project.python_versions(PYPROJECT)

nox.options.sessions = ["tests"]


def _add_pyenv_interpreters_to_path() -> None:
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return
    bins = []
    for version in PYTHONS:
        found = subprocess.run(
            [pyenv, "prefix", version], capture_output=True, text=True, check=False
        )
        if found.returncode == 0:
            bins.append(os.path.join(found.stdout.strip(), "bin"))
    os.environ["PATH"] = os.pathsep.join([*bins, os.environ.get("PATH", "")])


_add_pyenv_interpreters_to_path()


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole suite (doctests and typing tests included) with every optional extra."""
    session.install("-e", ".[all]", *nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs)
