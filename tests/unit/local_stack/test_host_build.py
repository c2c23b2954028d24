"""The host-architecture copy of the template: only architectures and code paths change."""

from pathlib import Path

from local_stack.host_build import host_template
from tests.helpers import ROOT


def test_the_host_copy_changes_architectures_and_code_paths_only():
    source = (ROOT / "template.yaml").read_text()
    copy = host_template(source, ROOT, "x86_64")
    changed = [(a, b) for a, b in zip(source.splitlines(), copy.splitlines(), strict=True) if a != b]
    assert changed, "nothing was rewritten"
    for before, after in changed:
        key = before.split(":", 1)[0].strip()
        assert key in ("Architectures", "CompatibleArchitectures", "BuildArchitecture", "CodeUri", "ContentUri")
        if key.endswith("Uri"):
            assert Path(after.split(":", 1)[1].strip()).is_dir()
        else:
            assert "arm64" in before and after == before.replace("arm64", "x86_64")


def test_the_same_architecture_keeps_the_architectures():
    source = (ROOT / "template.yaml").read_text()
    copy = host_template(source, ROOT, "arm64")
    assert copy.count("arm64") == source.count("arm64")
