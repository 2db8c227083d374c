import { Alert, Button, Card, Group, Stack, Table, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useEffect, useMemo, useState } from "react";
import { useQuery } from "../api/hooks";
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

export function AuditPage() {
  const [action, setAction] = useState("");
  const [principal, setPrincipal] = useState("");
  const [a] = useDebouncedValue(action, 300);
  const [p] = useDebouncedValue(principal, 300);
  const pager = usePager();
  const filter = useMemo(() => ({ action: a.trim() || null, principal: p.trim() || null }), [a, p]);
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
            <Table striped>
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
    </Stack>
  );
}
