"""``flask --app bot`` command groups, one module each: thin wrappers that parse options,
call a function below ``bot`` and print what it did."""
