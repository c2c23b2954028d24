"""The template rewritten for this machine's architecture, so the built functions can be
imported and invoked here (the arm64 build that deploys is checked by `sam build` itself).

Only the architecture changes, and code paths become absolute so the copy can live under
.aws-sam/: `python -m local_stack.host_build template.yaml .aws-sam/host-src/template.yaml`,
then `sam build --template .aws-sam/host-src/template.yaml --build-dir .aws-sam/host`.
"""

from __future__ import annotations

import platform
import re
import sys
from pathlib import Path

LAMBDA_ARCHITECTURES = ("arm64", "x86_64")


def host_architecture() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in ("aarch64", "arm64") else "x86_64"


def host_template(text: str, root: Path, architecture: str) -> str:
    """`text` with every Lambda architecture set to `architecture` and every CodeUri and
    ContentUri made absolute (relative to `root`)."""
    code_paths = re.compile(r"^(\s+)(CodeUri|ContentUri): (?![/'\"])(\S+)\s*$", re.M)
    text, moved = code_paths.subn(lambda m: f"{m.group(1)}{m.group(2)}: {(root / m.group(3)).resolve()}", text)
    if not moved:
        raise ValueError("the template has no relative CodeUri or ContentUri to rewrite")
    others = "|".join(a for a in LAMBDA_ARCHITECTURES if a != architecture)
    keys = r"^(\s*(?:Architectures|CompatibleArchitectures|BuildArchitecture):.*?)\b(" + others + r")\b"
    text = re.sub(keys, rf"\g<1>{architecture}", text, flags=re.M)
    if re.search(rf"(Architectures|BuildArchitecture):[^\n]*\n?(\s*-\s*)?({others})\b", text):
        raise ValueError(f"an architecture key still names {others}: write it on one line, e.g. [arm64]")
    return text


def main() -> None:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(host_template(source.read_text(), source.resolve().parent, host_architecture()))
    print(f"{target}: {source} for {host_architecture()}")


if __name__ == "__main__":
    main()
