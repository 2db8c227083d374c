import { Badge, Card, Group, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useQuery } from "../api/hooks";
import { ErrorAlert, Loading, StatusBadge } from "../components/Status";
import { graphql } from "../gql";
import { reportVerdict } from "./fairnessVerdict";

const OverviewQuery = graphql(`
  query Overview {
    statistics {
      counts {
        items
        users
        interactions
      }
      interactionsPerDay {
        day
        count
      }
      topContent(first: 5) {
        content {
          id
          title
          kind
        }
        interactions
        users
      }
    }
    models(first: 20) {
      nodes {
        id
        version
        algorithm
        active
        status
        finishedAt
        metrics {
          ndcg
          recall
          precision
          coverage
          evaluatedUsers
        }
      }
    }
    fairnessReports(first: 1) {
      nodes {
        id
        createdAt
        modelId
        ...Verdict
      }
    }
  }
`);

function Figure({ label, value, testId }: { label: string; value: number; testId: string }) {
  return (
    <Card withBorder>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text size="xl" fw={700} data-testid={testId}>
        {value.toLocaleString("en-US")}
      </Text>
    </Card>
  );
}

export function OverviewPage() {
  const { data, error, loading } = useQuery(OverviewQuery);
  if (loading && !data) return <Loading />;
  if (!data) return <ErrorAlert error={error} />;
  const { counts } = data.statistics;
  const active = data.models.nodes.find((m) => m.active);
  const report = data.fairnessReports.nodes[0];
  const verdict = report ? reportVerdict(report) : null;
  return (
    <Stack>
      <Title order={2}>Overview</Title>
      <ErrorAlert error={error} />
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <Figure label="Catalog items" value={counts.items} testId="count-items" />
        <Figure label="People (analytics consent)" value={counts.users} testId="count-users" />
        <Figure label="Interactions" value={counts.interactions} testId="count-interactions" />
      </SimpleGrid>
      <Card withBorder>
        <Title order={3} size="h5" mb="sm">
          Interactions per day
        </Title>
        <div style={{ width: "100%", height: 240 }} role="img" aria-label="Chart of interactions per day">
          <ResponsiveContainer>
            <AreaChart data={data.statistics.interactionsPerDay}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="day" minTickGap={30} />
              <YAxis />
              <Tooltip />
              <Area isAnimationActive={false} type="monotone" dataKey="count" name="Interactions" stroke="#4c6ef5" fill="#bac8ff" />
            </AreaChart>
          </ResponsiveContainer>
        </div>
      </Card>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder data-testid="active-model">
          <Title order={3} size="h5" mb="sm">
            Active model
          </Title>
          {active ? (
            <Stack gap={4}>
              <Group>
                <Text fw={600}>
                  {active.algorithm} v{active.version}
                </Text>
                <Badge color="green">active</Badge>
              </Group>
              {active.metrics && (
                <Text size="sm">
                  NDCG@10 {active.metrics.ndcg.toFixed(3)} · Recall@10 {active.metrics.recall.toFixed(3)} · Coverage{" "}
                  {(active.metrics.coverage * 100).toFixed(1)}% · {active.metrics.evaluatedUsers} users evaluated
                </Text>
              )}
            </Stack>
          ) : (
            <Text c="dimmed">No model is deployed yet; recommendations fall back to popular items.</Text>
          )}
        </Card>
        <Card withBorder data-testid="fairness-verdict">
          <Title order={3} size="h5" mb="sm">
            Latest fairness report
          </Title>
          {report && verdict ? (
            <Group>
              <StatusBadge status={verdict.warnings > 0 ? "WARN" : "PASS"} />
              <Text size="sm">
                {verdict.warnings} of {verdict.total} figures marked WARN ({new Date(report.createdAt).toLocaleString()})
              </Text>
            </Group>
          ) : (
            <Text c="dimmed">No report yet.</Text>
          )}
        </Card>
      </SimpleGrid>
      <Card withBorder>
        <Title order={3} size="h5" mb="sm">
          Most engaged content
        </Title>
        <Table.ScrollContainer minWidth={400}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Title</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th>Interactions</Table.Th>
                <Table.Th>People</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.statistics.topContent.map((t) => (
                <Table.Tr key={t.content.id}>
                  <Table.Td>{t.content.title}</Table.Td>
                  <Table.Td>{t.content.kind}</Table.Td>
                  <Table.Td>{t.interactions}</Table.Td>
                  <Table.Td>{t.users}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Card>
    </Stack>
  );
}
