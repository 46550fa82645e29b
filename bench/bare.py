"""The baseline: a Flask app that answers POST / with a small JSON body and does nothing
else, served by the same gunicorn as Wingman. What's left of the ratio is Wingman's."""

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

app = Flask(__name__)


@app.route("/", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    request.get_data()
    return jsonify(status="stored")
