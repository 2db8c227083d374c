import { Alert, Button, Card, Code, Group, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useEffect, useMemo, useState } from "react";
import { useMutation, useQuery } from "../api/hooks";
import { Pager, usePager } from "../components/Pager";
import { ErrorAlert, Loading } from "../components/Status";
import { graphql } from "../gql";

const AuditQuery = graphql(`
  query AuditEvents($filter: AuditEventFilter, $first: Int, $after: String) {
    auditEvents(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        seq
        occurredAt
        principal
        action
        targetKind
        target
        outcome
      }
    }
  }
`);

const Verify = graphql(`
  query VerifyAudit {
    verifyAuditLog {
      ok
      checked
      checkpointsChecked
      firstBrokenSeq
      problem
      detail
      headSeq
      latestCheckpointSeq
      missingCheckpoints
    }
  }
`);

const Checkpoints = graphql(`
  query AuditCheckpoints($after: String) {
    auditCheckpoints(first: 10, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        seq
        hash
        signedAt
        keyId
        signature
      }
    }
  }
`);

const SignCheckpoint = graphql(`
  mutation SignCheckpoint {
    checkpointAuditLog {
      seq
    }
  }
`);

/** A `datetime-local` input's value as an instant, or null when empty or invalid. */
function instant(local: string): string | null {
  if (!local) return null;
  const at = new Date(local);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

function CheckpointList() {
  const pager = usePager();
  const list = useQuery(Checkpoints, { after: pager.after });
  const sign = useMutation(SignCheckpoint);
  const c = list.data?.auditCheckpoints;
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h5">
          Signed checkpoints
        </Title>
        <Button
          size="xs"
          variant="default"
          loading={sign.pending}
          onClick={async () => {
            if (await sign.run({})) {
              pager.reset();
              list.reload();
            }
          }}
        >
          Sign a checkpoint now
        </Button>
      </Group>
      <Text size="sm" c="dimmed" mb="sm">
        Each signs the chain&apos;s hash at its event with the server&apos;s key: keep them outside Marquee to prove later that
        the log was not rewritten.
      </Text>
      <ErrorAlert error={list.error ?? sign.error} />
      {list.loading && !c ? (
        <Loading />
      ) : (
        <Table.ScrollContainer minWidth={700}>
          <Table striped data-testid="checkpoints-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>At event</Table.Th>
                <Table.Th>Signed</Table.Th>
                <Table.Th>Chain hash</Table.Th>
                <Table.Th>Key</Table.Th>
                <Table.Th>Signature</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {c?.nodes.map((k) => (
                <Table.Tr key={k.seq}>
                  <Table.Td>{k.seq}</Table.Td>
                  <Table.Td>{new Date(k.signedAt).toLocaleString()}</Table.Td>
                  <Table.Td>
                    <Code title={k.hash}>{k.hash.slice(0, 16)}…</Code>
                  </Table.Td>
                  <Table.Td>
                    <Code>{k.keyId}</Code>
                  </Table.Td>
                  <Table.Td>
                    <Code title={k.signature}>{k.signature.slice(0, 16)}…</Code>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Pager pager={pager} hasNext={c?.pageInfo.hasNextPage ?? false} endCursor={c?.pageInfo.endCursor} total={c?.totalCount} pageSize={10} />
    </Card>
  );
}

export function AuditPage() {
  const [action, setAction] = useState("");
  const [principal, setPrincipal] = useState("");
  const [a] = useDebouncedValue(action, 300);
  const [p] = useDebouncedValue(principal, 300);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const pager = usePager();
  const filter = useMemo(
    () => ({ action: a.trim() || null, principal: p.trim() || null, from: instant(from), to: instant(to) }),
    [a, p, from, to],
  );
  const { reset } = pager;
  useEffect(reset, [filter, reset]);
  const events = useQuery(AuditQuery, { filter, first: 25, after: pager.after });
  const [verifying, setVerifying] = useState(false);
  const verify = useQuery(Verify, undefined, !verifying);
  const v = verify.data?.verifyAuditLog;
  return (
    <Stack>
      <Title order={2}>Audit log</Title>
      <Card withBorder>
        <Group align="end">
          <TextInput label="Action" placeholder="model.deployed" value={action} onChange={(e) => setAction(e.currentTarget.value)} />
          <TextInput label="Principal" value={principal} onChange={(e) => setPrincipal(e.currentTarget.value)} />
          <TextInput label="From" type="datetime-local" value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
          <TextInput label="Before" type="datetime-local" value={to} onChange={(e) => setTo(e.currentTarget.value)} />
          <Button onClick={() => (verifying ? verify.reload() : setVerifying(true))} loading={verify.loading && verifying}>
            Verify the log
          </Button>
        </Group>
      </Card>
      <ErrorAlert error={events.error ?? verify.error} />
      {v && (
        <Alert color={v.ok ? "green" : "red"} title={v.ok ? "Intact" : `Broken at event ${v.firstBrokenSeq}`} data-testid="audit-verification">
          {v.ok
            ? `${v.checked} events and ${v.checkpointsChecked} signed checkpoints check out (head ${v.headSeq}, latest checkpoint at ${v.latestCheckpointSeq ?? "none yet"}).`
            : `${v.problem}: ${v.detail ?? ""}${v.missingCheckpoints.length ? ` Missing checkpoints: ${v.missingCheckpoints.join(", ")}.` : ""}`}
        </Alert>
      )}
      {events.loading && !events.data ? (
        <Loading />
      ) : (
        <Card withBorder>
          <Table.ScrollContainer minWidth={700}>
            <Table striped data-testid="audit-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>#</Table.Th>
                  <Table.Th>When</Table.Th>
                  <Table.Th>Principal</Table.Th>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Target</Table.Th>
                  <Table.Th>Outcome</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {events.data?.auditEvents.nodes.map((e) => (
                  <Table.Tr key={e.seq}>
                    <Table.Td>{e.seq}</Table.Td>
                    <Table.Td>{new Date(e.occurredAt).toLocaleString()}</Table.Td>
                    <Table.Td>{e.principal}</Table.Td>
                    <Table.Td>{e.action}</Table.Td>
                    <Table.Td>{e.target ? `${e.targetKind ?? ""} ${e.target}` : ""}</Table.Td>
                    <Table.Td>{e.outcome}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Pager pager={pager} hasNext={events.data?.auditEvents.pageInfo.hasNextPage ?? false} endCursor={events.data?.auditEvents.pageInfo.endCursor} total={events.data?.auditEvents.totalCount} pageSize={25} />
        </Card>
      )}
      <CheckpointList />
    </Stack>
  );
}
