import { graphql } from "../gql";
import type { VerdictFragment } from "../gql/graphql";

// The statuses a report's verdict counts: popularity bias, group disparities, exposure.
graphql(`
  fragment Verdict on FairnessReport {
    baseline {
      popularity {
        popularityLiftStatus
        longTailStatus
        giniStatus
        coverageStatus
      }
      userGroups {
        ndcg {
          differenceStatus
          ratioStatus
        }
        recall {
          differenceStatus
          ratioStatus
        }
      }
      itemGroups {
        groups {
          status
        }
      }
    }
  }
`);

export function reportVerdict(report: VerdictFragment): { warnings: number; total: number } {
  const b = report.baseline;
  const p = b.popularity;
  const statuses: string[] = [p.popularityLiftStatus, p.longTailStatus, p.giniStatus, p.coverageStatus];
  for (const a of b.userGroups) {
    for (const d of [a.ndcg, a.recall]) if (d) statuses.push(d.differenceStatus, d.ratioStatus);
  }
  for (const g of b.itemGroups) for (const i of g.groups) statuses.push(i.status);
  return { warnings: statuses.filter((s) => s === "WARN").length, total: statuses.length };
}
