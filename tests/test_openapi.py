"""The API answers as its OpenAPI document says, for every role: schemathesis over /api/openapi.json, in-process.

No server error; no status code, content type, header or body the document does not declare (a status only
under `default` counts as undeclared: each operation lists its own, and 401/403/404 through request_input.py); every request
the document calls valid is accepted (or refused only for the caller's role or a missing record); every
invalid one is refused. A bounded number of examples per operation and mode keeps the run short.
"""
from __future__ import annotations

import datetime as dt

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from retention.extensions import db
from retention.journeys.service import ensure_default_journey
from retention.postal.service import ensure_default_templates
from tests.factories import customer, sale_completed, staff, token_for

ROLES = ("onboarding", "marketing", "print", "admin")
EXAMPLES = 12


@schemathesis.check
def status_code_listed(ctx, response, case):
    """The status is one the operation lists by number: every operation also has `default` (any error, with the
    error body), which would let status_code_conformance pass any status at all."""
    listed = {str(code) for code in case.operation.definition.raw.get("responses", {}) if code != "default"}
    if str(response.status_code) not in listed:
        raise AssertionError(f"{response.status_code} is not listed for {case.operation.label} "
                             f"(it lists {', '.join(sorted(listed))})")


def _names_records(case) -> set[str]:
    """Body fields the document marks `x-names-record` (a customer id, a person's email, a category key...)."""
    body = case.operation.definition.raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = body.get("schema", {})
    if "$ref" in schema:
        schema = case.operation.schema.raw_schema["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return {name for name, prop in schema.get("properties", {}).items() if "x-names-record" in prop}


@schemathesis.check
def positive_data_accepted(ctx, response, case):
    """A valid request is accepted, or refused for the caller's role or a missing record: a record named in the
    path is 404; one named in the body is 422 naming that field (a field marked `x-names-record`)."""
    if response.status_code == 422 and case.meta is not None and case.meta.generation.mode.is_positive:
        body = response.json() if response.headers.get("content-type", [""])[0].startswith("application/json") else {}
        named = set(((body or {}).get("errors") or {}).get("json") or {})
        if named and named <= _names_records(case) and str(body.get("message", "")).split(":")[0] in named:
            return None
    return checks.positive_data_acceptance(ctx, response, case)


CHECKS = [checks.not_a_server_error, checks.status_code_conformance, status_code_listed,
          checks.content_type_conformance, checks.response_headers_conformance, checks.response_schema_conformance]
POSITIVE = CHECKS + [positive_data_accepted]
NEGATIVE = CHECKS + [checks.negative_data_rejection]


def _run(operation, mode: GenerationMode, tokens: dict) -> None:
    # The token is given, not generated: a request is negative for its data, not for a missing token.
    first = {"Authorization": f"Bearer {next(iter(tokens.values()))}"}

    @given(case=operation.as_strategy(generation_mode=mode, headers=first))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        for token in tokens.values():
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                   checks=POSITIVE if mode is GenerationMode.POSITIVE else NEGATIVE)

    check()


def test_api_matches_its_document_for_every_role(app, client, signer, queue):
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    ensure_default_journey(db.session, start)
    ensure_default_templates(db.session, start)
    tokens = {role: token_for(app, staff(app, f"{role}@example.com", role)) for role in ROLES}
    signer.post(client, sale_completed(cust=customer("C1")))
    queue.drain()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in GenerationMode:
            try:
                _run(operation, mode, tokens)
            except Unsatisfiable:  # an operation without inputs has no invalid request to send
                assert mode is GenerationMode.NEGATIVE
            except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all failures are reported together
                failures.append(f"--- {operation.label} ({mode.value}) ---\n{exc}")
    assert operations >= 15
    assert not failures, "\n".join(failures)
