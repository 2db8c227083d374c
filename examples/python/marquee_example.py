"""A partner studio's backend talking to Marquee with the `gql` client.

Pushes a small catalog and the events of a few people, trains a model, deploys it and
prints explained recommendations. Environment: MARQUEE_URL (default
http://127.0.0.1:8080) and MARQUEE_API_KEY (a key with catalog:write, events:write,
models:manage and recommendations:read; a tenant's first key has them all).

Exits non-zero when the server refuses anything or no recommendation comes with an
explanation, so scripts/examples.sh can run it in CI.
"""

import os
import sys
import time

from gql import Client, gql
from gql.transport.requests import RequestsHTTPTransport

PREFIX = "py"

UPSERT_CONTENTS = gql(
    """
    mutation Upsert($contents: [ContentInput!]!) {
      upsertContents(contents: $contents) { accepted errors { index code message } }
    }
    """
)
RECORD = gql(
    """
    mutation Record($events: [InteractionInput!]!) {
      recordInteractions(events: $events) { accepted duplicates errors { index code message } }
    }
    """
)
TRAIN = gql(
    """
    mutation Train($input: TrainModelInput!) {
      trainModel(input: $input) { model { id } job { id } }
    }
    """
)
JOB = gql("query Job($id: ID!) { job(id: $id) { status progress error } }")
DEPLOY = gql("mutation Deploy($id: ID!) { deployModel(id: $id, allowWorse: true) { id status } }")
RECOMMEND = gql(
    """
    query Recommend($user: String!) {
      recommendations(userId: $user, first: 3, explain: true) {
        strategy
        items {
          rank
          contentId
          content { title }
          explanation { summary contributions { title share } }
        }
      }
    }
    """
)


def catalog():
    """Two tastes: action movies and romance series, eight of each."""
    items = []
    for i in range(8):
        items.append({"id": f"{PREFIX}-action-{i}", "kind": "MOVIE", "title": f"Explosions {i}",
                      "genres": ["Action"], "provider": "Studio A"})
        items.append({"id": f"{PREFIX}-romance-{i}", "kind": "SERIES", "title": f"Hearts {i}",
                      "genres": ["Romance"], "provider": "Studio B"})
    return items


def events():
    """Twenty people, each playing six items of one taste (evaluation needs five)."""
    out = []
    for person in range(20):
        taste = "action" if person < 10 else "romance"
        for j in range(6):
            item = (person * 3 + j) % 8
            out.append({
                "eventId": f"{PREFIX}-e-{person}-{j}",
                "userId": f"{PREFIX}-user-{person}",
                "contentId": f"{PREFIX}-{taste}-{item}",
                "type": "PLAY",
            })
    return out


def refused(what, answer):
    if answer["errors"]:
        sys.exit(f"{what}: rows refused: {answer['errors']}")


def main():
    url = os.environ.get("MARQUEE_URL", "http://127.0.0.1:8080").rstrip("/")
    key = os.environ.get("MARQUEE_API_KEY")
    if not key:
        sys.exit("set MARQUEE_API_KEY")
    transport = RequestsHTTPTransport(url=f"{url}/graphql", headers={"Authorization": f"Bearer {key}"}, timeout=60)
    with Client(transport=transport, fetch_schema_from_transport=False) as session:
        refused("upsertContents", session.execute(UPSERT_CONTENTS, variable_values={"contents": catalog()})["upsertContents"])
        recorded = session.execute(RECORD, variable_values={"events": events()})["recordInteractions"]
        refused("recordInteractions", recorded)
        print(f"catalog: 16 items; events: {recorded['accepted']} new, {recorded['duplicates']} already stored")

        trained = session.execute(TRAIN, variable_values={"input": {"algorithm": "ITEM_KNN"}})["trainModel"]
        deadline = time.monotonic() + 90
        while True:
            job = session.execute(JOB, variable_values={"id": trained["job"]["id"]})["job"]
            if job["status"] == "SUCCEEDED":
                break
            if job["status"] in ("FAILED", "CANCELLED") or time.monotonic() > deadline:
                sys.exit(f"training did not succeed: {job}")
            time.sleep(0.5)
        model = session.execute(DEPLOY, variable_values={"id": trained["model"]["id"]})["deployModel"]
        print(f"model {model['id']} trained and deployed")

        explained = 0
        for user in (f"{PREFIX}-user-0", f"{PREFIX}-user-15"):
            answer = session.execute(RECOMMEND, variable_values={"user": user})["recommendations"]
            print(f"\nrecommendations for {user} ({answer['strategy']}):")
            for item in answer["items"]:
                title = (item["content"] or {}).get("title") or item["contentId"]
                explanation = item["explanation"] or {}
                print(f"  {item['rank']}. {title}: {explanation.get('summary', '(no explanation)')}")
                for c in explanation.get("contributions", []):
                    print(f"       because of {c['title']}: {c['share'] * 100:.0f}%")
                if explanation.get("contributions"):
                    explained += 1
        if explained == 0:
            sys.exit("no recommendation came with an explanation")
        print(f"\n{explained} explained recommendations")


if __name__ == "__main__":
    main()
