"""Every error Wingman's HTTP surface returns is JSON that names the problem."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException


def error(status: int, message: str, **details: Any) -> ResponseReturnValue:
    return jsonify({"error": message, **details}), status


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        messages = {
            413: "request body is larger than the 1 MiB limit",
            404: "no such endpoint",
            405: "method not allowed on this endpoint",
        }
        status = exc.code or 500
        return error(status, messages.get(status, exc.description or exc.name))
