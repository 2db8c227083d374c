import {
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  FileInput,
  Group,
  Modal,
  Progress,
  Select,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { useState } from "react";
import { CartesianGrid, Legend, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from "recharts";
import { useInterval, useMutation, useQuery } from "../api/hooks";
import { useCan } from "../api/viewer";
import { ShownCount } from "../components/Pager";
import { ErrorAlert, Loading } from "../components/Status";
import { graphql } from "../gql";
import type { Algorithm, ModelsQuery } from "../gql/graphql";

const ModelsList = graphql(`
  query Models {
    models(first: 50) {
      totalCount
      nodes {
        id
        version
        algorithm
        status
        progress
        active
        error
        createdAt
        metrics {
          ndcg
          recall
          coverage
        }
        selection {
          selectedBy
          validationNdcg
          seconds
          budgetSeconds
          settingsTried
          chosen {
            family
            factors
            lambda
            neighbours
          }
          families {
            family
            validationNdcg
            fitSeconds
            settingsTried
            skipped
          }
          trials {
            setting {
              family
            }
            validationNdcg
            fitSeconds
          }
        }
      }
    }
  }
`);

const Train = graphql(`
  mutation Train($input: TrainModelInput!) {
    trainModel(input: $input) {
      model {
        id
      }
      job {
        id
      }
    }
  }
`);

const Comparison = graphql(`
  query Comparison($id: ID!) {
    model(id: $id) {
      id
      comparison {
        baselineId
        ndcg {
          candidate
          baseline
          difference
          significant
        }
        recall {
          candidate
          baseline
          difference
          significant
        }
      }
    }
  }
`);

const Deploy = graphql(`
  mutation Deploy($id: ID!, $allowWorse: Boolean!) {
    deployModel(id: $id, allowWorse: $allowWorse) {
      id
      active
    }
  }
`);

const Rollback = graphql(`
  mutation Rollback {
    rollbackModel {
      id
      version
    }
  }
`);

const Upload = graphql(`
  mutation Upload($input: UploadModelInput!) {
    uploadModel(input: $input) {
      id
      status
    }
  }
`);

type ModelRow = ModelsQuery["models"]["nodes"][number];
const ALGORITHMS: Algorithm[] = ["AUTO", "ALS", "EASE", "ITEM_KNN", "MOST_POPULAR"];
const COLORS: Record<string, string> = { ALS: "#4c6ef5", EASE: "#e8590c", ITEM_KNN: "#2f9e44", MOST_POPULAR: "#868e96" };

function base64(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function TuningChart({ model }: { model: ModelRow }) {
  const selection = model.selection;
  if (!selection) return null;
  const families = [...new Set(selection.trials.map((t) => t.setting.family))];
  return (
    <Card withBorder data-testid="tuning-chart">
      <Title order={3} size="h5">
        Tuning search of v{model.version}
      </Title>
      <Text size="sm" c="dimmed" mb="sm">
        {selection.settingsTried} settings in {selection.seconds.toFixed(1)} s
        {selection.budgetSeconds ? ` (budget ${selection.budgetSeconds} s)` : ""}; chose {selection.chosen.family} with
        validation NDCG@10 {selection.validationNdcg.toFixed(3)}.
      </Text>
      <div style={{ width: "100%", height: 260 }} role="img" aria-label="Chart of tuning trials: validation NDCG against fit time">
        <ResponsiveContainer>
          <ScatterChart>
            <CartesianGrid />
            <XAxis type="number" dataKey="fitSeconds" name="fit seconds" unit=" s" />
            <YAxis type="number" dataKey="validationNdcg" name="validation NDCG@10" />
            <Tooltip />
            <Legend />
            {families.map((f) => (
              <Scatter
                key={f}
                name={f}
                fill={COLORS[f] ?? "#000"}
                data={selection.trials.filter((t) => t.setting.family === f)}
              />
            ))}
          </ScatterChart>
        </ResponsiveContainer>
      </div>
      <Table mt="sm">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Family</Table.Th>
            <Table.Th>Best validation NDCG@10</Table.Th>
            <Table.Th>Settings tried</Table.Th>
            <Table.Th>Note</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {selection.families.map((f) => (
            <Table.Tr key={f.family}>
              <Table.Td>{f.family}</Table.Td>
              <Table.Td>{f.validationNdcg?.toFixed(3) ?? "—"}</Table.Td>
              <Table.Td>{f.settingsTried}</Table.Td>
              <Table.Td>{f.skipped}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}

function DeployDialog({ model, onClose, onDone }: { model: ModelRow; onClose: () => void; onDone: () => void }) {
  const comparison = useQuery(Comparison, { id: model.id });
  const deploy = useMutation(Deploy);
  const [allowWorse, setAllowWorse] = useState(false);
  const c = comparison.data?.model.comparison;
  const run = async () => {
    if (await deploy.run({ id: model.id, allowWorse })) onDone();
  };
  return (
    <Modal opened onClose={onClose} title={`Deploy ${model.algorithm} v${model.version}`}>
      <Stack>
        <ErrorAlert error={comparison.error ?? deploy.error} />
        {comparison.loading ? (
          <Loading />
        ) : c ? (
          <Table data-testid="deploy-comparison">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Metric</Table.Th>
                <Table.Th>This model</Table.Th>
                <Table.Th>Active</Table.Th>
                <Table.Th>Difference</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(
                [
                  ["NDCG@10", c.ndcg],
                  ["Recall@10", c.recall],
                ] as const
              ).map(([name, m]) => (
                <Table.Tr key={name}>
                  <Table.Td>{name}</Table.Td>
                  <Table.Td>{m.candidate.toFixed(3)}</Table.Td>
                  <Table.Td>{m.baseline.toFixed(3)}</Table.Td>
                  <Table.Td>
                    {m.difference >= 0 ? "+" : ""}
                    {m.difference.toFixed(3)} {m.significant ? "(significant)" : "(not significant)"}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        ) : (
          <Text size="sm">No model is active: this one becomes the first.</Text>
        )}
        <Checkbox label="Deploy even if it is worse" checked={allowWorse} onChange={(e) => setAllowWorse(e.currentTarget.checked)} />
        <Button onClick={run} loading={deploy.pending}>
          Deploy
        </Button>
      </Stack>
    </Modal>
  );
}

function UploadCard({ onDone }: { onDone: () => void }) {
  const upload = useMutation(Upload);
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("uploaded model");
  const [itemIds, setItemIds] = useState("");
  const run = async () => {
    if (!file) return;
    const onnxBase64 = base64(await file.arrayBuffer());
    const ids = itemIds.split(/[\s,]+/).filter(Boolean);
    if (await upload.run({ input: { name, onnxBase64, itemIds: ids } })) {
      setFile(null);
      onDone();
    }
  };
  return (
    <Card withBorder>
      <Title order={3} size="h5" mb="sm">
        Upload an ONNX model
      </Title>
      <Stack>
        <ErrorAlert error={upload.error} />
        <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <FileInput label="ONNX file" accept=".onnx" value={file} onChange={setFile} clearable />
        <Textarea
          label="Item ids, in the model's output order"
          autosize
          minRows={2}
          maxRows={6}
          value={itemIds}
          onChange={(e) => setItemIds(e.currentTarget.value)}
        />
        <Button onClick={run} loading={upload.pending} disabled={!file}>
          Upload
        </Button>
      </Stack>
    </Card>
  );
}

export function ModelsPage() {
  const canManage = useCan("models:manage");
  const list = useQuery(ModelsList);
  const train = useMutation(Train);
  const rollback = useMutation(Rollback);
  const [algorithm, setAlgorithm] = useState<string | null>("AUTO");
  const [selected, setSelected] = useState<string>();
  const [deploying, setDeploying] = useState<ModelRow>();
  const models = list.data?.models.nodes ?? [];
  const running = models.some((m) => m.status === "QUEUED" || m.status === "TRAINING");
  useInterval(list.reload, 1000, running);
  // The chosen model's search, else the active one's, else the latest search there is.
  const shown =
    models.find((m) => m.id === selected) ?? models.find((m) => m.active && m.selection) ?? models.find((m) => m.selection);
  const startTraining = async () => {
    const done = await train.run({ input: { algorithm: (algorithm ?? "AUTO") as Algorithm } });
    if (done) {
      setSelected(done.trainModel.model.id);
      list.reload();
    }
  };
  return (
    <Stack>
      <Title order={2}>Models</Title>
      <ErrorAlert error={list.error ?? train.error ?? rollback.error} />
      {canManage && (
        <Card withBorder>
          <Group align="end">
            <Select label="Algorithm" value={algorithm} onChange={setAlgorithm} data={ALGORITHMS} allowDeselect={false} />
            <Button onClick={startTraining} loading={train.pending}>
              Train
            </Button>
            <Button variant="default" onClick={async () => (await rollback.run({})) && list.reload()} loading={rollback.pending}>
              Roll back
            </Button>
          </Group>
        </Card>
      )}
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <Card withBorder>
          <Table.ScrollContainer minWidth={700}>
            <Table data-testid="models-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Version</Table.Th>
                  <Table.Th>Algorithm</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>NDCG@10</Table.Th>
                  <Table.Th>Recall@10</Table.Th>
                  <Table.Th>Coverage</Table.Th>
                  <Table.Th>Actions</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {models.map((m) => (
                  <Table.Tr key={m.id} data-testid={`model-${m.version}`}>
                    <Table.Td>v{m.version}</Table.Td>
                    <Table.Td>{m.algorithm}</Table.Td>
                    <Table.Td>
                      {m.status === "TRAINING" || m.status === "QUEUED" ? (
                        <Progress value={m.progress * 100} animated aria-label={`Training progress ${(m.progress * 100).toFixed(0)}%`} />
                      ) : (
                        <Group gap={4}>
                          <Badge color={m.status === "READY" ? "blue" : m.status === "FAILED" ? "red" : "gray"}>{m.status}</Badge>
                          {m.active && <Badge color="green">active</Badge>}
                        </Group>
                      )}
                      {m.error && (
                        <Text size="xs" c="red.9">
                          {m.error}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>{m.metrics?.ndcg.toFixed(3) ?? "—"}</Table.Td>
                    <Table.Td>{m.metrics?.recall.toFixed(3) ?? "—"}</Table.Td>
                    <Table.Td>{m.metrics ? `${(m.metrics.coverage * 100).toFixed(1)}%` : "—"}</Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        {m.selection && (
                          <Button size="xs" variant="subtle" onClick={() => setSelected(m.id)}>
                            Tuning
                          </Button>
                        )}
                        {canManage && m.status === "READY" && !m.active && (
                          <Button size="xs" onClick={() => setDeploying(m)}>
                            Deploy
                          </Button>
                        )}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <ShownCount shown={models.length} total={list.data?.models.totalCount} noun={["model", "models"]} testId="models-count" />
          {models.length === 0 && <Alert>No model yet: train one.</Alert>}
        </Card>
      )}
      {shown && <TuningChart model={shown} />}
      {canManage && <UploadCard onDone={list.reload} />}
      {deploying && (
        <DeployDialog
          model={deploying}
          onClose={() => setDeploying(undefined)}
          onDone={() => {
            setDeploying(undefined);
            list.reload();
          }}
        />
      )}
    </Stack>
  );
}
