import "@mantine/core/styles.css";
import { MantineProvider, createTheme } from "@mantine/core";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { App } from "./App";

const theme = createTheme({ primaryColor: "indigo", defaultRadius: "md" });
const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <MantineProvider theme={theme}>
        <BrowserRouter basename="/console">
          <App />
        </BrowserRouter>
      </MantineProvider>
    </StrictMode>,
  );
}
