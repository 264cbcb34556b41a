/**
 * @taskport/rest: the REST surface of Taskport as an h3 app, with its OpenAPI document.
 */

export { eventRoutes } from "./EventRoutes.ts"
export * from "./HttpFailure.ts"
export { ErrorResponse, makeOpenApi } from "./OpenApi.ts"
export * as RestApp from "./RestApp.ts"
export * from "./Routes.ts"
export * as WebRoutes from "./WebRoutes.ts"
