import { Anchor, Badge, Button, Card, Group, Select, Stack, Table, TextInput, Title } from "@mantine/core";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useQuery } from "../api/hooks";
import { Pager, usePager } from "../components/Pager";
import { ErrorAlert, Loading } from "../components/Status";
import { graphql } from "../gql";
import type { AgeBand } from "../gql/graphql";

const AudienceQuery = graphql(`
  query Audience($filter: EndUserFilterInput, $first: Int, $after: String) {
    endUsers(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        ageBand
        gender
        country
        plan
        consent {
          personalization
          analytics
        }
      }
    }
  }
`);

const AGE_BANDS: AgeBand[] = ["UNDER_18", "AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_64", "AGE_65_PLUS"];

export function AudiencePage() {
  const navigate = useNavigate();
  const [lookup, setLookup] = useState("");
  const [ageBand, setAgeBand] = useState<string | null>(null);
  const [country, setCountry] = useState("");
  const [plan, setPlan] = useState<string | null>(null);
  const pager = usePager();
  const filter = useMemo(
    () => ({
      ageBand: (ageBand as AgeBand | null) ?? null,
      country: country.trim().length === 2 ? country.trim().toUpperCase() : null,
      plan,
    }),
    [ageBand, country, plan],
  );
  const { reset } = pager;
  useEffect(reset, [filter, reset]);
  const { data, error, loading } = useQuery(AudienceQuery, { filter, first: 20, after: pager.after });
  const open = (e: FormEvent) => {
    e.preventDefault();
    if (lookup.trim()) navigate(`/audience/${encodeURIComponent(lookup.trim())}`);
  };
  return (
    <Stack>
      <Title order={2}>Audience</Title>
      <Card withBorder>
        <Stack>
          <form onSubmit={open}>
            <Group align="end">
              <TextInput label="Find a person by id" placeholder="u-00001" value={lookup} onChange={(e) => setLookup(e.currentTarget.value)} />
              <Button type="submit">Open</Button>
            </Group>
          </form>
          <Group align="end" wrap="wrap">
            <Select label="Age band" clearable value={ageBand} onChange={setAgeBand} data={AGE_BANDS} />
            <TextInput label="Country (ISO code)" value={country} onChange={(e) => setCountry(e.currentTarget.value)} maxLength={2} />
            <Select label="Plan" clearable value={plan} onChange={setPlan} data={["free", "standard", "premium"]} />
          </Group>
        </Stack>
      </Card>
      <ErrorAlert error={error} />
      {loading && !data ? (
        <Loading />
      ) : (
        <Card withBorder>
          <Table.ScrollContainer minWidth={600}>
            <Table striped data-testid="audience-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Id</Table.Th>
                  <Table.Th>Age band</Table.Th>
                  <Table.Th>Gender</Table.Th>
                  <Table.Th>Country</Table.Th>
                  <Table.Th>Plan</Table.Th>
                  <Table.Th>Consent</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data?.endUsers.nodes.map((u) => (
                  <Table.Tr key={u.id}>
                    <Table.Td>
                      <Anchor component={Link} to={`/audience/${encodeURIComponent(u.id)}`}>
                        {u.id}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>{u.ageBand}</Table.Td>
                    <Table.Td>{u.gender}</Table.Td>
                    <Table.Td>{u.country}</Table.Td>
                    <Table.Td>{u.plan}</Table.Td>
                    <Table.Td>
                      {!u.consent.personalization && <Badge color="orange">no personalization</Badge>}
                      {!u.consent.analytics && <Badge color="gray">no analytics</Badge>}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Pager pager={pager} hasNext={data?.endUsers.pageInfo.hasNextPage ?? false} endCursor={data?.endUsers.pageInfo.endCursor} total={data?.endUsers.totalCount} pageSize={20} />
        </Card>
      )}
    </Stack>
  );
}
