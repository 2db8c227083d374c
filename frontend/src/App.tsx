import { AppShell, Badge, Burger, Button, Group, NavLink, Text, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useEffect, useState } from "react";
import { Link, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { logout, refresh } from "./api/client";
import { useQuery, useSession } from "./api/hooks";
import { mayHaveSession } from "./api/session";
import { ViewerContext, ViewerQuery } from "./api/viewer";
import { ErrorAlert, Loading } from "./components/Status";
import { AccessPage } from "./pages/Access";
import { AuditPage } from "./pages/Audit";
import { AudiencePage } from "./pages/Audience";
import { CatalogPage } from "./pages/Catalog";
import { ContentPage } from "./pages/Content";
import { FairnessPage } from "./pages/Fairness";
import { LoginPage } from "./pages/Login";
import { ModelsPage } from "./pages/Models";
import { OverviewPage } from "./pages/Overview";
import { PersonPage } from "./pages/Person";
import { PrivacyPage } from "./pages/Privacy";
import { SettingsPage } from "./pages/Settings";

interface NavItem {
  to: string;
  label: string;
  /** Shown only to members whose role carries one of these scopes. */
  scopes: string[];
}

const NAV: NavItem[] = [
  { to: "/", label: "Overview", scopes: ["reports:read"] },
  { to: "/catalog", label: "Catalog", scopes: ["catalog:read"] },
  { to: "/audience", label: "Audience", scopes: ["users:read"] },
  { to: "/models", label: "Models", scopes: ["reports:read", "models:manage"] },
  { to: "/fairness", label: "Fairness", scopes: ["reports:read"] },
  { to: "/privacy", label: "Privacy", scopes: ["privacy:manage"] },
  { to: "/audit", label: "Audit log", scopes: ["audit:read"] },
  { to: "/access", label: "Access", scopes: ["apikeys:manage", "members:manage"] },
  { to: "/settings", label: "Settings", scopes: ["settings:manage"] },
];

export function App() {
  const session = useSession();
  const [restoring, setRestoring] = useState(() => !session && mayHaveSession());
  useEffect(() => {
    if (restoring) void refresh().finally(() => setRestoring(false));
  }, [restoring]);
  if (restoring) return <Loading label="Restoring the session" />;
  if (!session) return <LoginPage />;
  return <Shell />;
}

function Shell() {
  const session = useSession();
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  const viewer = useQuery(ViewerQuery);
  useEffect(close, [location.pathname, close]);
  const scopes = viewer.data?.viewer.scopes ?? [];
  const info = {
    role: viewer.data?.viewer.role,
    scopes,
    tenantName: viewer.data?.viewer.tenant.name ?? "",
  };
  return (
    <ViewerContext.Provider value={info}>
      <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: "sm", collapsed: { mobile: !opened } }} padding="md">
        <AppShell.Header>
          <Group h="100%" px="md" justify="space-between" wrap="nowrap">
            <Group wrap="nowrap">
              <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
              <Title order={1} size="h4">
                Marquee
              </Title>
              <Text size="sm" c="dimmed" visibleFrom="xs">
                {info.tenantName}
              </Text>
            </Group>
            <Group wrap="nowrap" gap="xs">
              <Text size="sm" visibleFrom="sm" data-testid="member-email">
                {session?.email}
              </Text>
              <Badge data-testid="member-role">{session?.role}</Badge>
              <Button variant="subtle" size="xs" onClick={() => void logout()}>
                Log out
              </Button>
            </Group>
          </Group>
        </AppShell.Header>
        <AppShell.Navbar p="xs" aria-label="Views">
          {NAV.filter((n) => n.scopes.some((s) => scopes.includes(s))).map((n) => (
            <NavLink
              key={n.to}
              component={Link}
              to={n.to}
              label={n.label}
              active={n.to === "/" ? location.pathname === "/" : location.pathname.startsWith(n.to)}
            />
          ))}
        </AppShell.Navbar>
        <AppShell.Main>
          <ErrorAlert error={viewer.error} />
          {viewer.loading && !viewer.data ? (
            <Loading />
          ) : (
            <Routes>
              <Route path="/" element={<OverviewPage />} />
              <Route path="/catalog" element={<CatalogPage />} />
              <Route path="/catalog/:id" element={<ContentPage />} />
              <Route path="/audience" element={<AudiencePage />} />
              <Route path="/audience/:id" element={<PersonPage />} />
              <Route path="/models" element={<ModelsPage />} />
              <Route path="/fairness" element={<FairnessPage />} />
              <Route path="/privacy" element={<PrivacyPage />} />
              <Route path="/audit" element={<AuditPage />} />
              <Route path="/access" element={<AccessPage />} />
              <Route path="/settings" element={<SettingsPage />} />
              <Route path="*" element={<Navigate to="/" replace />} />
            </Routes>
          )}
        </AppShell.Main>
      </AppShell>
    </ViewerContext.Provider>
  );
}
