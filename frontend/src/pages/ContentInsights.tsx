import { Anchor, Badge, Card, Group, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Link } from "react-router-dom";
import { useQuery } from "../api/hooks";
import { ErrorAlert, Loading } from "../components/Status";
import { graphql } from "../gql";

const InsightsQuery = graphql(`
  query ContentInsightsPage($id: String!) {
    contentInsights(contentId: $id) {
      audienceSize
      completionRate
      minGroupSize
      engagement {
        day
        events
        people
      }
      audience {
        attribute
        suppressedGroups
        groups {
          value
          people
        }
      }
      nearestByContent {
        score
        content {
          id
          title
          kind
        }
      }
      nearestByBehaviour {
        score
        content {
          id
          title
          kind
        }
      }
    }
  }
`);

const ATTRIBUTES: Record<string, string> = { age_band: "Age band", country: "Country", plan: "Plan" };

interface Neighbour {
  score: number;
  content: { id: string; title: string; kind: string };
}

function Neighbours({ title, rows, testId, empty }: { title: string; rows: Neighbour[]; testId: string; empty: string }) {
  return (
    <Card withBorder>
      <Title order={3} size="h5" mb="sm">
        {title}
      </Title>
      {rows.length === 0 ? (
        <Text size="sm" c="dimmed" data-testid={testId}>
          {empty}
        </Text>
      ) : (
        <Table data-testid={testId}>
          <Table.Tbody>
            {rows.map((n) => (
              <Table.Tr key={n.content.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/catalog/${encodeURIComponent(n.content.id)}`}>
                    {n.content.title}
                  </Anchor>
                </Table.Td>
                <Table.Td>{n.content.kind}</Table.Td>
                <Table.Td ta="right">{Number.isInteger(n.score) ? n.score : n.score.toFixed(2)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Card>
  );
}

/** Who engages with an item and when, and its nearest items (`contentInsights`). */
export function ContentInsights({ id }: { id: string }) {
  const { data, error, loading } = useQuery(InsightsQuery, { id });
  if (loading && !data) return <Loading label="Loading insights" />;
  if (!data) return <ErrorAlert error={error} />;
  const i = data.contentInsights;
  const small = `fewer than ${i.minGroupSize} people`;
  return (
    <Stack data-testid="content-insights">
      <Title order={3} size="h4">
        Insights
      </Title>
      <Group gap="xl">
        <Text data-testid="insights-audience-size">
          Audience: <b>{i.audienceSize ?? `suppressed (${small})`}</b>
        </Text>
        <Text>
          Completion rate: <b>{i.completionRate == null ? "—" : `${Math.round(i.completionRate * 100)}%`}</b>
        </Text>
      </Group>
      <Card withBorder>
        <Title order={4} size="h5" mb="sm">
          Engagement over time
        </Title>
        {i.engagement.length === 0 ? (
          <Text size="sm" c="dimmed">
            No events in the last 90 days.
          </Text>
        ) : (
          <div style={{ width: "100%", height: 200 }} role="img" aria-label="Chart of engagement per day" data-testid="engagement-chart">
            <ResponsiveContainer>
              <AreaChart data={i.engagement}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="day" minTickGap={30} />
                <YAxis />
                <Tooltip />
                <Area isAnimationActive={false} type="monotone" dataKey="events" name="Events" stroke="#4c6ef5" fill="#bac8ff" />
              </AreaChart>
            </ResponsiveContainer>
          </div>
        )}
      </Card>
      <SimpleGrid cols={{ base: 1, md: 3 }} data-testid="audience-composition">
        {i.audience.map((b) => (
          <Card withBorder key={b.attribute}>
            <Title order={4} size="h5" mb="sm">
              {ATTRIBUTES[b.attribute] ?? b.attribute}
            </Title>
            <Table>
              <Table.Tbody>
                {b.groups.map((g) => (
                  <Table.Tr key={g.value ?? "(not given)"}>
                    <Table.Td>{g.value ?? "(not given)"}</Table.Td>
                    <Table.Td ta="right">{g.people.toLocaleString("en-US")}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            {b.suppressedGroups > 0 && (
              <Badge variant="light" color="gray" mt="xs" data-testid="suppressed-groups">
                {b.suppressedGroups} {b.suppressedGroups === 1 ? "group" : "groups"} suppressed ({small})
              </Badge>
            )}
          </Card>
        ))}
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Neighbours
          title="Nearest by content"
          rows={i.nearestByContent}
          testId="nearest-by-content"
          empty="No content embeddings yet (see the text model in docs/content.md)."
        />
        <Neighbours
          title="Nearest by behaviour (people who engaged with both)"
          rows={i.nearestByBehaviour}
          testId="nearest-by-behaviour"
          empty={`No item shares ${i.minGroupSize} or more people with this one.`}
        />
      </SimpleGrid>
    </Stack>
  );
}
