"""The layout ARCHITECTURE.md describes, held as the code grows: features in packages, shared
packages that never reach into a feature, storage behind repositories, pydantic only in
contracts, a short module everywhere, and a scan function that imports only what it needs."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "siyu" / "siyu"
FEATURES = {"live_codes", "statistics", "alerts", "sop", "campaigns", "wecom", "layering"}
SHARED = {"core", "storage", "web", "delivery", "api"}
MAX_MODULE_LINES = 450
MAX_LOOSE_MODULES = 3

# What the scan function may load of the layer (cold start under a livestream burst: see
# ARCHITECTURE.md), and the heavy libraries it must never load.
SCAN_PATH_MODULES = {
    "siyu.core.clock",
    "siyu.core.errors",
    "siyu.core.ids",
    "siyu.storage.aws",
    "siyu.storage.codec",
    "siyu.storage.paging",
    "siyu.storage.hourly_counters",
    "siyu.storage.table",
    "siyu.web.html",
    "siyu.web.visitors",
    "siyu.live_codes.model",
    "siyu.live_codes.assignment",
    "siyu.live_codes.landing_page",
    "siyu.live_codes.repository",
    "siyu.live_codes.counters_repository",
    "siyu.live_codes.scan",
    "siyu.live_codes.scan_pages",
    "siyu.live_codes.client_limit",
    "siyu.live_codes.segment_routes",
    "siyu.layering.membership_repository",
    "siyu.statistics.buffer",
    "siyu.storage.signing_key",
    "siyu.web.scan_memory",
    "siyu.web.signed_links",
    "siyu.statistics.rules",
    "siyu.statistics.repository",
    "siyu.statistics.visitors_repository",
    "siyu.campaigns.referrals",
    "siyu.campaigns.rules",
}
NEVER_ON_THE_SCAN_PATH = ("pydantic", "PIL", "segno", "zxingcpp", "aws_lambda_powertools")


def modules() -> dict[str, Path]:
    found = {}
    for path in LAYER.rglob("*.py"):
        parts = path.relative_to(LAYER.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_layer_is_laid_out_by_feature():
    packages = {p.name for p in LAYER.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages >= FEATURES and packages >= SHARED, packages
    assert packages - FEATURES - SHARED == set(), "a new package: list it in ARCHITECTURE.md and here"
    loose = [p.name for p in LAYER.glob("*.py") if p.name != "__init__.py"]
    assert len(loose) <= MAX_LOOSE_MODULES, loose


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_longer_than_the_limit(name):
    lines = len(modules()[name].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines: split it by responsibility"


@pytest.mark.parametrize("name", sorted(n for n in modules() if n.split(".")[1:2] and n.split(".")[1] in SHARED))
def test_shared_packages_never_import_a_feature(name):
    reached = {i for i in imports_of(modules()[name]) if i.startswith("siyu.") and i.split(".")[1] in FEATURES}
    assert not reached, f"{name} imports {sorted(reached)}"


def test_core_imports_only_core():
    for name, path in modules().items():
        if name.startswith("siyu.core"):
            reached = {i for i in imports_of(path) if i.startswith("siyu.") and not i.startswith("siyu.core")}
            assert not reached, f"{name} imports {sorted(reached)}"


# The scan service reads a failed storage call's error (throttled, unreachable) to back off and serve
# the last good page; it catches botocore's exceptions but never calls AWS itself.
CATCHES_STORAGE_ERRORS = {
    "siyu.live_codes.scan": {"botocore.exceptions"},
    "siyu.statistics.buffer": {"botocore.exceptions"},
}


def test_only_storage_and_repositories_talk_to_aws():
    for name, path in modules().items():
        talks = {i for i in imports_of(path) if i.split(".")[0] in ("boto3", "botocore")}
        talks = {i for i in talks if not any(i.startswith(m) for m in CATCHES_STORAGE_ERRORS.get(name, ()))}
        allowed = name.startswith("siyu.storage") or any("repositor" in part for part in name.split("."))
        assert allowed or not talks, f"{name} imports {sorted(talks)}: put that access in a repository"


def test_pydantic_lives_in_the_contracts_only():
    for name, path in modules().items():
        uses = {i for i in imports_of(path) if i.split(".")[0] == "pydantic"}
        assert name.startswith("siyu.api") or name.endswith(".api") or not uses, f"{name} imports pydantic"


def test_the_scan_function_loads_only_the_scan_path():
    env = {**os.environ, "TABLE_NAME": "t", "BUCKET_NAME": "b", "AWS_DEFAULT_REGION": "cn-north-1"}
    probe = (
        "import json, sys; sys.path[:0] = sys.argv[1:]; import app; print(json.dumps(sorted(m for m in sys.modules)))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe, str(ROOT / "functions" / "scan"), str(LAYER.parent)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
    )
    ours = {m for m in loaded if m.startswith("siyu.") and m.split(".")[-1] not in SHARED | FEATURES}
    assert ours <= SCAN_PATH_MODULES, f"the scan path now loads {sorted(ours - SCAN_PATH_MODULES)}"
    heavy = sorted({m.split(".")[0] for m in loaded} & set(NEVER_ON_THE_SCAN_PATH))
    assert not heavy, f"the scan path loads {heavy}"
