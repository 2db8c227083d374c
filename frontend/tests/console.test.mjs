// The console in a real browser against a real server with the demo tenant.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BASE, OWNER, accessibilityProblems, gql, launch, member, nextItemOnnx, shot, signIn, token } from "./harness.mjs";

let browser;
before(async () => {
  browser = await launch();
});
/** A fresh owner's access token (they last 15 minutes; the suite may take longer). */
const owner = () => token(OWNER.email, OWNER.password);
after(async () => browser?.close());

async function personWithConsent() {
  const data = await gql(
    "{ endUsers(first: 5, filter: { consentPersonalization: true, plan: \"premium\" }) { nodes { id } } }",
    {},
    await owner(),
  );
  return data.endUsers.nodes.map((n) => n.id);
}

test("sign in; the overview's figures equal what statistics returns", async () => {
  const page = await signIn(browser);
  const stats = await gql("{ statistics { counts { items users interactions } } }", {}, await owner());
  const c = stats.statistics.counts;
  assert.ok(c.items > 1000 && c.interactions > 50000, JSON.stringify(c));
  const fmt = (n) => n.toLocaleString("en-US");
  await page.getByTestId("count-items").filter({ hasText: fmt(c.items) }).waitFor();
  assert.equal(await page.getByTestId("count-users").textContent(), fmt(c.users));
  assert.equal(await page.getByTestId("count-interactions").textContent(), fmt(c.interactions));
  await page.getByTestId("active-model").getByText("active", { exact: true }).waitFor();
  await page.getByTestId("fairness-verdict").getByText("WARN").first().waitFor();
  await shot(page, "overview");
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.close();
});

test("catalog search and filters", async () => {
  const page = await signIn(browser);
  await page.getByRole("link", { name: "Catalog" }).click();
  await page.getByTestId("catalog-table").locator("tbody tr").first().waitFor();
  await page.getByRole("combobox", { name: "Kind" }).click();
  await page.getByRole("option", { name: /^GAME/ }).click();
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll("[data-testid=catalog-table] tbody tr")];
    return rows.length > 0 && rows.every((r) => r.children[1]?.textContent === "GAME");
  });
  const some = await gql('{ contents(first: 1, filter: { kinds: [GAME] }) { nodes { title } } }', {}, await owner());
  const title = some.contents.nodes[0].title;
  await page.getByLabel("Search titles and descriptions").fill(title);
  await page.getByTestId("catalog-table").getByRole("link", { name: title }).first().waitFor();
  await shot(page, "catalog");
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.getByTestId("catalog-table").getByRole("link", { name: title }).first().click();
  await page.getByTestId("similar-items").locator("tr").first().waitFor();
  await shot(page, "content");
  await page.close();
});

test("a person's explained recommendations and a consent change", async () => {
  const [id] = await personWithConsent();
  const page = await signIn(browser);
  await page.goto(`${BASE}/console/audience/${id}`);
  await page.getByTestId("strategy").filter({ hasText: "PERSONALIZED" }).waitFor();
  assert.ok((await page.getByTestId("recommendation").count()) >= 5);
  assert.ok((await page.getByTestId("contribution-bar").count()) >= 1, "contribution bars are shown");
  await shot(page, "person");
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.getByRole("switch", { name: "Personalization" }).click({ force: true });
  await page.getByTestId("fallback-reason").waitFor();
  assert.notEqual(await page.getByTestId("strategy").textContent(), "PERSONALIZED");
  const consent = await gql(`{ endUser(id: "${id}") { consent { personalization } } }`, {}, await owner());
  assert.equal(consent.endUser.consent.personalization, false);
  await page.getByRole("switch", { name: "Personalization" }).click({ force: true });
  await page.getByTestId("strategy").filter({ hasText: "PERSONALIZED" }).waitFor();
  await page.close();
});

const activeModel = async () =>
  (await gql("{ models(first: 50) { nodes { id active } } }", {}, await owner())).models.nodes.find((m) => m.active)?.id;

