"""Run the SAM transform on template.yaml exactly as CloudFormation will at deploy time.

`sam validate --lint` and cfn-lint accept some templates the transform then refuses (e.g. an
`Authorizer: NONE` without a default authorizer); this catches those before a deploy does.
Run with the SAM CLI's own Python: .tools/sam/bin/python -m local_stack.transform_check
"""

import os
import re
import sys
from pathlib import Path

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class _NoManagedPolicies:
    def load(self) -> dict:
        return {}


def main(path: str = "template.yaml") -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    text = Path(path).read_text()
    # Local folders become S3 locations, as `sam package` would make them.
    text = re.sub(r"(CodeUri|ContentUri): (?!s3://)\S+", r"\1: s3://bucket/artifact.zip", text)
    try:
        translated = transform(yaml_parse(text), {}, _NoManagedPolicies())
    except Exception as error:
        print(f"{path}: the SAM transform refuses it: {error}", file=sys.stderr)
        return 1
    print(f"{path}: the SAM transform accepts it ({len(translated['Resources'])} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
