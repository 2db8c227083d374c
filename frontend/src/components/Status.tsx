import { Alert, Badge, Center, Loader } from "@mantine/core";
import type { ApiError } from "../api/client";

/** An API error as a person reads it: the message, its code and the request id. */
export function ErrorAlert({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return (
    <Alert color="red" title={`Error ${error.code}`} role="alert" data-testid="api-error">
      {error.message}
      {error.requestId ? ` (request ${error.requestId})` : ""}
    </Alert>
  );
}

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <Center p="lg" aria-live="polite">
      <Loader size="sm" aria-label={label} />
    </Center>
  );
}

export function StatusBadge({ status }: { status: string | null | undefined }) {
  if (!status) return null;
  const color = status === "PASS" ? "green" : status === "WARN" ? "orange" : "gray";
  return (
    <Badge color={color} variant="light">
      {status}
    </Badge>
  );
}
