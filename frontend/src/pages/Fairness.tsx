import { Button, Card, Group, Select, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useMutation, useQuery } from "../api/hooks";
import { useCan } from "../api/viewer";
import { download } from "../components/download";
import { ErrorAlert, Loading, StatusBadge } from "../components/Status";
import { graphql } from "../gql";
import { reportVerdict } from "./fairnessVerdict";

const Reports = graphql(`
  query FairnessReports {
    fairnessReports(first: 20) {
      nodes {
        id
        modelId
        createdAt
        k
        ...Verdict
      }
    }
    models(first: 50) {
      nodes {
        id
        version
        algorithm
        status
        active
      }
    }
  }
`);

const Report = graphql(`
  query FairnessReport($id: ID!) {
    fairnessReport(id: $id) {
      id
      modelId
      k
      excludedUsers
      csv
      json
      baseline {
        overall {
          users
          ndcg
          recall
        }
        userGroups {
          attribute
          ndcg {
            difference
            ratio
            differenceStatus
            ratioStatus
          }
          groups {
            group
            suppressed
            size
            ndcg
            recall
            ndcgStatus
          }
        }
        itemGroups {
          grouping
          groups {
            group
            items
            exposureShare
            catalogShare
            interactionShare
            status
          }
        }
        popularity {
          popularityLift
          popularityLiftStatus
          longTailShare
          longTailStatus
          gini
          giniStatus
          coverage
          coverageStatus
        }
      }
      tradeoff {
        maxNdcgCost
        curves {
          strategy
          points {
            strength
            ndcg
            gini
          }
        }
      }
    }
  }
`);

const Create = graphql(`
  mutation CreateFairnessReport($input: CreateFairnessReportInput!) {
    createFairnessReport(input: $input) {
      id
    }
  }
`);

