// A partner studio's backend talking to Marquee, with every operation typed from the
// server's schema.graphql by GraphQL code generation (the console's own set-up).
//
// Pushes a small catalog and the events of a few people, trains a model, deploys it and
// prints explained recommendations. Environment: MARQUEE_URL (default
// http://127.0.0.1:8080) and MARQUEE_API_KEY (a key with catalog:write, events:write,
// models:manage and recommendations:read). Exits non-zero when the server refuses
// anything or no recommendation comes with an explanation.

import { graphql } from "./gql";
import type { ContentInput, InteractionInput } from "./gql/graphql";
import type { TypedDocumentString } from "./gql/graphql";

const URL = (process.env.MARQUEE_URL ?? "http://127.0.0.1:8080").replace(/\/$/, "");
const KEY = process.env.MARQUEE_API_KEY ?? "";
const PREFIX = "ts";

const Upsert = graphql(`
  mutation ExampleUpsert($contents: [ContentInput!]!) {
    upsertContents(contents: $contents) {
      accepted
      errors {
        index
        code
        message
      }
    }
  }
`);

const Record = graphql(`
  mutation ExampleRecord($events: [InteractionInput!]!) {
    recordInteractions(events: $events) {
      accepted
      duplicates
      errors {
        index
        code
        message
      }
    }
  }
`);

const Train = graphql(`
  mutation ExampleTrain($input: TrainModelInput!) {
    trainModel(input: $input) {
      model {
        id
      }
      job {
        id
      }
    }
  }
`);

const JobStatus = graphql(`
  query ExampleJob($id: ID!) {
    job(id: $id) {
      status
      progress
      error
    }
  }
`);

const Deploy = graphql(`
  mutation ExampleDeploy($id: ID!) {
    deployModel(id: $id, allowWorse: true) {
      id
      status
    }
  }
`);

const Recommend = graphql(`
  query ExampleRecommend($user: String!) {
    recommendations(userId: $user, first: 3, explain: true) {
      strategy
      items {
        rank
        contentId
        content {
          title
        }
        explanation {
          summary
          contributions {
            title
            share
          }
        }
      }
    }
  }
`);

class RefusedError extends Error {}

/** Runs one typed operation; the API's errors become exceptions with their codes. */
async function request<R, V>(doc: TypedDocumentString<R, V>, variables: V): Promise<R> {
  const response = await fetch(`${URL}/graphql`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json, application/json",
      Authorization: `Bearer ${KEY}`,
    },
    body: JSON.stringify({ query: doc.toString(), variables }),
  });
  const body = (await response.json()) as { data?: R; errors?: { message: string; extensions?: { code?: string } }[] };
  if (body.errors?.length) {
    const e = body.errors[0];
    throw new RefusedError(`${e.extensions?.code ?? "ERROR"}: ${e.message}`);
  }
  if (!body.data) throw new RefusedError(`HTTP ${response.status} without data`);
  return body.data;
}

function catalog(): ContentInput[] {
  const items: ContentInput[] = [];
  for (let i = 0; i < 8; i++) {
    items.push({ id: `${PREFIX}-action-${i}`, kind: "MOVIE", title: `Explosions ${i}`, genres: ["Action"], provider: "Studio A" });
    items.push({ id: `${PREFIX}-romance-${i}`, kind: "SERIES", title: `Hearts ${i}`, genres: ["Romance"], provider: "Studio B" });
  }
  return items;
}

/** Twenty people, each playing six items of one taste (evaluation needs five). */
function events(): InteractionInput[] {
  const out: InteractionInput[] = [];
  for (let person = 0; person < 20; person++) {
    const taste = person < 10 ? "action" : "romance";
    for (let j = 0; j < 6; j++) {
      const item = (person * 3 + j) % 8;
      out.push({
        eventId: `${PREFIX}-e-${person}-${j}`,
        userId: `${PREFIX}-user-${person}`,
        contentId: `${PREFIX}-${taste}-${item}`,
        type: "PLAY",
      });
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  if (!KEY) throw new RefusedError("set MARQUEE_API_KEY");
  const upserted = (await request(Upsert, { contents: catalog() })).upsertContents;
  if (upserted.errors.length) throw new RefusedError(`catalog rows refused: ${JSON.stringify(upserted.errors)}`);
  const recorded = (await request(Record, { events: events() })).recordInteractions;
  if (recorded.errors.length) throw new RefusedError(`events refused: ${JSON.stringify(recorded.errors)}`);
  console.log(`catalog: ${upserted.accepted} items; events: ${recorded.accepted} new, ${recorded.duplicates} already stored`);

  const trained = (await request(Train, { input: { algorithm: "ITEM_KNN" } })).trainModel;
  const deadline = Date.now() + 90_000;
  for (;;) {
    const { job } = await request(JobStatus, { id: trained.job.id });
    if (job.status === "SUCCEEDED") break;
    if (job.status === "FAILED" || job.status === "CANCELLED" || Date.now() > deadline) {
      throw new RefusedError(`training did not succeed: ${JSON.stringify(job)}`);
    }
    await sleep(500);
  }
  const model = (await request(Deploy, { id: trained.model.id })).deployModel;
  console.log(`model ${model.id} trained and deployed`);

  let explained = 0;
  for (const user of [`${PREFIX}-user-0`, `${PREFIX}-user-15`]) {
    const list = (await request(Recommend, { user })).recommendations;
    console.log(`\nrecommendations for ${user} (${list.strategy}):`);
    for (const item of list.items) {
      const title = item.content?.title ?? item.contentId;
      console.log(`  ${item.rank}. ${title}: ${item.explanation?.summary ?? "(no explanation)"}`);
      for (const c of item.explanation?.contributions ?? []) {
        console.log(`       because of ${c.title}: ${Math.round(c.share * 100)}%`);
      }
      if (item.explanation?.contributions.length) explained++;
    }
  }
  if (explained === 0) throw new RefusedError("no recommendation came with an explanation");
  console.log(`\n${explained} explained recommendations`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