test("train a model, watch it finish, deploy it and roll back", async () => {
  const before = await activeModel();
  const page = await signIn(browser);
  await page.getByRole("link", { name: "Models" }).click();
  await page.getByTestId("tuning-chart").waitFor();
  await page.getByRole("combobox", { name: "Algorithm" }).click();
  await page.getByRole("option", { name: "MOST_POPULAR" }).click();
  await page.getByRole("button", { name: "Train" }).click();
  const row = page.getByTestId("models-table").locator("tbody tr").filter({ hasText: "MOST_POPULAR" }).first();
  await row.getByText("READY").waitFor({ timeout: 120_000 });
  await row.getByRole("button", { name: "Deploy" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByTestId("deploy-comparison").waitFor();
  await shot(page, "deploy-comparison");
  await dialog.getByLabel("Deploy even if it is worse").check();
  await dialog.getByRole("button", { name: "Deploy" }).click();
  await row.getByText("active", { exact: true }).waitFor({ timeout: 60_000 }).catch(async (e) => {
    await shot(page, "models-deploy-failed");
    throw e;
  });
  await shot(page, "models");
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.getByRole("button", { name: "Roll back" }).click();
  await row.getByText("active", { exact: true }).waitFor({ state: "detached" });
  assert.equal(await activeModel(), before, "the roll back returns to the model active before");
  await page.close();
});

test("a fairness report's charts", async () => {
  const page = await signIn(browser);
  await page.getByRole("link", { name: "Fairness" }).click();
  await page.getByTestId("fairness-report").waitFor();
  assert.ok((await page.getByTestId("quality-chart").count()) >= 2);
  assert.ok((await page.getByTestId("exposure-chart").count()) >= 2);
  await page.getByTestId("fairness-report").getByText("WARN").first().waitFor();
  await shot(page, "fairness");
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.close();
});

test("export and erase a person, then the audit log verifies", async () => {
  const ids = await personWithConsent();
  const id = ids[ids.length - 1];
  const page = await signIn(browser);
  await page.goto(`${BASE}/console/audience/${id}`);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export data" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /marquee-export-/);
  await page.getByRole("button", { name: "Erase person" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Person's id").fill(id);
  await dialog.getByRole("button", { name: `Erase ${id}` }).click();
  await page.getByTestId("erasure-receipt").waitFor();
  const gone = await gql(`{ endUser(id: "${id}") { id } }`, {}, await owner(), true);
  assert.equal(gone.errors?.[0]?.extensions?.code, "NOT_FOUND");
  await page.getByRole("link", { name: "Privacy" }).click();
  await page.getByTestId("receipts-table").locator("tbody tr").first().waitFor();
  await shot(page, "privacy");
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("button", { name: "Verify the log" }).click();
  await page.getByTestId("audit-verification").getByText("Intact").waitFor();
  await shot(page, "audit");
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.close();
});

test("what a viewer, an analyst and an owner see; a viewer's mutation is FORBIDDEN", async () => {
  const viewer = await member("VIEWER");
  const viewerPage = await signIn(browser, viewer);
  await viewerPage.getByTestId("count-items").waitFor();
  assert.equal(await viewerPage.getByRole("link", { name: "Audience" }).count(), 0);
  await viewerPage.getByRole("link", { name: "Models" }).click();
  await viewerPage.getByTestId("models-table").waitFor();
  assert.equal(await viewerPage.getByRole("button", { name: "Train" }).count(), 0);
  await shot(viewerPage, "role-viewer");
  await viewerPage.close();
  const viewerToken = await token(viewer.email, viewer.password);
  const refused = await gql("mutation { trainModel(input: { algorithm: MOST_POPULAR }) { model { id } } }", {}, viewerToken, true);
  assert.equal(refused.errors?.[0]?.extensions?.code, "FORBIDDEN");

  const [id] = await personWithConsent();
  const analyst = await member("ANALYST");
  const analystPage = await signIn(browser, analyst);
  await analystPage.goto(`${BASE}/console/audience/${id}`);
  await analystPage.getByTestId("recommendations").waitFor();
  assert.equal(await analystPage.getByRole("button", { name: "Erase person" }).count(), 0);
  assert.ok(await analystPage.getByRole("switch", { name: "Personalization" }).isDisabled());
  await shot(analystPage, "role-analyst");
  await analystPage.close();

  const ownerPage = await signIn(browser);
  await ownerPage.goto(`${BASE}/console/audience/${id}`);
  await ownerPage.getByRole("button", { name: "Erase person" }).waitFor();
  await ownerPage.close();
});

test("the layout works on a phone", async () => {
  const page = await signIn(browser, OWNER, { width: 390, height: 844 });
  await page.getByTestId("count-items").waitFor();
  await page.getByRole("button", { name: "Toggle navigation" }).click();
  await page.getByRole("link", { name: "Catalog" }).click();
  await page.getByTestId("catalog-table").locator("tbody tr").first().waitFor();
  await shot(page, "phone-catalog");
  await page.close();
});

test("create an API key, see its secret once, revoke it; invite, re-role and remove a member", async () => {
  const name = `browser test key ${Date.now()}`;
  const page = await signIn(browser);
  await page.getByRole("link", { name: "Access" }).click();
  await page.getByLabel("Key name").fill(name);
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = (await page.getByTestId("new-key-secret").locator("code").textContent()) ?? "";
  assert.match(secret, /^mq_live_/);
  const works = await gql("{ viewer { kind } }", {}, secret, true);
  assert.equal(works.data?.viewer.kind, "API_KEY", JSON.stringify(works));
  await shot(page, "access");
  assert.deepEqual(await accessibilityProblems(page), []);
  // The secret is never shown again: a reload lists the key without it.
  await page.reload();
  await page.getByTestId("keys-table").getByRole("cell", { name, exact: true }).waitFor();
  assert.equal(await page.getByTestId("new-key-secret").count(), 0);
  // The list says how many keys there are (totalCount), as many as its rows here.
  const keyRows = await page.getByTestId("keys-table").locator("tbody tr").count();
  assert.equal(await page.getByTestId("keys-count").textContent(), `${keyRows} ${keyRows === 1 ? "key" : "keys"}`);
  assert.equal(await page.getByText(secret).count(), 0);
  await page.getByRole("button", { name: `Revoke ${name}` }).click();
  await page.getByTestId("keys-table").locator("tr", { hasText: name }).getByText("revoked").waitFor();
  const refused = await gql("{ viewer { kind } }", {}, secret, true);
  assert.equal(refused.errors?.[0]?.extensions?.code, "UNAUTHENTICATED");

  const email = `invited-${Date.now()}@demo.example`;
  await page.getByLabel("E-mail to invite").fill(email);
  await page.getByRole("button", { name: "Invite" }).click();
  await page.getByTestId("invite-token").waitFor();
  const row = page.getByTestId("members-table").locator("tr", { hasText: email });
  await row.getByRole("cell", { name: "INVITED", exact: true }).waitFor();
  await row.getByRole("combobox", { name: `Role of ${email}` }).click();
  await page.getByRole("option", { name: "ANALYST" }).click();
  await page.waitForFunction(
    async (mail) => {
      const input = [...document.querySelectorAll("input")].find((i) => i.getAttribute("aria-label") === `Role of ${mail}`);
      return input?.value === "ANALYST";
    },
    email,
  );
  const members = await gql("{ members(first: 100) { nodes { email role } } }", {}, await owner());
  assert.equal(members.members.nodes.find((m) => m.email === email)?.role, "ANALYST");
  await row.getByRole("button", { name: `Remove ${email}` }).click();
  await row.getByRole("cell", { name: "DISABLED", exact: true }).waitFor();
  await page.close();
});

test("change a setting", async () => {
  const page = await signIn(browser);
  await page.getByRole("link", { name: "Settings" }).click();
  const retention = page.getByLabel("Keep interactions for (days, empty: forever)");
  await retention.fill("400");
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByTestId("settings-saved").waitFor();
  const settings = await gql("{ tenantSettings { interactionRetentionDays } }", {}, await owner());
  assert.equal(settings.tenantSettings.interactionRetentionDays, 400);
  await shot(page, "settings");
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.close();
});

test("the session lives in HttpOnly cookies with a CSRF header; a reload keeps it; logging out revokes it", async () => {
  const page = await signIn(browser);
  const jar = async () => Object.fromEntries((await page.context().cookies()).map((c) => [c.name, c]));
  const cookies = await jar();
  for (const name of ["mq_access", "mq_refresh"]) {
    assert.equal(cookies[name]?.httpOnly, true, `${name} is HttpOnly`);
    assert.equal(cookies[name].sameSite, "Strict");
  }
  assert.equal(cookies.mq_refresh.path, "/auth/session");
  assert.equal(cookies.mq_csrf.httpOnly, false);
  // Nothing of the session is readable by the page but the CSRF value.
  const visible = await page.evaluate(() => ({
    cookie: document.cookie,
    stored: localStorage.length + sessionStorage.length,
  }));
  assert.equal(visible.stored, 0);
  assert.ok(!visible.cookie.includes("mq_access") && !visible.cookie.includes("mq_refresh"), visible.cookie);
  // A request with the cookies but without the header is refused.
  const forged = await page.evaluate(async () => {
    const res = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query: "{ viewer { kind } }" }),
    });
    return { status: res.status, body: await res.json() };
  });
  assert.equal(forged.status, 403);
  assert.equal(forged.body.errors?.[0]?.extensions?.code, "CSRF_REJECTED");

  await page.reload();
  await page.getByTestId("count-items").waitFor();
  const { mq_refresh: refresh, mq_csrf: csrf } = await jar();
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  assert.deepEqual(Object.keys(await jar()), [], "logging out clears the cookies");
  // The refresh token the browser held is revoked on the server.
  const res = await fetch(`${BASE}/auth/session/refresh`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Cookie: `mq_refresh=${refresh.value}; mq_csrf=${csrf.value}`,
      "X-CSRF-Token": csrf.value,
    },
    body: "{}",
  });
  assert.equal(res.status, 401);
  await page.close();
});

