import { Anchor, Badge, Card, Stack, Table, Text, Title } from "@mantine/core";
import { Link } from "react-router-dom";
import { useQuery } from "../api/hooks";
import { Pager, usePager } from "../components/Pager";
import { ErrorAlert, Loading } from "../components/Status";
import { graphql } from "../gql";

const Receipts = graphql(`
  query ErasureReceipts($after: String) {
    erasureReceipts(first: 25, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        subject
        erasedAt
        requestedBy
        interactionsDeleted
        modelsScrubbed
        modelsToRetrain
        status
        completedAt
      }
    }
  }
`);

export function PrivacyPage() {
  const pager = usePager();
  const { data, error, loading } = useQuery(Receipts, { after: pager.after });
  return (
    <Stack>
      <Title order={2}>Privacy</Title>
      <Text size="sm">
        Export or erase a person from their page under{" "}
        <Anchor component={Link} to="/audience">
          Audience
        </Anchor>
        . Every erasure leaves a receipt here.
      </Text>
      <ErrorAlert error={error} />
      {loading && !data ? (
        <Loading />
      ) : (
        <Card withBorder>
          <Title order={3} size="h5" mb="sm">
            Erasure receipts
          </Title>
          <Table.ScrollContainer minWidth={700}>
            <Table data-testid="receipts-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Erased</Table.Th>
                  <Table.Th>Subject (pseudonym)</Table.Th>
                  <Table.Th>By</Table.Th>
                  <Table.Th>Interactions deleted</Table.Th>
                  <Table.Th>Models</Table.Th>
                  <Table.Th>Status</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data?.erasureReceipts.nodes.map((r) => (
                  <Table.Tr key={r.id}>
                    <Table.Td>{new Date(r.erasedAt).toLocaleString()}</Table.Td>
                    <Table.Td>{r.subject}</Table.Td>
                    <Table.Td>{r.requestedBy}</Table.Td>
                    <Table.Td>{r.interactionsDeleted}</Table.Td>
                    <Table.Td>
                      {r.modelsScrubbed.length} scrubbed, {r.modelsToRetrain.length} to retrain
                    </Table.Td>
                    <Table.Td>
                      <Badge color={r.completedAt ? "green" : "orange"}>{r.status}</Badge>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Pager pager={pager} hasNext={data?.erasureReceipts.pageInfo.hasNextPage ?? false} endCursor={data?.erasureReceipts.pageInfo.endCursor} total={data?.erasureReceipts.totalCount} pageSize={25} />
        </Card>
      )}
    </Stack>
  );
}
