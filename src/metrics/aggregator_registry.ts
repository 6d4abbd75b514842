/**
 * prom-client's registry that sums several registries' metrics, from its own
 * file (see registry.ts). Loaded by `summedText` when metrics are first
 * summed (a scrape of a server with `--workers`), not at every start: the
 * file also loads Node's cluster module.
 */
import type client from "prom-client";
import AggregatorRegistryClass from "prom-client/lib/cluster.js";

export const AggregatorRegistry: typeof client.AggregatorRegistry = AggregatorRegistryClass;
