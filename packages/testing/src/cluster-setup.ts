import { TestRedisCluster } from "./redis-cluster.js";

/**
 * vitest globalSetup for `npm run test:cluster`: a 3-master Redis Cluster for the whole run,
 * named to every test process as TEST_REDIS_URL (a redis-cluster:// URL), removed at the end.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const cluster = await TestRedisCluster.start(3);
  process.env.TEST_REDIS_URL = cluster.url;
  process.env.TEST_REDIS_CLUSTER_PORTS = cluster.ports.join(",");
  return () => cluster.stop();
}
