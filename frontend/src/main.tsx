import "@mantine/core/styles.css";
import { Alert, Badge, MantineProvider, NavLink, createTheme, type CSSVariablesResolver } from "@mantine/core";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { App } from "./App";

// Darker shades than Mantine's defaults, so text on coloured backgrounds (badges, active
// links, alerts) meets WCAG AA contrast; badges and alerts keep the page's text colour.
const theme = createTheme({
  primaryColor: "indigo",
  primaryShade: 9,
  defaultRadius: "md",
  components: {
    Badge: Badge.extend({ defaultProps: { variant: "light" }, styles: { root: { color: "var(--mantine-color-text)" } } }),
    NavLink: NavLink.extend({ styles: { label: { color: "var(--mantine-color-text)" } } }),
    Alert: Alert.extend({
      styles: { title: { color: "var(--mantine-color-text)" }, message: { color: "var(--mantine-color-text)" } },
    }),
  },
});
const resolver: CSSVariablesResolver = () => ({
  variables: {},
  light: { "--mantine-color-dimmed": "var(--mantine-color-gray-7)" },
  dark: {},
});
const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <MantineProvider theme={theme} cssVariablesResolver={resolver}>
        <BrowserRouter basename="/console">
          <App />
        </BrowserRouter>
      </MantineProvider>
    </StrictMode>,
  );
}
