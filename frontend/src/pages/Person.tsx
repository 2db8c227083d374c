import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Modal,
  Progress,
  SimpleGrid,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useMutation, useQuery } from "../api/hooks";
import { useCan } from "../api/viewer";
import { download } from "../components/download";
import { ErrorAlert, Loading } from "../components/Status";
import { graphql } from "../gql";

const PersonQuery = graphql(`
  query Person($id: String!) {
    endUser(id: $id) {
      id
      ageBand
      gender
      country
      plan
      signupDate
      consent {
        personalization
        analytics
      }
      interactions(first: 20) {
        nodes {
          eventId
          contentId
          type
          value
          occurredAt
        }
      }
    }
  }
`);

const RecommendationsQuery = graphql(`
  query PersonRecommendations($id: String!) {
    recommendations(userId: $id, first: 10, explain: true) {
      strategy
      fallbackReason
      items {
        rank
        score
        contentId
        content {
          title
          kind
          genres
        }
        explanation {
          summary
          contributions {
            contentId
            title
            share
          }
        }
      }
    }
  }
`);

const SetConsent = graphql(`
  mutation SetConsent($userId: String!, $consent: ConsentInput!) {
    setConsent(userId: $userId, consent: $consent) {
      personalization
      analytics
    }
  }
`);

const ExportUser = graphql(`
  query ExportUser($userId: String!) {
    exportUserData(userId: $userId)
  }
`);

const EraseUser = graphql(`
  mutation EraseUser($userId: String!) {
    eraseUser(userId: $userId) {
      id
      erasedAt
      interactionsDeleted
      status
    }
  }
`);

