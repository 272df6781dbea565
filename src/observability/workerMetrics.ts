import { AggregatorRegistry } from 'prom-client';
import type { Metrics } from './metrics.js';

/**
 * `serve --workers N --metrics-port P`: the primary serves the metrics port, with every worker's
 * metrics aggregated (prom-client's cluster support: counters and histograms summed, gauges by
 * each one's aggregator), so one scrape sees the whole pod rather than whichever worker node:cluster
 * handed the connection to.
 */
export function workersMetrics(): { readonly contentType: string; metrics(): Promise<string> } {
  const registry = new AggregatorRegistry();
  return { contentType: registry.contentType, metrics: () => registry.clusterMetrics() };
}

/** In a worker: answer the primary's requests with this process's registry. */
export function exposeToPrimary(metrics: Metrics): void {
  AggregatorRegistry.setRegistries([metrics.registry]);
  new AggregatorRegistry(); // installs the worker's message listener
}