function ReportView({ id }: { id: string }) {
  const { data, error, loading } = useQuery(Report, { id });
  if (loading && !data) return <Loading />;
  if (!data) return <ErrorAlert error={error} />;
  const r = data.fairnessReport;
  const p = r.baseline.popularity;
  return (
    <Stack data-testid="fairness-report">
      <Group>
        <Text size="sm">
          Overall NDCG@{r.k} {r.baseline.overall.ndcg.toFixed(3)} over {r.baseline.overall.users} people ({r.excludedUsers} left
          out without analytics consent).
        </Text>
        <Button size="xs" variant="default" onClick={() => download(`fairness-${r.id}.csv`, r.csv, "text/csv")}>
          Download CSV
        </Button>
        <Button size="xs" variant="default" onClick={() => download(`fairness-${r.id}.json`, JSON.stringify(r.json, null, 2))}>
          Download JSON
        </Button>
      </Group>
      <Card withBorder>
        <Title order={3} size="h5" mb="sm">
          Popularity bias
        </Title>
        <Table>
          <Table.Tbody>
            {(
              [
                ["Popularity lift", p.popularityLift, p.popularityLiftStatus],
                ["Long-tail share", p.longTailShare, p.longTailStatus],
                ["Gini of exposure", p.gini, p.giniStatus],
                ["Catalog coverage", p.coverage, p.coverageStatus],
              ] as const
            ).map(([name, value, status]) => (
              <Table.Tr key={name}>
                <Table.Th>{name}</Table.Th>
                <Table.Td>{value.toFixed(3)}</Table.Td>
                <Table.Td>
                  <StatusBadge status={status} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Card>
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        {r.baseline.userGroups.map((a) => (
          <Card withBorder key={a.attribute} data-testid="quality-chart">
            <Group justify="space-between" mb="sm">
              <Title order={3} size="h5">
                Quality by {a.attribute}
              </Title>
              <StatusBadge status={a.ndcg && (a.ndcg.differenceStatus === "WARN" || a.ndcg.ratioStatus === "WARN") ? "WARN" : "PASS"} />
            </Group>
            <div style={{ width: "100%", height: 220 }} role="img" aria-label={`NDCG by ${a.attribute}`}>
              <ResponsiveContainer>
                <BarChart data={a.groups.filter((g) => !g.suppressed).map((g) => ({ ...g, group: g.group ?? "(none)" }))}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="group" />
                  <YAxis />
                  <Tooltip />
                  <Bar isAnimationActive={false} dataKey="ndcg" name="NDCG" fill="#4c6ef5" />
                  <Bar isAnimationActive={false} dataKey="recall" name="Recall" fill="#15aabf" />
                </BarChart>
              </ResponsiveContainer>
            </div>
          </Card>
        ))}
        {r.baseline.itemGroups.map((g) => (
          <Card withBorder key={g.grouping} data-testid="exposure-chart">
            <Group justify="space-between" mb="sm">
              <Title order={3} size="h5">
                Exposure by {g.grouping.toLowerCase().replace("_", " ")}
              </Title>
              <StatusBadge status={g.groups.some((x) => x.status === "WARN") ? "WARN" : "PASS"} />
            </Group>
            <div style={{ width: "100%", height: 220 }} role="img" aria-label={`Exposure by ${g.grouping}`}>
              <ResponsiveContainer>
                <BarChart data={g.groups}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="group" />
                  <YAxis />
                  <Tooltip />
                  <Legend />
                  <Bar isAnimationActive={false} dataKey="exposureShare" name="Exposure share" fill="#e8590c" />
                  <Bar isAnimationActive={false} dataKey="catalogShare" name="Catalog share" fill="#adb5bd" />
                </BarChart>
              </ResponsiveContainer>
            </div>
          </Card>
        ))}
      </SimpleGrid>
      {r.tradeoff && (
        <Card withBorder>
          <Title order={3} size="h5" mb="sm">
            Re-ranking trade-off: NDCG against exposure Gini
          </Title>
          <div style={{ width: "100%", height: 260 }} role="img" aria-label="Re-ranking trade-off chart">
            <ResponsiveContainer>
              <LineChart>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis type="number" dataKey="gini" name="Gini" domain={["auto", "auto"]} />
                <YAxis type="number" dataKey="ndcg" name="NDCG" domain={["auto", "auto"]} />
                <Tooltip />
                <Legend />
                {r.tradeoff.curves.map((c, i) => (
                  <Line isAnimationActive={false} key={c.strategy} data={c.points} dataKey="ndcg" name={c.strategy} stroke={["#4c6ef5", "#e8590c", "#2f9e44", "#ae3ec9", "#868e96"][i % 5]} />
                ))}
              </LineChart>
            </ResponsiveContainer>
          </div>
        </Card>
      )}
    </Stack>
  );
}

export function FairnessPage() {
  const canCreate = useCan("models:manage");
  const list = useQuery(Reports);
  const create = useMutation(Create);
  const [selected, setSelected] = useState<string>();
  const [model, setModel] = useState<string | null>(null);
  const reports = list.data?.fairnessReports.nodes ?? [];
  const ready = (list.data?.models.nodes ?? []).filter((m) => m.status === "READY");
  const shown = selected ?? reports[0]?.id;
  const run = async () => {
    const modelId = model ?? ready.find((m) => m.active)?.id;
    if (!modelId) return;
    const done = await create.run({
      input: { modelId, userGroups: ["ageBand", "plan", "country", "gender"], itemGroups: ["GENRE", "PROVIDER", "KIND", "POPULARITY_BUCKET"] },
    });
    if (done) {
      setSelected(done.createFairnessReport.id);
      list.reload();
    }
  };
  return (
    <Stack>
      <Title order={2}>Fairness</Title>
      <ErrorAlert error={list.error ?? create.error} />
      {canCreate && (
        <Card withBorder>
          <Group align="end">
            <Select
              label="Model"
              placeholder="the active model"
              clearable
              value={model}
              onChange={setModel}
              data={ready.map((m) => ({ value: m.id, label: `${m.algorithm} v${m.version}${m.active ? " (active)" : ""}` }))}
            />
            <Button onClick={run} loading={create.pending}>
              Create report
            </Button>
          </Group>
        </Card>
      )}
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <Card withBorder>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Created</Table.Th>
                <Table.Th>Verdict</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {reports.map((r) => {
                const v = reportVerdict(r);
                return (
                  <Table.Tr key={r.id}>
                    <Table.Td>{new Date(r.createdAt).toLocaleString()}</Table.Td>
                    <Table.Td>
                      <StatusBadge status={v.warnings ? "WARN" : "PASS"} /> {v.warnings} WARN of {v.total}
                    </Table.Td>
                    <Table.Td>
                      <Button size="xs" variant="subtle" onClick={() => setSelected(r.id)}>
                        Show
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Card>
      )}
      {shown && <ReportView id={shown} />}
    </Stack>
  );
}
