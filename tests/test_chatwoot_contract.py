"""Every request the client can make, checked against Chatwoot's swagger.json.

Where the spec is silent or wrong (it documents some bot-accessible endpoints as user-only,
and lacks `echo_id` and `updated_within`), the request is checked against the table in
section 3 of CONTRACT.md instead, which was read from Chatwoot's code.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from chatwoot.client import ChatwootClient
from tests.conftest import SWAGGER, load_event

SPEC: dict[str, Any] = json.loads(SWAGGER.read_text())
CONTRACT = (SWAGGER.parent / "CONTRACT.md").read_text()

BASE = "https://chat.example"
ACCOUNT = 3
ACCOUNT_PATH = f"/api/v1/accounts/{ACCOUNT}"
BOT = "bot-token"
USER = "user-token"
TOKEN_KINDS = {BOT: "bot", USER: "user"}
SCHEMES = {"bot": "agentBotApiKey", "user": "userApiKey"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

Scenario = Callable[[ChatwootClient], object]

# Each public method, with arguments that reach every body shape it can send. The fake
# Chatwoot below answers so that read-merge-write methods do get to their write.
SCENARIOS: dict[str, list[Scenario]] = {
    "for_account": [lambda c: c.for_account(3).toggle_typing(1423, True)],
    "create_message": [
        lambda c: c.create_message(1423, "Hello"),
        lambda c: c.create_message(
            1423, "Draft", private=True, content_attributes={"in_reply_to": 1}, echo_id="d-1"
        ),
    ],
    "list_messages": [
        lambda c: c.list_messages(1423),
        lambda c: c.list_messages(1423, before=918300, after=918200),
    ],
    "get_conversation": [lambda c: c.get_conversation(1423)],
    "toggle_status": [
        lambda c: c.toggle_status(1423, "open"),
        lambda c: c.toggle_status(1423, "snoozed", snoozed_until=1781859600),
    ],
    "toggle_typing": [lambda c: c.toggle_typing(1423, True)],
    "assign": [lambda c: c.assign(1423, assignee_id=5), lambda c: c.assign(1423, team_id=2)],
    "get_labels": [lambda c: c.get_labels(1423)],
    "add_labels": [lambda c: c.add_labels(1423, ["wingman"])],
    "remove_labels": [lambda c: c.remove_labels(1423, ["damaged-item"])],
}

# What the scenarios together must reach, so a scenario that quietly stops writing (or a
# new endpoint) shows up here.
EXPECTED_ENDPOINTS = {
    ("POST", "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages"),
    ("GET", "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages"),
    ("GET", "/api/v1/accounts/{account_id}/conversations/{conversation_id}"),
    ("POST", "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_status"),
    ("POST", "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_typing_status"),
    ("POST", "/api/v1/accounts/{account_id}/conversations/{conversation_id}/assignments"),
    ("GET", "/api/v1/accounts/{account_id}/conversations/{conversation_id}/labels"),
    ("POST", "/api/v1/accounts/{account_id}/conversations/{conversation_id}/labels"),
}


# --- a fake Chatwoot that answers in the real shapes ---------------------------------------

CONVERSATION = {k: v for k, v in load_event("conversation_opened").items() if k != "event"}
MESSAGE = {
    "id": 918300,
    "content": "Hello",
    "conversation_id": 1423,
    "message_type": 1,
    "content_type": "text",
    "content_attributes": {},
    "created_at": 1781774400,
    "private": False,
    "sender": {"id": 7, "name": "Wingman", "type": "agent_bot"},
}
COUNTS = {"mine_count": 0, "assigned_count": 0, "unassigned_count": 1, "all_count": 1}


def _answer(method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
    route = re.sub(r"^/conversations/\d+", "/conversations/{id}", path)
    if (method, route) == ("GET", "/conversations"):
        first = query.get("page") == ["1"] or "updated_within" in query
        return {"data": {"meta": COUNTS, "payload": [CONVERSATION] if first else []}}
    answers: dict[tuple[str, str], Any] = {
        ("GET", "/conversations/{id}"): CONVERSATION,
        ("POST", "/conversations/{id}/messages"): MESSAGE,
        ("GET", "/conversations/{id}/messages"): {"meta": {}, "payload": [MESSAGE]},
        ("POST", "/conversations/{id}/toggle_status"): {
            "meta": {},
            "payload": {"success": True, "conversation_id": 1423, "current_status": "open"},
        },
        ("POST", "/conversations/{id}/toggle_typing_status"): None,
        ("POST", "/conversations/{id}/assignments"): {"id": 5, "name": "Ana"},
        ("GET", "/conversations/{id}/labels"): {"payload": CONVERSATION["labels"]},
        ("POST", "/conversations/{id}/labels"): {"payload": (body or {}).get("labels")},
        ("POST", "/conversations/{id}/custom_attributes"): body,
    }
    return answers[(method, route)]


def _fake_chatwoot(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    url = urlsplit(request.url or "")
    body = json.loads(request.body) if request.body else None
    try:
        answer = _answer(
            request.method or "", url.path.removeprefix(ACCOUNT_PATH), parse_qs(url.query), body
        )
    except KeyError:
        return 404, {}, json.dumps({"error": "the fake Chatwoot has no such route"})
    return 200, {}, "" if answer is None else json.dumps(answer)


def _run(scenario: Scenario) -> list[requests.PreparedRequest]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for method in METHODS:
            rsps.add_callback(method, re.compile(re.escape(BASE) + r"/.*"), _fake_chatwoot)
        scenario(ChatwootClient(BASE, ACCOUNT, BOT, user_token=USER))
        return [call.request for call in rsps.calls]


# --- the swagger side ----------------------------------------------------------------------


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _swagger_template(method: str, path: str) -> str | None:
    """The spec path template for a request, preferring the one with most literal text."""
    matches = [
        template
        for template, item in SPEC["paths"].items()
        if method.lower() in item and _template_regex(template).fullmatch(path)
    ]
    return max(matches, key=lambda t: len(re.sub(r"\{[^}]+\}", "", t)), default=None)


def _parameters(template: str, method: str) -> list[dict[str, Any]]:
    item = SPEC["paths"][template]
    return [_resolve(p) for p in [*item.get("parameters", []), *item[method].get("parameters", [])]]


JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "integer": (int,),
    "number": (int, float),
    "null": (type(None),),
}


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    if "enum" in schema and value not in schema["enum"]:
        return False
    declared = schema.get("type")
    if declared is None:
        return True
    names = declared if isinstance(declared, list) else [declared]
    if isinstance(value, bool) and "boolean" not in names:
        return False
    return any(isinstance(value, JSON_TYPES[name]) for name in names)


# --- the CONTRACT.md side ------------------------------------------------------------------


@dataclass(frozen=True)
class ContractRow:
    methods: tuple[str, ...]
    path: re.Pattern[str]
    token: str
    body: str


def _contract_rows() -> list[ContractRow]:
    section = CONTRACT.split("## 3. REST API used by the bot", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        path = re.search(r"/[\w{}/]+", cells[1])
        methods = tuple(re.findall(r"\b(?:GET|POST|PUT|PATCH|DELETE)\b", cells[1]))
        if path and methods:
            rows.append(ContractRow(methods, _template_regex(path.group()), cells[2], cells[3]))
    return rows


CONTRACT_ROWS = _contract_rows()


def _contract_row(method: str, path: str) -> ContractRow | None:
    """The CONTRACT.md §3 row for a request path relative to the account."""
    relative = path.removeprefix(ACCOUNT_PATH)
    for row in CONTRACT_ROWS:
        if method in row.methods and row.path.fullmatch(relative):
            return row
    return None


def _allows(row: ContractRow | None, token_kind: str) -> bool:
    return row is not None and re.search(rf"\b{token_kind}\b", row.token) is not None


def _documents(row: ContractRow | None, key: str) -> bool:
    return row is not None and (f'"{key}"' in row.body or f"`{key}" in row.body)


# --- the check -----------------------------------------------------------------------------


def check_request(request: requests.PreparedRequest) -> tuple[str, str]:
    """Assert one sent request matches the spec (or CONTRACT.md); returns its endpoint."""
    method = request.method or ""
    url = urlsplit(request.url or "")
    path = url.path
    where = f"{method} {path}"
    assert path.startswith(ACCOUNT_PATH + "/"), f"{where} is outside the account base path"
    token_kind = TOKEN_KINDS[request.headers["api_access_token"]]
    body = json.loads(request.body) if request.body else None
    query = parse_qs(url.query)
    row = _contract_row(method, path)

    template = _swagger_template(method, path)
    if template is None:
        assert row is not None, f"{where} is neither in swagger.json nor in CONTRACT.md §3"
        assert _allows(row, token_kind), f"CONTRACT.md does not allow a {token_kind} token"
        return method, path
    operation = SPEC["paths"][template][method.lower()]

    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    assert SCHEMES[token_kind] in schemes or _allows(row, token_kind), (
        f"{where}: swagger allows {sorted(schemes)}, and CONTRACT.md does not allow a "
        f"{token_kind} token either"
    )

    parameters = _parameters(template, method.lower())
    segments = dict(zip(template.split("/"), path.split("/"), strict=True))
    for param in (p for p in parameters if p["in"] == "path"):
        value = segments["{" + param["name"] + "}"]
        if param["schema"].get("type") == "integer":
            assert value.isdigit(), f"{where}: path parameter {param['name']}={value!r}"

    declared = {p["name"]: p.get("schema", {}) for p in parameters if p["in"] == "query"}
    for name, values in query.items():
        if name not in declared:
            assert _documents(row, name), f"{where}: query {name} is in neither document"
            continue
        schema = declared[name]
        for value in values:
            typed: Any = int(value) if schema.get("type") == "integer" else value
            assert _fits(typed, schema), f"{where}: query {name}={value!r} against {schema}"

    request_body = operation.get("requestBody")
    if request_body is None:
        assert body is None, f"{where}: swagger has no request body, but one was sent"
        return method, template
    assert body is not None or not request_body.get("required"), f"{where}: body is required"
    schema = _resolve(request_body["content"]["application/json"]["schema"])
    for field in schema.get("required", []):
        assert field in (body or {}), f"{where}: required field {field!r} is missing"
    properties = schema.get("properties", {})
    for key, value in (body or {}).items():
        if key not in properties:
            assert _documents(row, key), f"{where}: body field {key!r} is in neither document"
            continue
        prop = _resolve(properties[key])
        assert _fits(value, prop), f"{where}: {key}={value!r} does not fit {prop}"
    return method, template


CASES = [
    pytest.param(scenario, id=f"{name}-{index}")
    for name, scenarios in SCENARIOS.items()
    for index, scenario in enumerate(scenarios)
]


@pytest.mark.parametrize("scenario", CASES)
def test_requests_match_the_spec(scenario: Scenario) -> None:
    requests_sent = _run(scenario)

    assert requests_sent, "the scenario made no request"
    for request in requests_sent:
        check_request(request)


def test_every_public_method_has_a_contract_scenario() -> None:
    public = {
        name
        for name, _ in inspect.getmembers(ChatwootClient, inspect.isfunction)
        if not name.startswith("_")
    }
    assert public == set(SCENARIOS), "add the new method to SCENARIOS (or remove a stale one)"


def test_scenarios_reach_every_endpoint() -> None:
    reached = {
        check_request(request)
        for scenarios in SCENARIOS.values()
        for scenario in scenarios
        for request in _run(scenario)
    }
    assert reached == EXPECTED_ENDPOINTS


@pytest.mark.parametrize(
    ("method", "path", "bot_allowed"),
    [
        ("POST", "/conversations/1423/custom_attributes", True),
        ("GET", "/conversations/1423/labels", True),
        ("POST", "/conversations/1423/toggle_typing_status", True),
        ("GET", "/conversations/1423/messages", False),
        ("GET", "/conversations", False),
    ],
)
def test_contract_table_is_read(method: str, path: str, bot_allowed: bool) -> None:
    # The fallback above is only as good as this parse of CONTRACT.md's table.
    row = _contract_row(method, ACCOUNT_PATH + path)
    assert row is not None
    assert _allows(row, "bot") is bot_allowed
    assert _allows(row, "user")


def test_an_unknown_endpoint_fails_the_check() -> None:
    request = requests.Request(
        "POST",
        f"{BASE}{ACCOUNT_PATH}/conversations/1423/summarise",
        headers={"api_access_token": BOT},
        json={},
    ).prepare()

    with pytest.raises(AssertionError, match="neither in swagger.json nor in CONTRACT.md"):
        check_request(request)
