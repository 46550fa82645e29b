"""Run every benchmark: ``python -m bench``."""

from bench import job_import, webhook

if __name__ == "__main__":
    webhook.main()
    job_import.main()
