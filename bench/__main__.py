"""Run every benchmark: ``python -m bench``."""

from bench import export, job_import, webhook

if __name__ == "__main__":
    webhook.main()
    job_import.main()
    export.main()
