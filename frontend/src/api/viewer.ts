import { createContext, useContext } from "react";
import { graphql } from "../gql";

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      kind
      id
      role
      scopes
      tenant {
        slug
        name
      }
    }
  }
`);

export interface ViewerInfo {
  role: string | null | undefined;
  scopes: string[];
  tenantName: string;
}

export const ViewerContext = createContext<ViewerInfo>({ role: null, scopes: [], tenantName: "" });

/** Whether the signed-in member's role carries `scope` (the API checks it again). */
export function useCan(scope: string): boolean {
  return useContext(ViewerContext).scopes.includes(scope);
}
