import { Anchor, Badge, Card, Group, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { Link, useParams } from "react-router-dom";
import { useQuery } from "../api/hooks";
import { ErrorAlert, Loading } from "../components/Status";
import { graphql } from "../gql";
import { useCan } from "../api/viewer";
import { ContentInsights } from "./ContentInsights";

const ContentQuery = graphql(`
  query ContentPage($id: String!) {
    content(id: $id) {
      id
      kind
      title
      description
      genres
      tags
      provider
      creators
      releaseDate
      durationSeconds
      language
      maturityRating
      availableFrom
      availableUntil
    }
    similarContent(contentId: $id, first: 10) {
      strategy
      items {
        rank
        score
        contentId
        content {
          title
          kind
        }
      }
    }
  }
`);

export function ContentPage() {
  const { id = "" } = useParams();
  const { data, error, loading } = useQuery(ContentQuery, { id });
  const canReadInsights = useCan("reports:read");
  if (loading && !data) return <Loading />;
  if (!data) return <ErrorAlert error={error} />;
  const c = data.content;
  return (
    <Stack>
      <Anchor component={Link} to="/catalog">
        ← Catalog
      </Anchor>
      <Title order={2}>{c.title}</Title>
      <Group gap="xs">
        <Badge>{c.kind}</Badge>
        {c.genres.map((g) => (
          <Badge key={g} variant="light">
            {g}
          </Badge>
        ))}
        {c.tags.map((t) => (
          <Badge key={t} variant="outline" color="gray">
            {t}
          </Badge>
        ))}
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder>
          <Text mb="sm">{c.description}</Text>
          <Table>
            <Table.Tbody>
              {[
                ["Id", c.id],
                ["Provider", c.provider],
                ["Creators", c.creators.join(", ")],
                ["Released", c.releaseDate],
                ["Duration", c.durationSeconds ? `${Math.round(c.durationSeconds / 60)} min` : null],
                ["Language", c.language],
                ["Maturity rating", c.maturityRating],
                ["Available until", c.availableUntil],
              ].map(([k, v]) => (
                <Table.Tr key={k}>
                  <Table.Th>{k}</Table.Th>
                  <Table.Td>{v ?? "—"}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
        <Card withBorder>
          <Title order={3} size="h5" mb="sm">
            Similar items ({data.similarContent.strategy})
          </Title>
          <Table data-testid="similar-items">
            <Table.Tbody>
              {data.similarContent.items.map((s) => (
                <Table.Tr key={s.contentId}>
                  <Table.Td>{s.rank}</Table.Td>
                  <Table.Td>
                    <Anchor component={Link} to={`/catalog/${encodeURIComponent(s.contentId)}`}>
                      {s.content?.title ?? s.contentId}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{s.content?.kind}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
      </SimpleGrid>
      {canReadInsights && <ContentInsights id={c.id} />}
    </Stack>
  );
}
