"""Run every benchmark: ``python -m bench``.

The throughput benchmarks (ingest, backlog, pipeline) start Wingman as `make run` does,
on SQLite and, when one answers, on PostgreSQL; the others time one piece in-process.
"""

from bench import backlog, export, ingest, job_import, pipeline, webhook

if __name__ == "__main__":
    ingest.main()
    backlog.main()
    pipeline.main()
    webhook.main()
    job_import.main()
    export.main()
