import { Button, Group, Text } from "@mantine/core";
import { useCallback, useState } from "react";

/** Cursor paging as the API offers it: forward with `endCursor`, back along the cursors seen. */
export function usePager() {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  const next = useCallback((cursor: string | null | undefined) => {
    if (cursor) setStack((s) => [...s, cursor]);
  }, []);
  const previous = useCallback(() => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)), []);
  // Keeps the same state when already on the first page, so effects keyed on it settle.
  const reset = useCallback(() => setStack((s) => (s.length === 1 ? s : [null])), []);
  return { after: stack[stack.length - 1], page: stack.length, next, previous, reset };
}

/** "N results", and "Page p of n" when the list's `totalCount` and page size are known. */
export function pageLabel(page: number, total: number | undefined, pageSize: number | undefined): string {
  if (total === undefined) return `Page ${page}`;
  const results = `${total.toLocaleString("en-US")} ${total === 1 ? "result" : "results"}`;
  if (!pageSize) return `Page ${page} · ${results}`;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return `Page ${page} of ${pages.toLocaleString("en-US")} · ${results}`;
}

/** "N of M shown" for a list read in one page (`first: n`), from its `totalCount`. */
export function ShownCount({ shown, total, noun, testId }: { shown: number; total: number | undefined; noun: [string, string]; testId?: string }) {
  if (total === undefined) return null;
  const counted = `${total.toLocaleString("en-US")} ${total === 1 ? noun[0] : noun[1]}`;
  return (
    <Text size="sm" c="dimmed" mt="xs" data-testid={testId}>
      {shown < total ? `${shown.toLocaleString("en-US")} of ${counted} shown` : counted}
    </Text>
  );
}

export function Pager({
  pager,
  hasNext,
  endCursor,
  total,
  pageSize,
}: {
  pager: ReturnType<typeof usePager>;
  hasNext: boolean;
  endCursor: string | null | undefined;
  /** The list's `totalCount`, when the query asked for it. */
  total?: number;
  pageSize?: number;
}) {
  return (
    <Group justify="space-between" mt="sm">
      <Button variant="default" disabled={pager.page <= 1} onClick={pager.previous}>
        Previous page
      </Button>
      <Text size="sm" c="dimmed" data-testid="page-label">
        {pageLabel(pager.page, total, pageSize)}
      </Text>
      <Button variant="default" disabled={!hasNext} onClick={() => pager.next(endCursor)}>
        Next page
      </Button>
    </Group>
  );
}
