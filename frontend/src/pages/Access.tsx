import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  CopyButton,
  Group,
  MultiSelect,
  Select,
  Stack,
  Table,
  TextInput,
  Title,
} from "@mantine/core";
import { useState } from "react";
import { useMutation, useQuery } from "../api/hooks";
import { useCan } from "../api/viewer";
import { ShownCount } from "../components/Pager";
import { ErrorAlert, Loading } from "../components/Status";
import { graphql } from "../gql";
import type { Role } from "../gql/graphql";

const AccessQuery = graphql(`
  query Access($keys: Boolean!, $members: Boolean!) {
    apiKeys(first: 100) @include(if: $keys) {
      totalCount
      nodes {
        id
        name
        prefix
        scopes
        expiresAt
        lastUsedAt
        revokedAt
      }
    }
    members(first: 100) @include(if: $members) {
      totalCount
      nodes {
        id
        email
        role
        status
      }
    }
  }
`);

const CreateKey = graphql(`
  mutation CreateKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      secret
      apiKey {
        id
      }
    }
  }
`);

const RevokeKey = graphql(`
  mutation RevokeKey($id: ID!) {
    revokeApiKey(id: $id) {
      id
      revokedAt
    }
  }
`);

const Invite = graphql(`
  mutation Invite($input: InviteMemberInput!) {
    inviteMember(input: $input) {
      inviteToken
      member {
        id
      }
    }
  }
`);

const ChangeRole = graphql(`
  mutation ChangeRole($id: ID!, $role: Role!) {
    updateMemberRole(id: $id, role: $role) {
      member {
        id
        role
      }
    }
  }
`);

const Remove = graphql(`
  mutation RemoveMember($id: ID!) {
    removeMember(id: $id) {
      member {
        id
        status
      }
    }
  }
`);

const SCOPES = [
  "catalog:read",
  "catalog:write",
  "events:write",
  "recommendations:read",
  "users:read",
  "users:write",
  "models:manage",
  "reports:read",
  "privacy:manage",
  "audit:read",
];
const ROLES: Role[] = ["OWNER", "ADMIN", "ANALYST", "VIEWER"];

function Secret({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <Alert color="yellow" title={label} data-testid={testId}>
      <Group>
        <Code>{value}</Code>
        <CopyButton value={value}>
          {({ copied, copy }) => (
            <Button size="xs" onClick={copy}>
              {copied ? "Copied" : "Copy"}
            </Button>
          )}
        </CopyButton>
      </Group>
      It is shown once: store it now.
    </Alert>
  );
}

