"""bench/bench_object_storage.py: object storage against local disk, as ratios."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from foundation.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "bench" / "bench_object_storage.py"


def test_the_benchmark_times_a_multipart_upload_and_a_verified_download(
        tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    done = subprocess.run([sys.executable, str(SCRIPT), "--size-mb", "11", "--part-mb", "5",
                           "--repeat", "1", "--users", "0", "--out-dir", str(tmp_path)],
                          env=env, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    [out] = tmp_path.glob("object_storage_*.json")
    figures = json.loads(out.read_text())
    assert figures["whole_run"] is None
    assert figures["transfer"]["size_bytes"] == 11 << 20
    assert figures["transfer"]["upload_ratio"] > 0 and figures["transfer"]["download_ratio"] > 0
    assert "upload" in done.stdout and "download" in done.stdout
