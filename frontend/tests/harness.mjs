// What every browser test needs: the server under test (started by
// scripts/browser-tests.sh with a fresh demo tenant), Debian's Chromium driven by
// playwright-core, the GraphQL API for checking figures, screenshots and axe-core.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = require("axe-core").source;

export const BASE = process.env.MARQUEE_URL ?? "http://127.0.0.1:8080";
export const SHOTS = process.env.SCREENSHOT_DIR ?? "test-results/screenshots";
export const OWNER = { email: "owner@demo.example", password: "marquee-demo-password" };
mkdirSync(SHOTS, { recursive: true });

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/** Runs a GraphQL operation; throws on errors unless `raw`. */
export async function gql(query, variables = {}, token, raw = false) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}/graphql`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await res.json();
  if (!raw && body.errors) throw new Error(JSON.stringify(body.errors));
  return raw ? body : body.data;
}

export async function token(email, password) {
  const data = await gql(
    "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
    { i: { tenant: "demo", email, password } },
  );
  return data.login.accessToken;
}

/** A member with `role`, invited by the owner and signed up. */
export async function member(role) {
  const owner = await token(OWNER.email, OWNER.password);
  const email = `${role.toLowerCase()}-${Date.now()}@demo.example`;
  const invited = await gql(
    "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { inviteToken } }",
    { i: { email, role } },
    owner,
  );
  const password = "a-long-test-password";
  await gql("mutation($i: AcceptInviteInput!) { acceptInvite(input: $i) { accessToken } }", {
    i: { token: invited.inviteMember.inviteToken, password },
  });
  return { email, password };
}

/** A fresh page signed in as `who`. */
export async function signIn(browser, who = OWNER, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${BASE}/console/`);
  await page.getByLabel("E-mail").fill(who.email);
  await page.locator("input[type=password]").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
  return page;
}

export async function shot(page, name) {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** axe-core's serious and critical violations on the page as it is. */
export async function accessibilityProblems(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ["violations"] }),
  );
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
}

// Protocol Buffers, just enough to write an ONNX model: varints and length-delimited fields.
const varint = (n) => {
  const out = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
};
const int = (field, n) => Buffer.concat([varint(field << 3), varint(n)]);
const bytes = (field, value) => {
  const data = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.concat([].concat(value));
  return Buffer.concat([varint((field << 3) | 2), varint(data.length), data]);
};

/**
 * A valid ONNX history model over `n` items, written by hand the way the server's export
 * writes one (inference/src/onnx/export.rs): `scores = user_history x weights`, where
 * history item j recommends item j + 1.
 */
export function nextItemOnnx(n) {
  const weights = Buffer.alloc(n * n * 4);
  for (let j = 0; j < n; j++) weights.writeFloatLE(1, (j * n + ((j + 1) % n)) * 4);
  const floatTensorType = (dims) =>
    bytes(1, [int(1, 1), bytes(2, dims.map((d) => bytes(1, typeof d === "string" ? bytes(2, d) : int(1, d))))]);
  const valueInfo = (name) => [bytes(1, name), bytes(2, floatTensorType(["N", n]))];
  const graph = [
    bytes(1, [bytes(1, "user_history"), bytes(1, "weights"), bytes(2, "scores"), bytes(3, "score"), bytes(4, "MatMul")]),
    bytes(2, "browser_test_next_item"),
    bytes(5, [int(1, n), int(1, n), int(2, 1), bytes(8, "weights"), bytes(9, weights)]),
    bytes(11, valueInfo("user_history")),
    bytes(12, valueInfo("scores")),
  ];
  return Buffer.concat([
    int(1, 8),
    bytes(2, "marquee-browser-test"),
    bytes(7, graph),
    bytes(8, [bytes(1, ""), int(2, 17)]),
    bytes(14, [bytes(1, "marquee.model_kind"), bytes(2, "uploaded")]),
    bytes(14, [bytes(1, "marquee.items"), bytes(2, String(n))]),
  ]);
}
