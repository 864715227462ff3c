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
        [--part-mb 64] [--file PATH] [--out-dir bench/out] [--users 20000]
        [--rounds 2] [--seed 42] [--as-of 2026-11-01]

Then, unless ``--users 0``, the whole-run comparison: the pipeline run twice as child
processes, same seed, as-of and ``--users`` (default 20,000; the issue's figure is
1,000,000), on local disk and with ``--landing`` and ``--archive`` in a bucket of the
same server, alternated ``--rounds`` times; every step's median seconds side by side, and
the ratios of the storage steps and of the totals.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from foundation.cli_values import non_negative_int, positive_int

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


def pipeline_run(home: Path, run_id: str, *, users: int, seed: int, as_of: str,
                 options: Sequence[str] = ()) -> dict[str, Any]:
    """One whole pipeline run as a child process (the AWS variables of this process
    passed on); its manifest, which must say success."""
    command = [sys.executable, str(REPO_ROOT / "pipeline" / "run_pipeline.py"),
               "--home", str(home), "--users", str(users), "--seed", str(seed),
               "--as-of", as_of, "--run-id", run_id, "--quiet", *options]
    subprocess.run(command, cwd=REPO_ROOT, check=False, stdout=subprocess.DEVNULL)
    manifest = json.loads((home / "logs" / f"pipeline_{run_id}.json").read_text())
    if manifest["status"] != "success" or (manifest.get("archive") or {}).get(
            "status", "archived") != "archived":
        raise SystemExit(f"{run_id} run at {users:,} users: {manifest['status']}: "
                         f"{manifest.get('error') or manifest.get('archive')}")
    return manifest


#: the steps that read or write the run's files (sources, snapshot): where object storage
#: costs something; the others (dbt, checks) do the same work on the same snapshot
STORAGE_STEPS = ("generate", "land", "source", "load_raw", "publish", "archive")


def whole_run_comparison(scratch: Path, *, users: int, seed: int, as_of: str,
                         rounds: int) -> dict[str, Any]:
    """The same run (seed, as-of, users) on local disk, then landing and archiving to
    the local S3 server, alternated ``rounds`` times each in fresh homes: the median
    seconds per step, in the storage steps and in total, and the ratios s3/local.

    The s3 run has steps the local one has not (land, archive): their local seconds are
    0, and they count in the s3 totals, which is the point of the comparison. The steps
    that do not touch storage vary with the machine's load alone, so the storage steps'
    ratio is the figure to read on a busy machine.
    """
    from pipeline.storage.objects import ObjectStore
    from pipeline.storage.uris import StorageLocation

    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    ObjectStore.for_location(StorageLocation(bucket=bucket)).client.create_bucket(
        Bucket=bucket)
    manifests: dict[str, list[dict[str, Any]]] = {"local": [], "s3": []}
    for round_number in range(1, rounds + 1):
        for kind, options in (("local", ()), ("s3", (
                "--landing", f"s3://{bucket}/landing", "--archive", f"s3://{bucket}/archive"))):
            home = scratch / f"{kind}_home_{round_number}"
            manifests[kind].append(pipeline_run(home, f"{kind}_{round_number}", users=users,
                                                seed=seed, as_of=as_of, options=options))
            shutil.rmtree(home, ignore_errors=True)

    def median_steps(kind: str) -> dict[str, float]:
        per_run = [{s["name"]: s["duration_s"] for s in m["steps"]} for m in manifests[kind]]
        return {name: round(statistics.median(run.get(name, 0.0) for run in per_run), 2)
                for name in dict.fromkeys(n for run in per_run for n in run)}

    local, remote = median_steps("local"), median_steps("s3")
    names = list(dict.fromkeys([*local, *remote]))
    totals = {kind: round(statistics.median(m["duration_s"] for m in manifests[kind]), 1)
              for kind in manifests}
    storage = {kind: round(sum(steps.get(n, 0.0) for n in STORAGE_STEPS), 1)
               for kind, steps in (("local", local), ("s3", remote))}
    return {"users": users, "seed": seed, "as_of": as_of, "rounds": rounds,
            "steps": [{"step": n, "local_s": local.get(n, 0.0), "s3_s": remote.get(n, 0.0)}
                      for n in names],
            "local_total_s": totals["local"], "s3_total_s": totals["s3"],
            "ratio": round(totals["s3"] / totals["local"], 2),
            "local_storage_steps_s": storage["local"], "s3_storage_steps_s": storage["s3"],
            "storage_steps_ratio": round(storage["s3"] / storage["local"], 2)}


def whole_run_table(whole: dict[str, Any]) -> str:
    """The whole-run comparison as lines to print: a step, its seconds each way, the
    ratio where the local step took long enough for one to mean something."""
    lines = [f"whole run, {whole['users']:,} users (seed {whole['seed']}, as-of "
             f"{whole['as_of']}, median of {whole['rounds']} alternated): local disk vs "
             "--landing/--archive on the local S3 server",
             f"  {'step':<18}{'local s':>9}{'s3 s':>9}{'ratio':>8}"]
    for step in whole["steps"]:
        local, remote = step["local_s"], step["s3_s"]
        ratio = f"{remote / local:.2f}x" if local > 0.05 else "-"
        lines.append(f"  {step['step']:<18}{local:>9.1f}{remote:>9.1f}{ratio:>8}")
    lines.append(f"  {'storage steps':<18}{whole['local_storage_steps_s']:>9.1f}"
                 f"{whole['s3_storage_steps_s']:>9.1f}{whole['storage_steps_ratio']:>7.2f}x")
    lines.append(f"  {'total':<18}{whole['local_total_s']:>9.1f}{whole['s3_total_s']:>9.1f}"
                 f"{whole['ratio']:>7.2f}x")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=positive_int, default=256,
                        help="size of the random test file (ignored with --file)")
    parser.add_argument("--file", type=Path, help="time this file instead (a snapshot)")
    parser.add_argument("--repeat", type=positive_int, default=3)
    parser.add_argument("--part-mb", type=int, default=64, help="multipart part size")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--users", type=non_negative_int, default=20_000,
                        help="users of the whole-run comparison (the issue's figure: "
                        "1000000); 0 skips it")
    parser.add_argument("--rounds", type=positive_int, default=2,
                        help="whole-run pairs (local, s3), alternated; medians reported")
    parser.add_argument("--seed", type=non_negative_int, default=42)
    parser.add_argument("--as-of", default="2026-11-01")
    args = parser.parse_args(argv)
    if args.part_mb < 5:
        parser.error("--part-mb must be at least 5 (S3's smallest multipart part)")
    scratch = Path(tempfile.mkdtemp(prefix="bench_object_storage_"))
    server, _ = start_local_s3()
    try:
        source = args.file
        if source is None:
            source = scratch / "source.bin"
            with source.open("wb") as handle:
                for _ in range(args.size_mb):
                    handle.write(os.urandom(1 << 20))
        figures = transfer_figures(source, scratch, repeat=args.repeat,
                                   part_bytes=args.part_mb << 20)
        whole_run = (whole_run_comparison(scratch, users=args.users, seed=args.seed,
                                          as_of=args.as_of, rounds=args.rounds)
                     if args.users > 0 else None)
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
    if whole_run is not None:
        print(whole_run_table(whole_run))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out_dir / f"object_storage_{stamp}.json"
    out.write_text(json.dumps({"transfer": figures, "whole_run": whole_run}, indent=1) + "\n",
                   encoding="utf-8")
    print(f"  written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
