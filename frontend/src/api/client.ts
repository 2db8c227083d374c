import type { TypedDocumentString } from "../gql/graphql";
import { getSession, setSession, storedRefresh, type Session } from "./session";

/** An error the API answered, with its code from the API's table of codes. */
export class ApiError extends Error {
  code: string;
  requestId?: string;
  constructor(message: string, code: string, requestId?: string) {
    super(message);
    this.code = code;
    this.requestId = requestId;
  }
}

interface GqlResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; requestId?: string } }[];
}

async function post<T>(query: string, variables: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "application/graphql-response+json, application/json",
  };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError("The server cannot be reached.", "NETWORK");
  }
  let body: GqlResponse<T>;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The server answered HTTP ${response.status}.`, "INTERNAL");
  }
  const first = body.errors?.[0];
  if (first) {
    throw new ApiError(first.message, first.extensions?.code ?? "INTERNAL", first.extensions?.requestId);
  }
  if (!body.data) throw new ApiError("The server answered without data.", "INTERNAL");
  return body.data;
}

const SESSION_FIELDS = "accessToken expiresIn refreshToken member { email role }";
const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { ${SESSION_FIELDS} } }`;
const REFRESH = `mutation Refresh($input: RefreshSessionInput!) { refreshSession(input: $input) { ${SESSION_FIELDS} } }`;

interface SessionPayload {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  member: { email: string; role: string };
}

function toSession(p: SessionPayload, tenant: string): Session {
  return {
    accessToken: p.accessToken,
    refreshToken: p.refreshToken,
    expiresAt: Date.now() + p.expiresIn * 1000,
    tenant,
    email: p.member.email,
    role: p.member.role,
  };
}

export async function login(tenant: string, email: string, password: string): Promise<void> {
  const data = await post<{ login: SessionPayload }>(LOGIN, { input: { tenant, email, password } });
  setSession(toSession(data.login, tenant), () => void refresh());
}

let refreshing: Promise<boolean> | null = null;

/** Spends the refresh token for a new pair; false (and signed out) when it is refused. */
export function refresh(): Promise<boolean> {
  if (refreshing) return refreshing;
  const stored = getSession() ?? storedRefresh();
  if (!stored) return Promise.resolve(false);
  refreshing = post<{ refreshSession: SessionPayload }>(REFRESH, { input: { refreshToken: stored.refreshToken } })
    .then((data) => {
      setSession(toSession(data.refreshSession, stored.tenant), () => void refresh());
      return true;
    })
    .catch(() => {
      setSession(null);
      return false;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

export function logout(): void {
  setSession(null);
}

/** Runs a typed operation with the member's access token, renewing it once if expired. */
export async function request<R, V>(doc: TypedDocumentString<R, V>, variables?: V): Promise<R> {
  const token = getSession()?.accessToken;
  try {
    return await post<R>(doc.toString(), variables ?? {}, token);
  } catch (e) {
    if (e instanceof ApiError && e.code === "UNAUTHENTICATED" && (await refresh())) {
      return post<R>(doc.toString(), variables ?? {}, getSession()?.accessToken);
    }
    throw e;
  }
}
