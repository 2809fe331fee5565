#!/usr/bin/env python3
"""Render an app's Helm values.yaml from a site's config.env with release 1.15.

    python3 releases/1.15/render_values.py --env-file sites/production/config.env \
        --output sites/production/apps/redis-cluster/values.yaml

The gate reads rendered values from slo_values_path (default sites/<site>/apps/<app>/values.yaml);
an --output elsewhere is written, with a warning that no check reads it. The app is the
output's parent folder name unless --app is given. The rendering is
pytest-slo's own (pytest_slo.repo.cli), so these bytes are the ones the gate expects.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:
    from pytest_slo.repo.cli import main
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(HERE.parents[1]))
    from pytest_slo.repo.cli import main

if __name__ == "__main__":
    sys.exit(main(release_dir=HERE))
