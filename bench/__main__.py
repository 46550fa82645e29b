"""Run every benchmark: ``python -m bench``."""

from bench import webhook

if __name__ == "__main__":
    webhook.main()
