"""Benchmark: evidence photos end to end on PostgreSQL, at a million stored photos.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_evidence.py
    .venv/bin/python benchmarks/bench_evidence.py --tiny    # seconds: does it still run?

In a scratch database `chuanxi_bench_evidence` (created, migrated and dropped by the script):

1. Stores 1,000,000 processed photos in one district (COPY; realistic pHashes: 32 of 64 bits set,
   the DC bit always set, as imagehash's median threshold produces), then VACUUM ANALYZE.
2. Duplicate lookup against them: `evidence.selectors.near_duplicate_candidates` (the one SQL
   statement: eight index-only band probes confirmed with bit_count), for probes that have near
   duplicates (a stored hash with 1 to 7 bits flipped) and probes that have none; plus the exact
   lookup by SHA-256 and the complete `near_duplicates` (candidates + naming the earlier reports).
   Prints the EXPLAIN (ANALYZE, BUFFERS) of one probe.
3. Upload of a 12-megapixel phone JPEG (EXIF with time and GPS) through the real API view
   (`POST /api/v1/assignments/{id}/submissions/`, DRF test client, multipart): the request round
   trip, each to a fresh assignment.
4. The worker's job for each of those photos (`evidence.services.photo_process`: read the
   original, thumbnail + preview + pHash, store the copies, flags including both duplicate lookups
   against the million).

Targets (the issue): upload well under 1 s, job < 0.5 s, lookup < 50 ms. The decompression bomb
figures come from benchmarks/bench_photos.py. Results go to docs/benchmarks.md by hand.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))

import bench_common as common  # noqa: E402

SCRATCH_DB = "chuanxi_bench_evidence"


def stats(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return (
        f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"min {values[0] * 1000:.1f}, max {values[-1] * 1000:.1f} (n={len(values)})"
    )


def realistic_hashes(count: int, seed: int):
    """Signed 64-bit pHashes with 32 bits set and the DC (first) bit set, and their 8 bands."""
    import numpy as np

    rng = np.random.default_rng(seed)
    bits = np.zeros((count, 64), dtype=bool)
    chosen = np.argsort(rng.random((count, 63)), axis=1)[:, :31] + 1
    np.put_along_axis(bits, chosen, True, axis=1)
    bits[:, 0] = True
    packed = np.packbits(bits, axis=1)  # count x 8 bytes, most significant first = the bands
    hashes = packed.view(">i8").ravel()
    return hashes, packed


def load_photos(*, tree_id: int, submission_ids: list[int], count: int, seed: int) -> None:
    """COPY `count` processed photo rows (no files: the lookup never opens one)."""
    from django.db import connection

    from evidence.models import Photo

    hashes, bands = realistic_hashes(count, seed)
    per_submission = -(-count // len(submission_ids))
    columns = (
        "submission_id, position, key, original, thumbnail, preview, original_name, size, width, "
        "height, format, mime_type, sha256, has_exif, phash, band0, band1, band2, band3, band4, band5, "
        "band6, band7, tree_id, status, error, attempts, created_at, processed_at"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor for COPY
        with raw.copy(f"COPY {Photo._meta.db_table} ({columns}) FROM STDIN") as copy:
            for index in range(count):
                key = f"{index:032x}"
                day = "2026/01/01"
                copy.write_row(
                    (
                        submission_ids[index // per_submission],
                        index % per_submission + 1,
                        key,
                        f"evidence/originals/{day}/{key}.jpg",
                        f"evidence/derived/{day}/{key}_320.jpg",
                        f"evidence/derived/{day}/{key}_1280.jpg",
                        f"IMG_{index % 10000:04d}.jpg",
                        3_500_000,
                        4000,
                        3000,
                        "JPEG",
                        "image/jpeg",
                        f"{index:064x}",
                        True,
                        int(hashes[index]),
                        *(int(b) for b in bands[index]),
                        tree_id,
                        "ready",
                        "",
                        0,
                        "2026-01-01T08:00:00+08:00",
                        "2026-01-01T08:00:05+08:00",
                    )
                )
    print(f"COPY of {count:,} photo rows (with every index in place): {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Photo._meta.db_table}")
    print(f"VACUUM ANALYZE: {time.perf_counter() - started:.1f} s")


def flip(value: int, bits: list[int]) -> int:
    unsigned = value & ((1 << 64) - 1)
    for bit in bits:
        unsigned ^= 1 << bit
    return unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=int, default=1_000_000)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--uploads", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    common.add_tiny_option(parser)
    args = parser.parse_args()
    if args.tiny:
        args.photos, args.probes, args.uploads = 2000, 5, 1
    url = common.server_url()
    media = tempfile.mkdtemp(prefix="chuanxi-bench-media-")
    os.environ["TEST_MEDIA_ROOT"] = media
    os.environ.pop("REDIS_URL", None)  # jobs are timed by calling them; the broker is kombu's memory
    try:
        common.setup_django(url, SCRATCH_DB)
        return run(args)
    finally:
        shutil.rmtree(media, ignore_errors=True)
        if not args.keep:
            from django.db import connections

            connections.close_all()
            common.recreate_database(url, SCRATCH_DB, drop_only=True)


def run(args) -> int:
    import random
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.test import APIClient

    from evidence import selectors, services
    from evidence.derivatives import NEAR_DUPLICATE_THRESHOLD
    from evidence.models import Photo
    from orgs.models import Membership, Role, User
    from tasks import services as task_services
    from tasks.models import Assignment, Submission, TaskCategory
    from tests.evidence.photos import jpeg, make_exif, real_looking_photo

    print(common.machine())
    district = common.build_district("BENCH", 1, max(args.uploads + 3, 10))
    admin = User.objects.create(username="bench-admin", is_superuser=True, is_staff=True)
    officer = User.objects.create(username="bench-officer")
    Membership.objects.create(user=officer, unit=district, role=Role.OFFICER)
    category = TaskCategory.objects.get_or_create(code="volunteer_service", defaults={"name": "志愿服务"})[0]
    task = task_services.task_create(
        actor=admin,
        issuer_unit=district,
        title="文明实践志愿服务月",
        category=category,
        starts_at=timezone.now() - timedelta(days=1),
        due_at=timezone.now() + timedelta(days=30),
        evidence_requirements={"min_photos": 1, "max_photos": 9},
        targets=[{"unit": district.pk, "level": "community"}],
    )
    task_services.task_publish(actor=admin, task=task)
    assignments = list(Assignment.objects.filter(task=task).select_related("unit", "task").order_by("id"))

    # 1. A million earlier photos, all in this district, on 1,000 earlier reports.
    holder = assignments.pop()
    submissions = Submission.objects.bulk_create(
        [Submission(assignment=holder, summary="历史上报", participants=10) for _ in range(1000)]
    )
    load_photos(
        tree_id=district.tree_id, submission_ids=[s.pk for s in submissions], count=args.photos, seed=2026
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_relation_size('evidence_photo')), "
            "pg_size_pretty(pg_relation_size('photo_tree_band0')), "
            "pg_size_pretty(pg_indexes_size('evidence_photo'))"
        )
        table_size, band_size, index_size = cursor.fetchone()
    print(f"evidence_photo: table {table_size}, one band index {band_size}, all indexes {index_size}")

    # 2. Duplicate lookups.
    rng = random.Random(7)
    stored = list(
        Photo.objects.order_by("?").values_list("pk", "phash", "sha256")[: args.probes]
    )  # one random sample; ORDER BY random() once is fine here
    near_probes = [
        (pk, flip(phash, rng.sample(range(64), rng.randint(1, NEAR_DUPLICATE_THRESHOLD))))
        for pk, phash, _sha in stored
    ]
    fresh_hashes, _bands = realistic_hashes(args.probes, seed=99)
    timings_near, timings_none, found = [], [], []
    for (_pk, probe), fresh in zip(near_probes, fresh_hashes, strict=True):
        started = time.perf_counter()
        matches = selectors.near_duplicate_candidates(tree_id=district.tree_id, phash=probe, exclude_id=0)
        timings_near.append(time.perf_counter() - started)
        found.append(len(matches))
        started = time.perf_counter()
        selectors.near_duplicate_candidates(tree_id=district.tree_id, phash=int(fresh), exclude_id=0)
        timings_none.append(time.perf_counter() - started)
    missed = sum(1 for n in found if n == 0)
    print(f"\nnear_duplicate_candidates, probe within 1-7 bits of a stored hash: {stats(timings_near)}")
    print(
        f"  every probe found its photo: {missed == 0} (missed {missed}), candidates per probe max {max(found)}"
    )
    print(f"near_duplicate_candidates, unrelated probe: {stats(timings_none)}")

    timings_exact = []
    for _pk, _phash, sha in stored[:50]:
        holder_photo = Photo(
            pk=0, tree_id=district.tree_id, sha256=sha, submission=Submission(assignment=assignments[0])
        )
        started = time.perf_counter()
        selectors.exact_duplicates(photo=holder_photo)
        timings_exact.append(time.perf_counter() - started)
    print(f"exact_duplicates (SHA-256, naming the earlier reports): {stats(timings_exact)}")

    with connection.cursor() as cursor:
        from evidence.derivatives import hash_bands

        probe = near_probes[0][1]
        bands = hash_bands(probe)
        table = Photo._meta.db_table
        probes_sql = " UNION ALL ".join(
            f"SELECT id, phash FROM {table} WHERE tree_id = {district.tree_id} AND band{k} = {bands[k]}"
            for k in range(8)
        )
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT DISTINCT c.id, bit_count((c.phash # %s)::bit(64)) AS distance "
            f"FROM ({probes_sql}) AS c WHERE bit_count((c.phash # %s)::bit(64)) <= 7 AND c.id <> 0 "
            "ORDER BY c.id LIMIT 100",
            [probe, probe],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print("\nEXPLAIN (ANALYZE, BUFFERS) of one probe:\n" + plan)

    # 3. Uploads of a 12 MP JPEG through the API view.
    worker = User.objects.create(username="bench-worker")
    Membership.objects.create(user=worker, unit=district, role=Role.WORKER)
    client = APIClient()
    client.force_authenticate(user=worker)
    taken = timezone.localtime(timezone.now()).strftime("%Y:%m:%d %H:%M:%S")
    exif = make_exif(taken_at=taken, latitude=(34, 44, 49.2), longitude=(113, 37, 30.0), orientation=1)
    scene = real_looking_photo(2025, (800, 600) if args.tiny else (4000, 3000))
    photo = jpeg(scene, quality=92, exif=exif)
    print(f"\nJPEG: {scene.size[0]}x{scene.size[1]}, {len(photo) / 1e6:.2f} MB, EXIF time + GPS")
    held = (timezone.now() - timedelta(hours=3)).isoformat()
    upload_times, photo_ids, queries = [], [], []
    for index in range(args.uploads + 1):
        assignment = assignments[index]
        body = {
            "summary": "组织志愿者清理楼道杂物。",
            "held_at": held,
            "participants": 120,
            "location_text": "党群服务中心",
            "photos": [SimpleUploadedFile(f"IMG_{index:04d}.jpg", photo, content_type="image/jpeg")],
        }
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.post(
                f"/api/v1/assignments/{assignment.pk}/submissions/", body, format="multipart"
            )
            elapsed = time.perf_counter() - started
        assert response.status_code == 201, response.content[:500]
        photo_ids.append(response.json()["photos"][0]["id"])
        if index:  # the first request warms up imports and connections
            upload_times.append(elapsed)
            queries.append(len(captured.captured_queries))
    print(f"POST /submissions/ with one 12 MP JPEG: {stats(upload_times)}; {max(queries)} queries")

    # 4. The worker's job for each uploaded photo (same photo each time: the later ones also find
    #    the earlier ones as exact duplicates and flag them, as a reused photo would be).
    job_times = []
    for index, photo_id in enumerate(photo_ids):
        started = time.perf_counter()
        processed = services.photo_process(photo_id=photo_id)
        elapsed = time.perf_counter() - started
        assert processed.status == "ready", processed.error
        if index:
            job_times.append(elapsed)
    print(f"process_photo job (12 MP JPEG, lookups against {args.photos:,} photos): {stats(job_times)}")
    flags = sorted(
        {kind for kind in Photo.objects.get(pk=photo_ids[-1]).flags.values_list("kind", flat=True)}
    )
    print(f"flags on the last one: {flags}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