test("an item's page shows its insights: engagement, audience with suppressed groups, nearest items", async () => {
  const top = await gql("{ statistics { topContent(first: 1) { content { id title } users } } }", {}, await owner());
  const item = top.statistics.topContent[0];
  const insights = await gql(
    `{ contentInsights(contentId: "${item.content.id}") { audienceSize audience { attribute suppressedGroups } nearestByBehaviour { score } } }`,
    {},
    await owner(),
  );
  const ci = insights.contentInsights;
  const page = await signIn(browser);
  await page.goto(`${BASE}/console/catalog/${encodeURIComponent(item.content.id)}`);
  await page.getByTestId("content-insights").waitFor();
  await page.getByTestId("engagement-chart").waitFor();
  assert.equal(
    await page.getByTestId("insights-audience-size").locator("b").textContent(),
    String(ci.audienceSize),
  );
  assert.equal(await page.getByTestId("audience-composition").locator(".mantine-Card-root").count(), ci.audience.length);
  const suppressed = ci.audience.filter((b) => b.suppressedGroups > 0).length;
  assert.equal(await page.getByTestId("suppressed-groups").count(), suppressed);
  if (ci.nearestByBehaviour.length > 0) {
    assert.equal(
      await page.getByTestId("nearest-by-behaviour").locator("tr").count(),
      ci.nearestByBehaviour.length,
    );
  }
  await page.getByTestId("nearest-by-content").waitFor();
  await shot(page, "content-insights");
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.close();
});

