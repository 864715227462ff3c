"""Benchmark object storage against local disk: the cost of landing and archiving in S3.

Starts moto's S3 server on 127.0.0.1 (a port the kernel picks; nothing leaves the
machine), creates a bucket, and times, median of ``--repeat`` rounds each, in the same
process and on the same file (``--size-mb`` of random bytes, default 256, or ``--file``
such as a real snapshot):

* baseline: a local copy of the file with its sha256 (read, hash, write, fsync), what
  a run on local disk does with its files;
* upload: :meth:`ObjectStore.put_file` as the archive sends a snapshot (sha256 first,
  then multipart with the hash re-checked, complete);
* download: :meth:`ObjectStore.download` as the cache fetches one (streamed to a hidden
  file, hashed, verified, renamed).

Prints MB/s of each and the ratios upload/baseline and download/baseline, and writes
``bench/out/object_storage_<UTC time>.json``. moto keeps objects in memory in this
process, so the figures are the cost of the protocol (HTTP, signing, parts, hashing)
rather than of a network or a real store's disks: a floor for the real cost.

    .venv/bin/python bench/bench_object_storage.py [--size-mb 256] [--repeat 3]
        [--part-mb 64] [--file PATH] [--out-dir bench/out]

TODO(issue 26, integration): once ``run_pipeline.py`` takes ``--landing``/``--archive``,
add the whole-run comparison the issue asks for in :func:`whole_run_comparison`: a
1,000,000-user run landing and archiving to this server beside the same run (same seed
and as-of) on local disk, per step and in total, as a ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = REPO_ROOT / "bench" / "out"
CHUNK = 8 << 20


def local_copy(source: Path, dest: Path) -> str:
    """What a run on local disk does with a file: read it, hash it, write it, fsync."""
    digest = hashlib.sha256()
    with source.open("rb") as reader, dest.open("wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return digest.hexdigest()


def timed(action: Callable[[], Any], repeat: int, cleanup: Callable[[], None]) -> float:
    """Median seconds of ``repeat`` runs of ``action``."""
    seconds = []
    for _ in range(repeat):
        cleanup()
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    cleanup()
    return statistics.median(seconds)


def start_local_s3() -> tuple[Any, str]:
    """moto's S3 server on 127.0.0.1 and the AWS variables of this process pointing at it
    (fake credentials: the real ones, if any, are never sent anywhere)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret",
                      AWS_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint,
                      AWS_EC2_METADATA_DISABLED="true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        os.environ.pop(name, None)
    return server, endpoint


def transfer_figures(source: Path, scratch: Path, *, repeat: int,
                     part_bytes: int) -> dict[str, Any]:
    """Local copy vs upload vs download of ``source``, median seconds and MB/s."""
    from pipeline.storage.objects import ObjectStore
    from pipeline.storage.uris import StorageLocation

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    store = ObjectStore.for_location(StorageLocation(bucket=bucket),
                                     multipart_threshold=part_bytes, part_bytes=part_bytes)
    store.client.create_bucket(Bucket=bucket)
    size = source.stat().st_size
    sha256 = local_copy(source, scratch / "warm.bin")  # also warms the page cache
    (scratch / "warm.bin").unlink()
    copy_dest, download_dest = scratch / "copy.bin", scratch / "download.bin"

    def remove(path: Path) -> Callable[[], None]:
        return lambda: path.unlink(missing_ok=True)

    def upload() -> None:
        with source.open("rb") as handle:
            store.put_file(handle, "bench.bin", size=size, sha256=sha256)

    baseline = timed(lambda: local_copy(source, copy_dest), repeat, remove(copy_dest))
    uploaded = timed(upload, repeat, lambda: None)
    downloaded = timed(lambda: store.download("bench.bin", download_dest,
                                              expected_sha256=sha256),
                       repeat, remove(download_dest))
    mb = size / 1e6
    return {
        "size_bytes": size, "part_bytes": part_bytes, "repeat": repeat,
        "local_copy_s": round(baseline, 3), "upload_s": round(uploaded, 3),
        "download_s": round(downloaded, 3),
        "local_copy_mb_s": round(mb / baseline, 1), "upload_mb_s": round(mb / uploaded, 1),
        "download_mb_s": round(mb / downloaded, 1),
        "upload_ratio": round(uploaded / baseline, 2),
        "download_ratio": round(downloaded / baseline, 2),
    }


def whole_run_comparison(endpoint: str, *, users: int) -> dict[str, Any] | None:
    """TODO(issue 26, integration): a whole pipeline run landing and archiving to the
    server at ``endpoint`` beside the same run on local disk.

    To add once ``run_pipeline.py`` takes ``--landing``/``--archive`` (see
    ``bench/bench_engines.py`` for running the pipeline as a child process and reading
    its manifest): create buckets ``landing`` and ``archive`` on ``endpoint``; run once
    with ``--home A`` (local disk) and once with ``--home B --landing s3://landing/cc
    --archive s3://archive/cc`` and the AWS variables of :func:`start_local_s3` in the
    child's environment, same ``--seed``/``--as-of``/``--users`` (1,000,000 for the
    issue's figure); return both manifests' step seconds and the ratio per step and in
    total, as ``table()`` in ``bench_engines.py`` prints them. Until then: None.
    """
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256,
                        help="size of the random test file (ignored with --file)")
    parser.add_argument("--file", type=Path, help="time this file instead (a snapshot)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--part-mb", type=int, default=64, help="multipart part size")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--users", type=int, default=1_000_000,
                        help="users of the whole-run comparison (not implemented yet)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.size_mb < 1 or args.part_mb < 5:
        parser.error("--repeat and --size-mb must be at least 1, --part-mb at least 5")
    scratch = Path(tempfile.mkdtemp(prefix="bench_object_storage_"))
    server, endpoint = start_local_s3()
    try:
        source = args.file
        if source is None:
            source = scratch / "source.bin"
            with source.open("wb") as handle:
                for _ in range(args.size_mb):
                    handle.write(os.urandom(1 << 20))
        figures = transfer_figures(source, scratch, repeat=args.repeat,
                                   part_bytes=args.part_mb << 20)
        whole_run = whole_run_comparison(endpoint, users=args.users)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"object storage (moto on 127.0.0.1) vs local disk, "
          f"{figures['size_bytes'] / 1e6:,.0f} MB, median of {args.repeat}")
    print(f"  {'':<12}{'seconds':>9}{'MB/s':>9}{'ratio':>8}")
    print(f"  {'local copy':<12}{figures['local_copy_s']:>9.2f}"
          f"{figures['local_copy_mb_s']:>9.1f}{'1.00x':>8}")
    for name in ("upload", "download"):
        print(f"  {name:<12}{figures[f'{name}_s']:>9.2f}{figures[f'{name}_mb_s']:>9.1f}"
              f"{figures[f'{name}_ratio']:>7.2f}x")
    if whole_run is None:
        print("  whole run (--landing/--archive): not measured yet (TODO in this script)")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out_dir / f"object_storage_{stamp}.json"
    out.write_text(json.dumps({"transfer": figures, "whole_run": whole_run}, indent=1) + "\n",
                   encoding="utf-8")
    print(f"  written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
