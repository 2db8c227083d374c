import { Button, Card, Group, NumberInput, SimpleGrid, Stack, Switch, Text, Title } from "@mantine/core";
import { useEffect, useState } from "react";
import { useMutation, useQuery } from "../api/hooks";
import { useCan } from "../api/viewer";
import { ErrorAlert, Loading } from "../components/Status";
import { graphql } from "../gql";
import type { EventType } from "../gql/graphql";

const SettingsQuery = graphql(`
  query TenantSettings {
    tenantSettings {
      eventWeights {
        type
        weight
      }
      defaultConsentPersonalization
      defaultConsentAnalytics
      interactionRetentionDays
      fairness {
        maxDifference
        minRatio
        maxGini
        minCoverage
      }
    }
  }
`);

const Update = graphql(`
  mutation UpdateTenantSettings($input: UpdateTenantSettingsInput!) {
    updateTenantSettings(input: $input) {
      interactionRetentionDays
    }
  }
`);

export function SettingsPage() {
  const canEdit = useCan("settings:manage");
  const { data, error, loading, reload } = useQuery(SettingsQuery);
  const update = useMutation(Update);
  const [weights, setWeights] = useState<Record<string, number>>({});
  const [personalization, setPersonalization] = useState(true);
  const [analytics, setAnalytics] = useState(true);
  const [retention, setRetention] = useState<number | string>("");
  const [maxGini, setMaxGini] = useState<number | string>(0);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (!data) return;
    const s = data.tenantSettings;
    setWeights(Object.fromEntries(s.eventWeights.map((w) => [w.type, w.weight])));
    setPersonalization(s.defaultConsentPersonalization);
    setAnalytics(s.defaultConsentAnalytics);
    setRetention(s.interactionRetentionDays ?? "");
    setMaxGini(s.fairness.maxGini);
  }, [data]);
  if (loading && !data) return <Loading />;
  if (!data) return <ErrorAlert error={error} />;
  const save = async () => {
    setSaved(false);
    const done = await update.run({
      input: {
        eventWeights: Object.entries(weights).map(([type, weight]) => ({ type: type as EventType, weight })),
        defaultConsentPersonalization: personalization,
        defaultConsentAnalytics: analytics,
        interactionRetentionDays: retention === "" ? null : Number(retention),
        fairness: { maxGini: Number(maxGini) },
      },
    });
    if (done) {
      setSaved(true);
      reload();
    }
  };
  return (
    <Stack>
      <Title order={2}>Settings</Title>
      <ErrorAlert error={update.error} />
      <Card withBorder>
        <Title order={3} size="h5" mb="sm">
          Event weights
        </Title>
        <SimpleGrid cols={{ base: 2, sm: 3, md: 5 }}>
          {Object.entries(weights).map(([type, weight]) => (
            <NumberInput
              key={type}
              label={type}
              value={weight}
              step={0.5}
              min={-10}
              max={10}
              disabled={!canEdit}
              onChange={(v) => setWeights((w) => ({ ...w, [type]: Number(v) }))}
            />
          ))}
        </SimpleGrid>
      </Card>
      <Card withBorder>
        <Title order={3} size="h5" mb="sm">
          Consent, retention and fairness
        </Title>
        <Stack>
          <Switch label="New people consent to personalization by default" checked={personalization} disabled={!canEdit} onChange={(e) => setPersonalization(e.currentTarget.checked)} />
          <Switch label="New people consent to analytics by default" checked={analytics} disabled={!canEdit} onChange={(e) => setAnalytics(e.currentTarget.checked)} />
          <Group>
            <NumberInput label="Keep interactions for (days, empty: forever)" value={retention} min={1} disabled={!canEdit} onChange={setRetention} />
            <NumberInput label="Fairness: largest exposure Gini" value={maxGini} min={0} max={1} step={0.05} decimalScale={2} disabled={!canEdit} onChange={setMaxGini} />
          </Group>
        </Stack>
      </Card>
      {canEdit && (
        <Group>
          <Button onClick={save} loading={update.pending}>
            Save settings
          </Button>
          {saved && (
            <Text data-testid="settings-saved">
              Saved.
            </Text>
          )}
        </Group>
      )}
    </Stack>
  );
}