test("the audit log filters by time and lists signed checkpoints", async () => {
  // Every sign-in adds events, so the log only grows while the test reads it.
  const eventsBefore = (await gql("{ auditEvents(first: 1) { totalCount } }", {}, await owner())).auditEvents.totalCount;
  const page = await signIn(browser);
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByTestId("audit-table").locator("tbody tr").first().waitFor();
  const label = page.getByTestId("page-label").first();
  const results = (n) => new RegExp(`· ${n.toLocaleString("en-US")} results?$`);
  const [, pages, shown] = (await label.textContent()).match(/^Page 1 of ([\d,]+) · ([\d,]+) results$/) ?? [];
  const number = (text) => Number(text.replaceAll(",", ""));
  assert.ok(number(shown) >= eventsBefore, `${shown} results, ${eventsBefore} before signing in`);
  assert.equal(number(pages), Math.ceil(number(shown) / 25));
  // A window in the future holds no event; one from an hour ago holds the recent ones.
  const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  await page.getByLabel("From", { exact: true }).fill(local(new Date(Date.now() + 24 * 3600_000)));
  await label.filter({ hasText: results(0) }).waitFor();
  assert.equal(await page.getByTestId("audit-table").locator("tbody tr").count(), 0);
  const since = new Date(Date.now() - 3600_000);
  await page.getByLabel("From", { exact: true }).fill(local(since));
  const from = new Date(local(since)).toISOString();
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=audit-table] tbody tr").length > 0);
  const recent = await gql(
    "query($f: DateTime) { auditEvents(first: 1, filter: { from: $f }) { totalCount } }",
    { f: from },
    await owner(),
  );
  assert.ok(recent.auditEvents.totalCount > 0);

  const table = page.getByTestId("checkpoints-table");
  await table.waitFor();
  const before = (await gql("{ auditCheckpoints(first: 1) { totalCount } }", {}, await owner())).auditCheckpoints.totalCount;
  const firstSeq = "[data-testid=checkpoints-table] tbody tr td";
  const was = await page.evaluate((sel) => document.querySelector(sel)?.textContent ?? "", firstSeq);
  await page.getByRole("button", { name: "Sign a checkpoint now" }).click();
  await page.waitForFunction(([sel, old]) => (document.querySelector(sel)?.textContent ?? "") !== old, [firstSeq, was]);
  const latest = (await gql("{ auditCheckpoints(first: 1) { totalCount nodes { seq } } }", {}, await owner())).auditCheckpoints;
  assert.equal(latest.totalCount, before + 1);
  assert.equal(await table.locator("tbody tr").first().locator("td").first().textContent(), String(latest.nodes[0].seq));
  await shot(page, "audit-checkpoints");
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.close();
});

