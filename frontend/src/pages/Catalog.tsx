import { Anchor, Badge, Card, Group, Select, Stack, Switch, Table, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useEffect, useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { useQuery } from "../api/hooks";
import { Pager, usePager } from "../components/Pager";
import { ErrorAlert, Loading } from "../components/Status";
import { graphql } from "../gql";
import type { ContentKind } from "../gql/graphql";

const FacetsQuery = graphql(`
  query CatalogFacets {
    statistics {
      genres {
        genre
        items
      }
      kinds {
        kind
        items
      }
    }
  }
`);

const CatalogQuery = graphql(`
  query Catalog($filter: ContentFilterInput, $first: Int, $after: String) {
    contents(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        kind
        title
        genres
        provider
        releaseDate
        availableUntil
      }
    }
  }
`);

const PAGE = 20;

export function CatalogPage() {
  const [text, setText] = useState("");
  const [search] = useDebouncedValue(text, 300);
  const [kind, setKind] = useState<string | null>(null);
  const [genre, setGenre] = useState<string | null>(null);
  const [provider, setProvider] = useState("");
  const [providerDebounced] = useDebouncedValue(provider, 300);
  const [availableNow, setAvailableNow] = useState(false);
  const pager = usePager();
  const facets = useQuery(FacetsQuery);
  const [now] = useState(() => new Date().toISOString());
  const filter = useMemo(
    () => ({
      text: search.trim() || null,
      kinds: kind ? [kind as ContentKind] : [],
      genre,
      provider: providerDebounced.trim() || null,
      availableAt: availableNow ? now : null,
    }),
    [search, kind, genre, providerDebounced, availableNow, now],
  );
  const { reset } = pager;
  useEffect(reset, [filter, reset]);
  const { data, error, loading } = useQuery(CatalogQuery, { filter, first: PAGE, after: pager.after });
  return (
    <Stack>
      <Title order={2}>Catalog</Title>
      <Card withBorder>
        <Group align="end" wrap="wrap">
          <TextInput label="Search titles and descriptions" value={text} onChange={(e) => setText(e.currentTarget.value)} />
          <Select
            label="Kind"
            clearable
            value={kind}
            onChange={setKind}
            data={(facets.data?.statistics.kinds ?? []).map((k) => ({ value: k.kind, label: `${k.kind} (${k.items})` }))}
          />
          <Select
            label="Genre"
            clearable
            searchable
            value={genre}
            onChange={setGenre}
            data={(facets.data?.statistics.genres ?? []).map((g) => ({ value: g.genre, label: `${g.genre} (${g.items})` }))}
          />
          <TextInput label="Provider" value={provider} onChange={(e) => setProvider(e.currentTarget.value)} />
          <Switch label="Available now" checked={availableNow} onChange={(e) => setAvailableNow(e.currentTarget.checked)} />
        </Group>
      </Card>
      <ErrorAlert error={error ?? facets.error} />
      {loading && !data ? (
        <Loading />
      ) : (
        <Card withBorder>
          <Table.ScrollContainer minWidth={600}>
            <Table striped data-testid="catalog-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Title</Table.Th>
                  <Table.Th>Kind</Table.Th>
                  <Table.Th>Genres</Table.Th>
                  <Table.Th>Provider</Table.Th>
                  <Table.Th>Released</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data?.contents.nodes.map((c) => (
                  <Table.Tr key={c.id}>
                    <Table.Td>
                      <Anchor component={Link} to={`/catalog/${encodeURIComponent(c.id)}`}>
                        {c.title}
                      </Anchor>
                      {c.availableUntil && new Date(c.availableUntil) < new Date() && (
                        <Badge ml="xs" color="gray" size="xs">
                          unavailable
                        </Badge>
                      )}
                    </Table.Td>
                    <Table.Td>{c.kind}</Table.Td>
                    <Table.Td>{c.genres.join(", ")}</Table.Td>
                    <Table.Td>{c.provider}</Table.Td>
                    <Table.Td>{c.releaseDate}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {data && data.contents.nodes.length === 0 && <Title order={3} size="h6">No item matches.</Title>}
          <Pager pager={pager} hasNext={data?.contents.pageInfo.hasNextPage ?? false} endCursor={data?.contents.pageInfo.endCursor} total={data?.contents.totalCount} pageSize={PAGE} />
        </Card>
      )}
    </Stack>
  );
}
