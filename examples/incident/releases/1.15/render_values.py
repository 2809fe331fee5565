#!/usr/bin/env python3
"""Render an app's Helm values.yaml from a site's config.env with release 1.15.

    python3 releases/1.15/render_values.py --env-file sites/production/config.env \
        --output apps/redis-cluster/values.yaml

The rendering is pytest-slo's own, so these bytes are the ones the gate expects.
"""

import sys
from pathlib import Path

from pytest_slo.repo.cli import main

if __name__ == "__main__":
    sys.exit(main(release_dir=Path(__file__).resolve().parent))
