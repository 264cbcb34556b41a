/**
 * The NATS server the JetStream suites use: `NATS_URL` when set. In CI (`CI=true`) it must
 * be set and answer, so those suites run there instead of being skipped quietly.
 */
export const natsUrl = (): string | undefined => {
  const url = process.env.NATS_URL
  if (url !== undefined && url !== "") return url
  if (process.env.CI === "true") throw new Error("CI=true but NATS_URL is not set (see .ci/run)")
  return undefined
}
