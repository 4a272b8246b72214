"""Redocly's linter, with its recommended rules, finds no error in the document.

It runs from the npm registry (``npx``), as CI runs it; ``.ci/run`` installs
Node.js when it is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from alchemy_patterns.db import Database
from alchemy_patterns.settings import Settings
from alchemy_patterns.web import create_app

LINT_TIMEOUT_S = 300
#: Pinned: "latest" will soon need a newer Node.js than Debian's, and a lint
#: rule added upstream should not turn CI red overnight. Raise it on purpose.
REDOCLY = "@redocly/cli@2.77.0"


def test_redocly_lint_with_the_recommended_rules_reports_no_error(tmp_path: Path) -> None:
    npx = shutil.which("npx")
    assert npx is not None, "Node.js is needed: apt-get install -y nodejs npm"
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(create_app(Settings(), db=Database("sqlite://")).api_doc))

    run = subprocess.run(
        [npx, "--yes", REDOCLY, "lint", str(document), "--format=stylish"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT_S,
        check=False,
    )

    assert run.returncode == 0, run.stdout + run.stderr
