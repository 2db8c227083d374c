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

export function Pager({
  pager,
  hasNext,
  endCursor,
}: {
  pager: ReturnType<typeof usePager>;
  hasNext: boolean;
  endCursor: string | null | undefined;
}) {
  return (
    <Group justify="space-between" mt="sm">
      <Button variant="default" disabled={pager.page <= 1} onClick={pager.previous}>
        Previous page
      </Button>
      <Text size="sm" c="dimmed">
        Page {pager.page}
      </Text>
      <Button variant="default" disabled={!hasNext} onClick={() => pager.next(endCursor)}>
        Next page
      </Button>
    </Group>
  );
}
