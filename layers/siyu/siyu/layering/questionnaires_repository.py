"""Questionnaires (问卷), their responses and per-question answer counts, in the DynamoDB table.

Key prefix (for IAM ``dynamodb:LeadingKeys``): ``QNR#*``.

    pk = QNR#<id>  sk = QNR            the questionnaire: doc_json (title, questions, thanks, …),
                                       created_at; list_pk = QNRS / list_sk = created_at
    pk = QNR#<id>  sk = COUNTS         responses (n) and ``<question>:<option>`` /
                                       ``<question>:answered`` counters
    pk = QNR#<id>  sk = RESP#<vid>     one visitor's response: answers_json, tags, phone, contact,
                                       group, answered_at, expires_at (TTL: the retention)

A visitor answers once per questionnaire; answering again replaces the response. The response and
the counts change in one transaction whose condition is the response as it was read, so the counts
always add up to the stored responses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from siyu.core.clock import from_iso, to_precise_iso
from siyu.core.errors import StaleVersion
from siyu.layering.model import Answer, Option, Question, Questionnaire, Response
from siyu.layering.profiles_repository import expires_at
from siyu.storage import aws
from siyu.storage.codec import Item, condition_failed, n, number, s, text
from siyu.storage.paging import query_all, query_page
from siyu.storage.table import newest_first

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

QNRS = "QNRS"


def _key(questionnaire_id: str, sk: str) -> Item:
    return {"pk": s(f"QNR#{questionnaire_id}"), "sk": s(sk)}


class QuestionnairesTable:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name

    @classmethod
    def from_environment(cls) -> QuestionnairesTable:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])

    def create(self, questionnaire: Questionnaire) -> None:
        created = to_precise_iso(questionnaire.created_at)
        item = {
            **_key(questionnaire.id, "QNR"),
            "doc_json": s(_doc(questionnaire)),
            "created_at": s(created),
            "list_pk": s(QNRS),
            "list_sk": s(created),
        }
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, questionnaire_id: str) -> Questionnaire | None:
        item = self._client.get_item(TableName=self._table, Key=_key(questionnaire_id, "QNR")).get("Item")
        return _questionnaire(item) if item else None

    def page(self, limit: int, cursor: str | None) -> tuple[list[Questionnaire], str | None]:
        items, next_cursor = query_page(self._client, newest_first(self._table, QNRS, limit), cursor)
        return [_questionnaire(i) for i in items], next_cursor

    def response(self, questionnaire_id: str, visitor_id: str) -> Response | None:
        key = _key(questionnaire_id, f"RESP#{visitor_id}")
        item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return _response(item) if item else None

    def save_response(
        self,
        response: Response,
        replaces: Response | None,
        counts: Mapping[str, int],
        now: datetime,
    ) -> None:
        """Store `response` (replacing `replaces`, which must still be the stored one: StaleVersion
        otherwise) and add `counts` (negative for what the replaced response had counted)."""
        put: dict[str, Any] = {"TableName": self._table, "Item": _response_item(response, now)}
        if replaces is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "answered_at = :was"
            put["ExpressionAttributeValues"] = {":was": s(to_precise_iso(replaces.answered_at))}
        writes: list[Any] = [{"Put": put}]
        changes = {name: value for name, value in counts.items() if value}
        if changes:
            names = {f"#c{i}": name for i, name in enumerate(changes)}
            values = {f":c{i}": n(value) for i, value in enumerate(changes.values())}
            writes.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _key(response.questionnaire_id, "COUNTS"),
                        "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(changes))),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if condition_failed(error):
                raise StaleVersion(f"response {response.questionnaire_id}/{response.visitor_id}") from None
            raise

    def erase_response(self, response: Response, counts: Mapping[str, int]) -> None:
        """Delete a response and take its counts back (an erasure request)."""
        key = _key(response.questionnaire_id, f"RESP#{response.visitor_id}")
        writes: list[Any] = [{"Delete": {"TableName": self._table, "Key": key}}]
        changes = {name: -value for name, value in counts.items() if value}
        if changes:
            names = {f"#c{i}": name for i, name in enumerate(changes)}
            values = {f":c{i}": n(value) for i, value in enumerate(changes.values())}
            update = "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(changes)))
            writes.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _key(response.questionnaire_id, "COUNTS"),
                        "UpdateExpression": update,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        self._client.transact_write_items(TransactItems=writes)

    def counts(self, questionnaire_id: str) -> dict[str, int]:
        item = self._client.get_item(TableName=self._table, Key=_key(questionnaire_id, "COUNTS")).get("Item", {})
        return {name: number(item, name) for name in item if name not in ("pk", "sk")}

    def responses(self, questionnaire_id: str) -> Iterator[Response]:
        """Every stored response (a query of the questionnaire's own partition: the CSV export)."""
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :resp)",
            "ExpressionAttributeValues": {":pk": s(f"QNR#{questionnaire_id}"), ":resp": s("RESP#")},
        }
        return (_response(item) for item in query_all(self._client, query))


def _doc(questionnaire: Questionnaire) -> str:
    document = asdict(questionnaire)
    document.pop("id")
    document.pop("created_at")
    return json.dumps(document, ensure_ascii=False, sort_keys=True)


def _questionnaire(item: Item) -> Questionnaire:
    doc = json.loads(item["doc_json"]["S"])
    questions = tuple(
        Question(
            text=q["text"],
            kind=q["kind"],
            options=tuple(Option(o["label"], o.get("tag")) for o in q.get("options", [])),
            required=bool(q.get("required", True)),
        )
        for q in doc["questions"]
    )
    return Questionnaire(
        id=item["pk"]["S"].removeprefix("QNR#"),
        title=doc["title"],
        questions=questions,
        created_at=from_iso(item["created_at"]["S"]),
        intro=doc.get("intro"),
        thanks=doc.get("thanks") or Questionnaire.thanks,
        thanks_link=doc.get("thanks_link"),
        signup=bool(doc.get("signup", False)),
    )


def _response_item(response: Response, now: datetime) -> Item:
    answers = [{"q": a.question, "labels": list(a.labels), "text": a.text} for a in response.answers]
    item: Item = {
        **_key(response.questionnaire_id, f"RESP#{response.visitor_id}"),
        "answers_json": s(json.dumps(answers, ensure_ascii=False)),
        "answered_at": s(to_precise_iso(response.answered_at)),
        "expires_at": expires_at(now),
    }
    if response.tags:
        item["tags"] = {"SS": sorted(response.tags)}
    for name in ("phone", "contact", "group"):
        value = getattr(response, name)
        if value:
            item[name] = s(value)
    return item


def _response(item: Item) -> Response:
    answers = tuple(
        Answer(a["q"], tuple(a.get("labels", [])), a.get("text")) for a in json.loads(item["answers_json"]["S"])
    )
    return Response(
        questionnaire_id=item["pk"]["S"].removeprefix("QNR#"),
        visitor_id=item["sk"]["S"].removeprefix("RESP#"),
        answers=answers,
        tags=frozenset(item.get("tags", {}).get("SS", [])),
        answered_at=from_iso(item["answered_at"]["S"]),
        phone=text(item, "phone"),
        contact=text(item, "contact"),
        group=text(item, "group"),
    )