export function PersonPage() {
  const { id = "" } = useParams();
  const person = useQuery(PersonQuery, { id });
  const recs = useQuery(RecommendationsQuery, { id });
  const setConsent = useMutation(SetConsent);
  const exportUser = useMutation(ExportUser);
  const erase = useMutation(EraseUser);
  const canWrite = useCan("users:write");
  const canPrivacy = useCan("privacy:manage");
  const [eraseOpen, setEraseOpen] = useState(false);
  const [confirm, setConfirm] = useState("");
  const [erased, setErased] = useState<string>();

  if (erased) {
    return (
      <Alert color="green" title="Erased" data-testid="erasure-receipt">
        {id} was erased. Receipt {erased}.
      </Alert>
    );
  }
  if (person.loading && !person.data) return <Loading />;
  if (!person.data) return <ErrorAlert error={person.error} />;
  const u = person.data.endUser;
  const toggle = async (field: "personalization" | "analytics", value: boolean) => {
    const done = await setConsent.run({ userId: id, consent: { [field]: value } });
    if (done) {
      person.reload();
      recs.reload();
    }
  };
  const doExport = async () => {
    const data = await exportUser.run({ userId: id });
    if (data) download(`marquee-export-${id}.json`, JSON.stringify(data.exportUserData, null, 2));
  };
  const doErase = async () => {
    const receipt = await erase.run({ userId: id });
    if (receipt) {
      setEraseOpen(false);
      setErased(receipt.eraseUser.id);
    }
  };
  return (
    <Stack>
      <Anchor component={Link} to="/audience">
        ← Audience
      </Anchor>
      <Title order={2}>{u.id}</Title>
      <ErrorAlert error={setConsent.error ?? exportUser.error} />
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder>
          <Title order={3} size="h5" mb="sm">
            Profile
          </Title>
          <Table>
            <Table.Tbody>
              {[
                ["Age band", u.ageBand],
                ["Gender", u.gender],
                ["Country", u.country],
                ["Plan", u.plan],
                ["Signed up", u.signupDate],
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
            Consent
          </Title>
          <Stack>
            <Switch
              label="Personalization"
              checked={u.consent.personalization}
              disabled={!canWrite || setConsent.pending}
              onChange={(e) => void toggle("personalization", e.currentTarget.checked)}
            />
            <Switch
              label="Analytics"
              checked={u.consent.analytics}
              disabled={!canWrite || setConsent.pending}
              onChange={(e) => void toggle("analytics", e.currentTarget.checked)}
            />
            {canPrivacy && (
              <Group>
                <Button variant="default" onClick={doExport} loading={exportUser.pending}>
                  Export data
                </Button>
                <Button color="red" variant="light" onClick={() => setEraseOpen(true)}>
                  Erase person
                </Button>
              </Group>
            )}
          </Stack>
        </Card>
      </SimpleGrid>
      <Card withBorder>
        <Title order={3} size="h5" mb="sm">
          Recommendations
        </Title>
        <ErrorAlert error={recs.error} />
        {recs.loading && !recs.data ? (
          <Loading />
        ) : (
          recs.data && (
            <Stack data-testid="recommendations">
              <Group>
                <Badge data-testid="strategy">{recs.data.recommendations.strategy}</Badge>
                {recs.data.recommendations.fallbackReason && (
                  <Text size="sm" c="dimmed" data-testid="fallback-reason">
                    {recs.data.recommendations.fallbackReason}
                  </Text>
                )}
              </Group>
              {recs.data.recommendations.items.map((r) => (
                <Card key={r.contentId} withBorder padding="sm" data-testid="recommendation">
                  <Group justify="space-between">
                    <Anchor component={Link} to={`/catalog/${encodeURIComponent(r.contentId)}`} fw={600}>
                      {r.rank}. {r.content?.title ?? r.contentId}
                    </Anchor>
                    <Text size="xs" c="dimmed">
                      {r.content?.kind} · {r.content?.genres.join(", ")}
                    </Text>
                  </Group>
                  {r.explanation && (
                    <Stack gap={4} mt={4}>
                      <Text size="sm">{r.explanation.summary}</Text>
                      {r.explanation.contributions.slice(0, 3).map((c) => (
                        <Group key={c.contentId} gap="xs" wrap="nowrap">
                          <Text size="xs" w={200} truncate>
                            because of {c.title ?? c.contentId}
                          </Text>
                          <Progress
                            value={Math.max(0, Math.min(100, c.share * 100))}
                            style={{ flex: 1 }}
                            aria-label={`${c.title ?? c.contentId}: ${(c.share * 100).toFixed(0)}% of the score`}
                            data-testid="contribution-bar"
                          />
                          <Text size="xs" w={40}>
                            {(c.share * 100).toFixed(0)}%
                          </Text>
                        </Group>
                      ))}
                    </Stack>
                  )}
                </Card>
              ))}
            </Stack>
          )
        )}
      </Card>
      <Card withBorder>
        <Title order={3} size="h5" mb="sm">
          Recent history
        </Title>
        <Table.ScrollContainer minWidth={500}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>When</Table.Th>
                <Table.Th>Event</Table.Th>
                <Table.Th>Item</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {u.interactions.nodes.map((e) => (
                <Table.Tr key={e.eventId}>
                  <Table.Td>{new Date(e.occurredAt).toLocaleString()}</Table.Td>
                  <Table.Td>
                    {e.type}
                    {e.value != null ? ` ${e.value}` : ""}
                  </Table.Td>
                  <Table.Td>
                    <Anchor component={Link} to={`/catalog/${encodeURIComponent(e.contentId)}`}>
                      {e.contentId}
                    </Anchor>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Card>
      <Modal opened={eraseOpen} onClose={() => setEraseOpen(false)} title="Erase this person">
        <Stack>
          <Text size="sm">
            This deletes {u.id}'s profile and interactions and removes them from served models. It cannot be undone. Type the
            person's id to confirm.
          </Text>
          <ErrorAlert error={erase.error} />
          <TextInput label="Person's id" value={confirm} onChange={(e) => setConfirm(e.currentTarget.value)} />
          <Button color="red" disabled={confirm !== u.id} loading={erase.pending} onClick={doErase}>
            Erase {u.id}
          </Button>
        </Stack>
      </Modal>
    </Stack>
  );
}
