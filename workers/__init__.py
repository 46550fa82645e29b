"""Background processes: RQ jobs, the worker, the clock and the supervisor behind `make run`."""
