/**
 * The Redis the shared rate-limit suites use: `REDIS_URL` when set. In CI (`CI=true`) it
 * must be set and answer, so those suites run there instead of being skipped quietly.
 */
export const redisUrl = (): string | undefined => {
  const url = process.env.REDIS_URL
  if (url !== undefined && url !== "") return url
  if (process.env.CI === "true") throw new Error("CI=true but REDIS_URL is not set (see .ci/run)")
  return undefined
}
