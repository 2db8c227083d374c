import type { TypedDocumentString } from "../gql/graphql";
import { csrfToken, getSession, setSession, type Session } from "./session";

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

/**
 * POSTs JSON to the server with the session cookies (`same-origin`) and the CSRF
 * header; answers the parsed body and the HTTP status.
 */
async function send<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "application/graphql-response+json, application/json",
  };
  const csrf = csrfToken();
  if (csrf) headers["X-CSRF-Token"] = csrf;
  let response: Response;
  try {
    response = await fetch(path, { method: "POST", headers, credentials: "same-origin", body: JSON.stringify(body) });
  } catch {
    throw new ApiError("The server cannot be reached.", "NETWORK");
  }
  try {
    return { status: response.status, body: await response.json() };
  } catch {
    throw new ApiError(`The server answered HTTP ${response.status}.`, "INTERNAL");
  }
}

function firstError(body: GqlResponse<unknown>): ApiError | undefined {
  const first = body.errors?.[0];
  return first && new ApiError(first.message, first.extensions?.code ?? "INTERNAL", first.extensions?.requestId);
}

async function post<T>(query: string, variables: unknown): Promise<T> {
  const { body } = await send<GqlResponse<T>>("/graphql", { query, variables });
  const error = firstError(body);
  if (error) throw error;
  if (!body.data) throw new ApiError("The server answered without data.", "INTERNAL");
  return body.data;
}

/** What `/auth/login` and `/auth/session/refresh` answer beside their cookies. */
interface SessionAnswer {
  expiresIn: number;
  member: { email: string; role: string };
}

function toSession(p: SessionAnswer): Session {
  return { expiresAt: Date.now() + p.expiresIn * 1000, email: p.member.email, role: p.member.role };
}

async function sessionCall(path: string, body: unknown): Promise<SessionAnswer> {
  const answer = await send<SessionAnswer & GqlResponse<unknown>>(path, body);
  const error = firstError(answer.body);
  if (error) throw error;
  if (answer.status !== 200) throw new ApiError(`The server answered HTTP ${answer.status}.`, "INTERNAL");
  return answer.body;
}

export async function login(tenant: string, email: string, password: string): Promise<void> {
  const answer = await sessionCall("/auth/login", { tenant, email, password });
  setSession(toSession(answer), () => void refresh());
}

let refreshing: Promise<boolean> | null = null;

/** Spends the refresh cookie for a new pair; false (and signed out) when it is refused. */
export function refresh(): Promise<boolean> {
  if (refreshing) return refreshing;
  refreshing = sessionCall("/auth/session/refresh", {})
    .then((answer) => {
      setSession(toSession(answer), () => void refresh());
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

/** Revokes the session on the server (its refresh token stops working) and forgets it. */
export async function logout(): Promise<void> {
  try {
    await send("/auth/session/logout", {});
  } finally {
    setSession(null);
  }
}

/** Runs a typed operation with the session's cookies, renewing them once if expired. */
export async function request<R, V>(doc: TypedDocumentString<R, V>, variables?: V): Promise<R> {
  try {
    return await post<R>(doc.toString(), variables ?? {});
  } catch (e) {
    if (e instanceof ApiError && e.code === "UNAUTHENTICATED" && getSession() && (await refresh())) {
      return post<R>(doc.toString(), variables ?? {});
    }
    throw e;
  }
}