test("upload an ONNX model on the Models view", async () => {
  const ids = (await gql("{ contents(first: 6) { nodes { id } } }", {}, await owner())).contents.nodes.map((n) => n.id);
  const file = join(mkdtempSync(join(tmpdir(), "marquee-onnx-")), "next-item.onnx");
  writeFileSync(file, nextItemOnnx(ids.length));
  const name = `browser upload ${Date.now()}`;
  const newestBefore = (await gql("{ models(first: 1) { nodes { id } } }", {}, await owner())).models.nodes[0]?.id;
  const page = await signIn(browser);
  await page.getByRole("link", { name: "Models" }).click();
  await page.getByTestId("models-table").waitFor();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.locator("input[type=file]").setInputFiles(file);
  await page.getByLabel("Item ids, in the model's output order").fill(ids.join("\n"));
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  const row = page.getByTestId("models-table").locator("tbody tr").filter({ hasText: "UPLOADED" }).first();
  await row.getByText("READY").waitFor();
  const newest = (await gql("{ models(first: 1) { nodes { id algorithm status } } }", {}, await owner())).models.nodes[0];
  assert.equal(newest.algorithm, "UPLOADED", JSON.stringify(newest));
  assert.equal(newest.status, "READY");
  assert.notEqual(newest.id, newestBefore);
  await shot(page, "models-upload");
  await page.close();
});
