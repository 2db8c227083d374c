import { Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from "@mantine/core";
import { useState, type FormEvent } from "react";
import { ApiError, login } from "../api/client";
import { ErrorAlert } from "../components/Status";

export function LoginPage() {
  const [tenant, setTenant] = useState("demo");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError>();
  const [pending, setPending] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setPending(true);
    setError(undefined);
    try {
      await login(tenant.trim(), email.trim(), password);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(String(err), "INTERNAL"));
    } finally {
      setPending(false);
    }
  };
  return (
    <Center mih="100vh" p="md">
      <Paper withBorder p="xl" w={380} maw="100%" component="main">
        <form onSubmit={submit}>
          <Stack>
            <Title order={1} size="h3">
              Sign in to Marquee
            </Title>
            <ErrorAlert error={error} />
            <TextInput label="Tenant" value={tenant} onChange={(e) => setTenant(e.currentTarget.value)} required />
            <TextInput
              label="E-mail"
              type="email"
              autoComplete="username"
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              required
            />
            <PasswordInput
              label="Password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              required
            />
            <Button type="submit" loading={pending}>
              Sign in
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