export function AccessPage() {
  const canKeys = useCan("apikeys:manage");
  const canMembers = useCan("members:manage");
  const list = useQuery(AccessQuery, { keys: canKeys, members: canMembers });
  const createKey = useMutation(CreateKey);
  const revoke = useMutation(RevokeKey);
  const invite = useMutation(Invite);
  const changeRole = useMutation(ChangeRole);
  const remove = useMutation(Remove);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["catalog:read", "recommendations:read"]);
  const [days, setDays] = useState<string | null>("90");
  const [secret, setSecret] = useState<string>();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<string | null>("VIEWER");
  const [inviteToken, setInviteToken] = useState<string>();
  const error = list.error ?? createKey.error ?? revoke.error ?? invite.error ?? changeRole.error ?? remove.error;

  const submitKey = async () => {
    const expiresAt = days && days !== "never" ? new Date(Date.now() + Number(days) * 86400_000).toISOString() : null;
    const done = await createKey.run({ input: { name, scopes, expiresAt } });
    if (done) {
      setSecret(done.createApiKey.secret);
      setName("");
      list.reload();
    }
  };
  const submitInvite = async () => {
    const done = await invite.run({ input: { email, role: (role ?? "VIEWER") as Role } });
    if (done) {
      setInviteToken(done.inviteMember.inviteToken);
      setEmail("");
      list.reload();
    }
  };
  if (list.loading && !list.data) return <Loading />;
  return (
    <Stack>
      <Title order={2}>Access</Title>
      <ErrorAlert error={error} />
      {canKeys && (
        <Card withBorder>
          <Title order={3} size="h5" mb="sm">
            API keys
          </Title>
          <Group align="end" wrap="wrap">
            <TextInput label="Key name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
            <MultiSelect label="Scopes" data={SCOPES} value={scopes} onChange={setScopes} w={360} />
            <Select label="Expires in" data={[{ value: "30", label: "30 days" }, { value: "90", label: "90 days" }, { value: "365", label: "a year" }, { value: "never", label: "never" }]} value={days} onChange={setDays} />
            <Button onClick={submitKey} loading={createKey.pending} disabled={!name.trim()}>
              Create key
            </Button>
          </Group>
          {secret && <Secret label="The new key's secret" value={secret} testId="new-key-secret" />}
          <Table.ScrollContainer minWidth={700}>
            <Table mt="sm" data-testid="keys-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Prefix</Table.Th>
                  <Table.Th>Scopes</Table.Th>
                  <Table.Th>Expires</Table.Th>
                  <Table.Th>Last used</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.data?.apiKeys?.nodes.map((k) => (
                  <Table.Tr key={k.id}>
                    <Table.Td>{k.name}</Table.Td>
                    <Table.Td>
                      <Code>{k.prefix}</Code>
                    </Table.Td>
                    <Table.Td>{k.scopes.join(", ")}</Table.Td>
                    <Table.Td>{k.expiresAt ? new Date(k.expiresAt).toLocaleDateString() : "never"}</Table.Td>
                    <Table.Td>{k.lastUsedAt ? new Date(k.lastUsedAt).toLocaleString() : "—"}</Table.Td>
                    <Table.Td>
                      {k.revokedAt ? (
                        <Badge color="gray">revoked</Badge>
                      ) : (
                        <Button size="xs" color="red" variant="light" onClick={async () => (await revoke.run({ id: k.id })) && list.reload()}>
                          Revoke {k.name}
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <ShownCount shown={list.data?.apiKeys?.nodes.length ?? 0} total={list.data?.apiKeys?.totalCount} noun={["key", "keys"]} testId="keys-count" />
        </Card>
      )}
      {canMembers && (
        <Card withBorder>
          <Title order={3} size="h5" mb="sm">
            Members
          </Title>
          <Group align="end">
            <TextInput label="E-mail to invite" type="email" value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
            <Select label="Role" data={ROLES} value={role} onChange={setRole} allowDeselect={false} />
            <Button onClick={submitInvite} loading={invite.pending} disabled={!email.trim()}>
              Invite
            </Button>
          </Group>
          {inviteToken && <Secret label="Invitation token (send it to the new member)" value={inviteToken} testId="invite-token" />}
          <Table.ScrollContainer minWidth={600}>
            <Table mt="sm" data-testid="members-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>E-mail</Table.Th>
                  <Table.Th>Role</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.data?.members?.nodes.map((m) => (
                  <Table.Tr key={m.id}>
                    <Table.Td>{m.email}</Table.Td>
                    <Table.Td>
                      <Select
                        aria-label={`Role of ${m.email}`}
                        data={ROLES}
                        value={m.role}
                        disabled={m.status === "DISABLED"}
                        allowDeselect={false}
                        onChange={async (r) => r && (await changeRole.run({ id: m.id, role: r as Role })) && list.reload()}
                      />
                    </Table.Td>
                    <Table.Td>{m.status}</Table.Td>
                    <Table.Td>
                      {m.status !== "DISABLED" && (
                        <Button size="xs" color="red" variant="light" onClick={async () => (await remove.run({ id: m.id })) && list.reload()}>
                          Remove {m.email}
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <ShownCount shown={list.data?.members?.nodes.length ?? 0} total={list.data?.members?.totalCount} noun={["member", "members"]} testId="members-count" />
        </Card>
      )}
    </Stack>
  );
}
